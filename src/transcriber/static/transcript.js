// One task's transcript: phrases with timestamps, an audio player (a phrase plays from its start, a
// word from its own start; the phrase and the word being heard are highlighted), search within the text
// (matches marked, across words too), copy all, and the exports. A task split by speaker shows who says
// each phrase in the speaker's colour, with the speakers' chips above to rename them or show one alone.
// A finished task that names a callback_url shows its webhook deliveries (webhooks.js).

import { request } from "./api.js";
import { copyButton, copyText, el, setText, toast } from "./dom.js";
import * as fmt from "./format.js";
import { onLangChange, t } from "./i18n.js";
import { renderSpeakers, speakerClass, speakerName } from "./speakers.js";
import { displayName, exportLinks } from "./tasks.js";
import { renderWebhooks } from "./webhooks.js";

const $ = (id) => document.getElementById(id);

let task = null;
let phrases = [];
let buttons = [];
let current = -1;
let currentWord = null;
let openId = null;
let speakerFilter = null; // the id of the speaker shown alone, or null for everyone

export function initTranscript() {
  const audio = $("tx-audio");
  audio.addEventListener("timeupdate", () => highlight(audio.currentTime));
  audio.addEventListener("seeked", () => highlight(audio.currentTime));
  $("tx-search").addEventListener("input", applySearch);
  $("tx-copy").addEventListener("click", copyAll);
  $("tx-phrases").addEventListener("click", (event) => {
    const target = event.target.closest("button.phrase");
    if (!target) return;
    const word = event.target.closest(".word");
    play(Number(target.dataset.index), word ? Number(word.dataset.start) : undefined);
  });
  onLangChange(() => task && render());
}

/** Show task ``id`` (called by the router). */
export async function openTask(id) {
  if (openId !== id) {
    openId = id;
    task = null;
    phrases = [];
    speakerFilter = null;
    $("tx-search").value = "";
    $("tx-phrases").replaceChildren();
  }
  await load();
}

export function closeTask() {
  openId = null;
  $("tx-audio").pause();
  renderWebhooks($("tx-webhooks"), null);
}

async function load() {
  const id = openId;
  try {
    const loaded = await request(`/api/v1/tasks/${encodeURIComponent(id)}`);
    if (id !== openId) return;
    const audio = $("tx-audio");
    const src = `/api/v1/uploads/${encodeURIComponent(loaded.upload_id)}/audio`;
    if (audio.getAttribute("src") !== src) audio.src = src;
    task = loaded;
    phrases = loaded.results ? loaded.results.phrases : [];
    render();
    renderWebhooks($("tx-webhooks"), ["PENDING", "IN_PROGRESS"].includes(loaded.status) ? null : loaded);
  } catch (error) {
    if (id !== openId) return;
    task = null;
    setText($("tx-title"), "—");
    showState(t("tx.notFound", { detail: error.message }));
  }
}

/** Live task pages: reload when the open task reaches a new status. */
export function onTasks(page) {
  if (!task || !openId) return;
  const fresh = page.tasks.find((item) => item.task_id === openId);
  if (fresh && fresh.status !== task.status) load();
}

function showState(message) {
  const node = $("tx-state");
  setText(node, message);
  node.hidden = !message;
}

/** What the reader must know about the transcript, e.g. that part of the audio could not be decoded. */
function showWarnings(warnings) {
  const node = $("tx-warnings");
  const text = warnings.map((warning) =>
    warning.code === "undecodable_audio"
      ? t("tx.undecodable", { seconds: fmt.seconds(warning.seconds) })
      : warning.message,
  );
  setText(node, text.join(" "));
  node.hidden = text.length === 0;
}

