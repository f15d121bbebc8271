// The page: theme and language, the header's health badge, the API key prompt, the views and their
// wiring to live updates.

import { apiKey, configure, openSession, request } from "./api.js";
import { initTaskOptions, renderPlaceholders, setGlobalSettings } from "./create.js";
import { setText, writePref } from "./dom.js";
import { initHealth, renderHealth } from "./health.js";
import { lang, onLangChange, setLang, t, translate } from "./i18n.js";
import { askForKey, initKeys } from "./keys.js";
import { createLive } from "./live.js";
import { initSettings, loadSettings, renderFallback } from "./settings.js";
import { initTasks, renderTasks } from "./tasks.js";
import { closeTask, initTranscript, onTasks as transcriptTasks, openTask } from "./transcript.js";
import { initUploads, loadFiles } from "./uploads.js";
import { initWorkers, renderWorkers } from "./workers.js";

const $ = (id) => document.getElementById(id);
let liveMode = "connecting";
let live = null;

function initTheme() {
  const button = $("theme-toggle");
  const sync = () => button.setAttribute("aria-pressed", String(document.documentElement.dataset.theme === "dark"));
  button.addEventListener("click", () => {
    const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    document.documentElement.dataset.theme = next;
    writePref("transcriber.theme", next);
    sync();
  });
  sync();
}

function initLanguage() {
  const buttons = document.querySelectorAll("[data-lang]");
  const sync = () => {
    for (const button of buttons) button.setAttribute("aria-pressed", String(button.dataset.lang === lang()));
  };
  for (const button of buttons) button.addEventListener("click", () => setLang(button.dataset.lang));
  onLangChange(() => {
    sync();
    renderMode(liveMode);
    renderPlaceholders();
  });
  translate();
  sync();
}

function renderMode(mode) {
  liveMode = mode;
  const node = $("live-state");
  node.dataset.mode = mode;
  setText(node, t(`live.${mode}`));
}

const VIEWS = { tasks: "view-tasks", task: "view-task", settings: "view-settings" };

/** #/ (tasks), #/task/<id> (a transcript), #/settings. */
function route({ focus = true } = {}) {
  const raw = window.location.hash;
  if (raw && !raw.startsWith("#/")) return; // an in-page anchor such as the skip link's #main
  const hash = decodeURIComponent(raw.replace(/^#\/?/, ""));
  const [name, id] = hash.startsWith("task/") ? ["task", hash.slice(5)] : [hash === "settings" ? "settings" : "tasks"];
  for (const [view, section] of Object.entries(VIEWS)) $(section).hidden = view !== name;
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === (name === "task" ? "tasks" : name)) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (name === "task") openTask(id);
  else {
    closeTask();
    document.title = "Transcriber";
  }
  if (name === "settings") loadSettings();
  const heading = { tasks: "tasks-heading", task: "tx-title", settings: "settings-title" }[name];
  if (focus) $(heading).focus({ preventScroll: false });
}

async function loadGlobalSettings(values) {
  try {
    setGlobalSettings(values || (await request("/api/v1/settings")));
  } catch {
    // Placeholders stay empty; creating a task still works.
  }
}

async function main() {
  initTheme();
  initLanguage();
  initHealth();
  initWorkers();
  configure({ keyPrompt: askForKey, networkError: t("error.network") });
  onLangChange(() => configure({ keyPrompt: askForKey, networkError: t("error.network") }));

  live = createLive({
    onTasks(page) {
      renderTasks(page);
      transcriptTasks(page);
      document.documentElement.dataset.ready = "true"; // the first list is drawn (tests wait for this)
    },
    onHealth(health) {
      renderHealth(health);
      renderFallback(health && health.settings_fallback);
      renderWorkers(health && health.workers);
    },
    onMode: renderMode,
  });
  initTasks(live);
  initTaskOptions({ onCreated: () => live.refresh() });
  initUploads({ onUploaded: loadFiles });
  initTranscript();
  initSettings({
    onSaved(values) {
      loadGlobalSettings(values);
      live.refresh();
    },
  });
  initKeys({
    onChanged() {
      // A key was accepted: reconnect the stream (it uses the session cookie) and reload what failed.
      live.start();
      route({ focus: false });
      loadFiles();
      loadGlobalSettings();
      if ($("tx-audio").error) $("tx-audio").load();
    },
  });
  renderMode("connecting");
  if (apiKey()) await openSession(apiKey()); // renew the cookie the stream and the player rely on
  window.addEventListener("hashchange", () => route());
  route({ focus: false });
  live.start();
  loadFiles();
  loadGlobalSettings();
}

main();
