// Creating a task for an uploaded file, with the global settings or this task's own options.

import { request } from "./api.js";
import { copyButton, toast } from "./dom.js";
import { t } from "./i18n.js";

const OPTIONS = ["language", "model", "task", "multilingual", "diarize", "beam_size", "initial_prompt"];
const GLOBAL_KEY = {
  language: "WHISPER_LANGUAGE",
  model: "WHISPER_MODEL",
  task: "WHISPER_TASK",
  multilingual: "WHISPER_MULTILINGUAL",
  diarize: "WHISPER_DIARIZE",
  beam_size: "WHISPER_BEAM",
  initial_prompt: "WHISPER_PROMPT",
};
const SELECTS = new Set(["task", "multilingual", "diarize"]); // the first option says what the settings give

let globalSettings = null;
let created = () => {};

const field = (name) => document.getElementById(`opt-${name}`);
const errorNode = (name) => document.getElementById(`opt-${name}-error`);

export function initTaskOptions({ onCreated }) {
  created = onCreated;
  for (const name of OPTIONS) field(name).addEventListener("input", () => showFieldError(name, ""));
}

/** The global settings, shown as placeholders: an empty option means "as in the settings". */
export function setGlobalSettings(values) {
  globalSettings = values;
  renderPlaceholders();
}

export function renderPlaceholders() {
  if (!globalSettings) return;
  for (const name of OPTIONS) {
    let value = globalSettings[GLOBAL_KEY[name]];
    if (name === "language" && !value) value = t("options.auto");
    const text = value === "" || value === undefined ? "" : t("options.globalValue", { value });
    if (name === "multilingual") value = t(value ? "options.multilingualOn" : "options.multilingualOff");
    if (name === "diarize") value = t(value ? "options.diarizeOn" : "options.diarizeOff");
    if (SELECTS.has(name)) field(name).options[0].textContent = `${t("options.asGlobal")} (${value})`;
    else field(name).placeholder = text;
  }
}

function showFieldError(name, message) {
  const node = errorNode(name);
  node.textContent = message;
  node.hidden = !message;
  field(name).toggleAttribute("aria-invalid", Boolean(message));
}

function readOptions() {
  const options = {};
  for (const name of OPTIONS) {
    const value = field(name).value.trim();
    if (value === "") continue;
    if (name === "beam_size") options[name] = Number(value);
    else if (name === "multilingual" || name === "diarize") options[name] = value === "true";
    else options[name] = value;
  }
  return options;
}

/** The option a 422 names: ``key`` from the service's own check, or the last part of a body error's loc. */
export function invalidField(error) {
  if (error.key) return error.key;
  const first = error.body && Array.isArray(error.body.errors) ? error.body.errors[0] : null;
  return first && Array.isArray(first.loc) ? String(first.loc[first.loc.length - 1]) : null;
}

/** Queue a task for ``upload`` ({id, name}); ``notify`` shows the new id with a copy button. */
export async function createTask(upload, { notify = true } = {}) {
  for (const name of OPTIONS) showFieldError(name, "");
  try {
    const task = await request("/api/v1/create_task", {
      method: "POST",
      json: { upload_id: upload.id, ...readOptions() },
    });
    if (notify) {
      const copy = copyButton({ label: t("tasks.copyId"), text: t("common.copy"), getText: () => task.task_id });
      toast(t("tasks.created", { id: task.task_id }), { extra: [copy], timeout: 10000 });
    }
    created(task);
    return task;
  } catch (error) {
    const name = invalidField(error);
    if (OPTIONS.includes(name)) {
      document.getElementById("task-options").open = true;
      showFieldError(name, error.message);
      field(name).focus();
    }
    throw error;
  }
}