function render() {
  setText($("tx-title"), displayName(task));
  document.title = `${displayName(task)} · Transcriber`;
  const meta = [t(`status.${task.status}`), fmt.date(task.created_at)];
  if (task.language) meta.push(t("tx.language", { language: task.language }));
  if (task.duration) meta.push(t("tx.duration", { duration: fmt.duration(task.duration) }));
  setText($("tx-meta"), meta.join(" · "));
  $("tx-id").replaceChildren(
    copyButton({ label: t("tasks.copyId"), text: `ID ${task.task_id.slice(0, 8)}`, getText: () => task.task_id }),
  );
  $("tx-exports").replaceChildren(...(task.status === "COMPLETED" ? [exportLinks(task, "btn small")] : []));
  const state = {
    COMPLETED: phrases.length ? "" : t("tx.noPhrases"),
    FAILED: t("tx.failed", { error: task.error || "" }),
    CANCELLED: t("tx.cancelled"),
  }[task.status];
  showState(state ?? t("tx.notReady", { status: t(`status.${task.status}`) }));
  showWarnings(task.warnings || []);
  const done = task.status === "COMPLETED" && phrases.length > 0;
  for (const id of ["tx-copy", "tx-search"]) $(id).disabled = !done;
  renderSpeakers($("tx-speakers"), task, {
    filter: speakerFilter,
    onFilter: (id) => {
      speakerFilter = id;
      render();
    },
    onRenamed: (updated) => {
      task = updated;
      if (updated.results) phrases = updated.results.phrases;
      render();
    },
  });
  renderPhrases();
}

/** Who says the phrase, in the speaker's colour (tasks split by speaker). */
function speakerBadge(phrase) {
  if (!phrase.speaker) return [];
  const name = speakerName(task.speakers, phrase.speaker);
  return [el("span", { class: `who ${speakerClass(task.speakers, phrase.speaker)}`, text: `${name}:` })];
}

/** A phrase's language (tasks that detect it per window), shown where it changes: on the first
 * phrase when it is not the task's, then wherever it differs from the phrase before. */
function languageBadge(phrase, index) {
  if (!phrase.language) return [];
  const before = index > 0 ? phrases[index - 1].language : task && task.language;
  if (phrase.language === before) return [];
  const label = t("tx.phraseLanguage", { language: phrase.language });
  return [el("span", { class: "lang", title: label, text: phrase.language })];
}

function renderPhrases() {
  buttons = phrases.map((phrase, index) =>
    el(
      "button",
      {
        type: "button",
        class: `phrase ${speakerClass(task.speakers, phrase.speaker)}`.trim(),
        dataset: { index: String(index), start: String(phrase.start), speaker: phrase.speaker || "" },
      },
      el("span", { class: "ts", "aria-hidden": "true", text: fmt.timestamp(phrase.start) }),
      el("span", { class: "sr-only", text: `${t("tx.playFrom", { time: fmt.timestamp(phrase.start) })}: ` }),
      ...languageBadge(phrase, index),
      ...speakerBadge(phrase),
      el("span", { class: "text", text: phrase.text.trim() }),
    ),
  );
  $("tx-phrases").replaceChildren(...buttons.map((button) => el("li", {}, button)));
  current = -1;
  currentWord = null;
  applySearch();
  highlight($("tx-audio").currentTime);
}

/** Play phrase ``index`` from its start, or from ``from`` (a word's start) when given. */
function play(index, from) {
  const audio = $("tx-audio");
  const start = Number.isFinite(from) ? from : phrases[index].start;
  audio.currentTime = start;
  highlight(start);
  audio.play().catch(() => {
    // Playback can be refused (no audio device, autoplay policy); the position is still set.
  });
}

/** Mark the phrase being heard (the last one that started at or before ``time``) and its word. */
function highlight(time) {
  let index = -1;
  for (let i = 0; i < phrases.length && phrases[i].start <= time + 0.05; i += 1) index = i;
  if (index >= 0 && time > phrases[index].end + 0.5) index = -1; // in a pause between phrases
  highlightWord(index, time);
  if (index === current) return;
  if (buttons[current]) {
    buttons[current].classList.remove("current");
    buttons[current].removeAttribute("aria-current");
  }
  current = index;
  const button = buttons[index];
  if (!button) return;
  button.classList.add("current");
  button.setAttribute("aria-current", "true");
  keepVisible(button);
}

