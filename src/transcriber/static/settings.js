// Settings: every WHISPER_* value with its default and an explanation; the service validates, and its
// message appears next to the field. The hard reset asks first and says how many tasks it cancels.

import { request } from "./api.js";
import { confirmDialog, el, setText, toastError } from "./dom.js";
import { has, onLangChange, t } from "./i18n.js";

// Choices the service accepts for these keys (others are free text, checked by the service).
const CHOICES = {
  WHISPER_DEVICE: ["auto", "cuda", "cpu"],
  WHISPER_TASK: ["transcribe", "translate"],
  WHISPER_COMPUTE_TYPE: [
    "auto", "default", "int8", "int8_float32", "int8_float16", "int8_bfloat16", "int16", "float16", "bfloat16", "float32",
  ],
};
const SUGGESTIONS = { WHISPER_MODEL: "model-list", WHISPER_LANGUAGE: "language-list" };
const RELOADS = ["WHISPER_MODEL", "WHISPER_DEVICE", "WHISPER_COMPUTE_TYPE"];
const $ = (id) => document.getElementById(id);

let rows = [];
let saved = () => {};
let fallback = null;

export function initSettings({ onSaved }) {
  saved = onSaved;
  $("settings-form").addEventListener("submit", save);
  $("settings-revert").addEventListener("click", () => {
    render();
    status("settings-status", "");
  });
  $("reset-button").addEventListener("click", hardReset);
  onLangChange(() => {
    renderFallback(fallback);
    if (!rows.length) return;
    const edits = new Map(rows.map((row) => [row.key, readValue(row)]));
    render();
    for (const row of rows) writeValue(row, edits.get(row.key));
  });
}

export async function loadSettings() {
  try {
    rows = await request("/api/v1/settings/schema");
    render();
  } catch (error) {
    status("settings-status", t("settings.loadFailed", { detail: error.message }), true);
  }
}

/** ``settings_fallback`` of /health: while the saved model, device or compute type cannot be loaded,
 * say so above the form, with what tasks run with instead and why; null or undefined hides it. */
export function renderFallback(value) {
  fallback = value || null;
  const node = $("settings-fallback");
  node.hidden = !fallback;
  if (!fallback) return;
  const { model, device, compute_type: compute } = fallback.in_force;
  setText(node, t("settings.fallback", { model, device, compute, reason: fallback.reason }));
}

const control = (key) => $(`set-${key}`);
const isNumber = (row) => typeof row.default === "number";
function shown(value) {
  if (value === "" || value === null || value === undefined) return t("settings.empty");
  if (typeof value === "boolean") return t(value ? "common.yes" : "common.no");
  return String(value);
}

function render() {
  $("settings-fields").replaceChildren(...rows.map(fieldFor));
  for (const row of rows) writeValue(row, row.value);
}

function fieldFor(row) {
  const id = `set-${row.key}`;
  const help = has(`help.${row.key}`) ? t(`help.${row.key}`) : row.description.replaceAll("`", "");
  const input = inputFor(row, id);
  input.setAttribute("aria-describedby", `${id}-help ${id}-default ${id}-error`);
  input.addEventListener("input", () => fieldError(row.key, ""));
  const restore = el("button", {
    type: "button",
    class: "btn link",
    text: t("settings.useDefault"),
    "aria-label": t("settings.useDefaultNamed", { name: t(`set.${row.key}`) }),
    onclick: () => writeValue(row, row.default),
  });
  return el(
    "div",
    { class: "field setting", dataset: { key: row.key } },
    el(
      "div",
      { class: "setting-label" },
      el("label", { for: id, text: t(`set.${row.key}`) }),
      String(row.value) !== String(row.default) ? el("span", { class: "tag", text: t("settings.changed") }) : null,
      el("code", { text: row.key }),
    ),
    input,
    el("p", { class: "help", id: `${id}-help`, text: help }),
    el("p", { class: "meta setting-default" }, el("span", { id: `${id}-default`, text: t("settings.default", { value: shown(row.default) }) }), restore),
    el("p", { class: "field-error", id: `${id}-error`, role: "alert", hidden: true }),
  );
}

function inputFor(row, id) {
  if (typeof row.default === "boolean") return el("input", { type: "checkbox", id, class: "switch" });
  if (CHOICES[row.key]) {
    return el("select", { id }, ...CHOICES[row.key].map((choice) => el("option", { value: choice, text: choice })));
  }
  if (row.key === "WHISPER_PROMPT") return el("textarea", { id, rows: 2, maxlength: 2000 });
  const attrs = { id, type: "text", autocomplete: "off", spellcheck: "false", list: SUGGESTIONS[row.key] };
  if (isNumber(row)) attrs.inputmode = "decimal";
  return el("input", attrs);
}

function readValue(row) {
  const input = control(row.key);
  if (input.type === "checkbox") return input.checked;
  const value = input.value.trim();
  if (isNumber(row) && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  return value; // the service reports anything it cannot accept
}

function writeValue(row, value) {
  const input = control(row.key);
  if (input.type === "checkbox") input.checked = Boolean(value);
  else input.value = value === null || value === undefined ? "" : String(value);
}

function fieldError(key, message) {
  const node = $(`set-${key}-error`);
  if (!node) return;
  node.textContent = message;
  node.hidden = !message;
  control(key).toggleAttribute("aria-invalid", Boolean(message));
}

function status(id, message, isError = false) {
  const node = $(id);
  setText(node, message);
  node.classList.toggle("error", isError);
}

function changes() {
  const out = {};
  for (const row of rows) {
    const value = readValue(row);
    if (String(value) === String(row.value)) continue;
    out[row.key] = String(value) === String(row.default) ? "" : value; // "" = back to the default
  }
  return out;
}

async function save(event) {
  event.preventDefault();
  for (const row of rows) fieldError(row.key, "");
  const update = changes();
  if (!Object.keys(update).length) {
    status("settings-status", t("settings.noChanges"));
    return;
  }
  status("settings-status", t("settings.saving"));
  try {
    const values = await request("/api/v1/settings", { method: "POST", json: update });
    const reload = RELOADS.some((key) => key in update && values[key] !== rows.find((r) => r.key === key).value);
    for (const row of rows) row.value = values[row.key];
    render();
    status("settings-status", t(reload ? "settings.savedReload" : "settings.saved"));
    saved(values);
  } catch (error) {
    if (error.key && control(error.key)) {
      fieldError(error.key, error.message);
      control(error.key).focus();
      status("settings-status", t("settings.invalid"), true);
    } else {
      status("settings-status", t("error.generic", { detail: error.message }), true);
    }
  }
}

async function hardReset() {
  let pending = "?";
  try {
    pending = (await request("/health")).queue.pending;
  } catch {
    // The dialog still asks; the count is unknown.
  }
  const ok = await confirmDialog({
    title: t("reset.confirmTitle"),
    message: t("reset.confirmMessage", { count: pending }),
    confirm: t("reset.confirm"),
    danger: true,
  });
  if (!ok) return;
  try {
    const result = await request("/api/v1/reset", { method: "POST" });
    status("reset-status", t("reset.done", { count: result.cancelled }));
    saved(null);
  } catch (error) {
    toastError(error);
  }
}