/** Mark the word of phrase ``index`` being heard: the last one started by ``time``, until its end. */
function highlightWord(index, time) {
  let word = null;
  const button = buttons[index];
  if (button) {
    for (const span of button.querySelectorAll(".word")) {
      if (Number(span.dataset.start) > time + 0.05) break;
      word = Number(span.dataset.end) + 0.25 >= time ? span : null;
    }
  }
  if (word === currentWord) return;
  currentWord?.classList.remove("current-word");
  word?.classList.add("current-word");
  currentWord = word;
}

function keepVisible(button) {
  const list = $("tx-phrases");
  const top = button.offsetTop - list.offsetTop;
  if (top < list.scrollTop || top + button.offsetHeight > list.scrollTop + list.clientHeight) {
    list.scrollTop = Math.max(0, top - list.clientHeight / 3);
  }
}

function applySearch() {
  const query = $("tx-search").value.trim().toLocaleLowerCase();
  let found = 0;
  buttons.forEach((button, index) => {
    const text = phrases[index].text.trim();
    const spoken = !speakerFilter || phrases[index].speaker === speakerFilter;
    const match = spoken && (!query || text.toLocaleLowerCase().includes(query));
    button.parentElement.hidden = !match;
    if (match) found += 1;
    button.querySelector(".text").replaceChildren(...phraseNodes(phrases[index], text, hits(text, query)));
  });
  currentWord = null;
  highlightWord(current, $("tx-audio").currentTime);
  const narrowed = query || speakerFilter;
  setText($("tx-count"), narrowed ? t("tx.matches", { count: found, total: phrases.length }) : "");
}

/** Where ``query`` occurs in ``text``, as [start, end) character ranges. */
function hits(text, query) {
  const lower = text.toLocaleLowerCase();
  if (!query || lower.length !== text.length) return []; // rare case folding changes lengths: no marks
  const ranges = [];
  for (let hit = lower.indexOf(query); hit !== -1; hit = lower.indexOf(query, hit + query.length)) {
    ranges.push([hit, hit + query.length]);
  }
  return ranges;
}

/** A phrase's text as nodes: a span per word (with its times, so it can be heard and clicked) when the
 * phrase has words that spell its text, and the search's matches in <mark>, across words too. */
function phraseNodes(phrase, text, ranges) {
  const words = phrase.words || [];
  const spelled = words.map((word) => word.word).join("");
  const lead = spelled.length - spelled.trimStart().length;
  if (!words.length || spelled.trim() !== text) return marked(text, 0, text.length, ranges);
  const nodes = [];
  let at = -lead; // the words' text starts with the first word's space, the phrase's text does not
  for (const word of words) {
    const from = Math.max(0, at);
    at += word.word.length;
    const body = from + (text.slice(from, at).length - text.slice(from, at).trimStart().length);
    if (body > from) nodes.push(...marked(text, from, body, ranges)); // the space before the word
    if (at <= body) continue;
    const dataset = { start: String(word.start), end: String(word.end) };
    nodes.push(el("span", { class: "word", dataset }, ...marked(text, body, at, ranges)));
  }
  return nodes;
}

/** ``text`` from ``from`` to ``to`` as text nodes, with the parts inside ``ranges`` in <mark>. */
function marked(text, from, to, ranges) {
  const nodes = [];
  let at = from;
  for (const [start, end] of ranges) {
    if (end <= at || start >= to) continue;
    if (start > at) nodes.push(document.createTextNode(text.slice(at, start)));
    const stop = Math.min(end, to);
    nodes.push(el("mark", { text: text.slice(Math.max(start, at), stop) }));
    at = stop;
  }
  if (at < to) nodes.push(document.createTextNode(text.slice(at, to)));
  return nodes;
}

async function copyAll() {
  const line = (phrase) =>
    phrase.speaker ? `${speakerName(task.speakers, phrase.speaker)}: ${phrase.text.trim()}` : phrase.text.trim();
  const text = phrases
    .filter((phrase) => phrase.text.trim())
    .map(line)
    .join("\n");
  const ok = await copyText(text);
  toast(ok ? t("tx.copied") : t("common.copyFailed"), { kind: ok ? "info" : "error", timeout: 2500 });
}
