// Uploading: drag and drop or the file button, several files at once, a progress bar per file
// (bytes sent of total) that can be cancelled; and the list of files uploaded before.

import { request, uploadFile } from "./api.js";
import { createTask } from "./create.js";
import { announce, confirmDialog, copyButton, el, readPref, setText, toast, toastError, writePref } from "./dom.js";
import * as fmt from "./format.js";
import { onLangChange, t } from "./i18n.js";

const CONCURRENCY = 2;
const AUTO_CREATE_KEY = "transcriber.autoCreate";
const $ = (id) => document.getElementById(id);

const items = [];
let running = 0;
let nextId = 1;
let files = [];
let uploaded = () => {};

export function initUploads({ onUploaded }) {
  uploaded = onUploaded;
  const input = $("file-input");
  $("pick-files").addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    addFiles(input.files);
    input.value = "";
  });
  initDropzone($("dropzone"));
  const auto = $("auto-create");
  auto.checked = readPref(AUTO_CREATE_KEY) !== "false";
  auto.addEventListener("change", () => writePref(AUTO_CREATE_KEY, String(auto.checked)));
  $("files-refresh").addEventListener("click", loadFiles);
  onLangChange(() => {
    for (const item of items) renderItem(item, true);
    renderFiles();
  });
}

function initDropzone(zone) {
  let depth = 0;
  const hasFiles = (event) => Array.from(event.dataTransfer?.types || []).includes("Files");
  zone.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth += 1;
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragover", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  zone.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) zone.classList.remove("dragging");
  });
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    depth = 0;
    zone.classList.remove("dragging");
    addFiles(event.dataTransfer.files);
  });
  // A file dropped beside the zone must not make the browser leave the page to open it.
  for (const type of ["dragover", "drop"]) {
    window.addEventListener(type, (event) => {
      if (hasFiles(event) && !zone.contains(event.target)) event.preventDefault();
    });
  }
}

export function addFiles(fileList) {
  for (const file of Array.from(fileList)) {
    const item = { id: nextId++, file, state: "queued", loaded: 0, total: file.size, error: null };
    item.node = buildItem(item);
    items.push(item);
    $("upload-list").append(item.node);
    renderItem(item, true);
  }
  pump();
}

function pump() {
  while (running < CONCURRENCY) {
    const item = items.find((candidate) => candidate.state === "queued");
    if (!item) return;
    start(item);
  }
}

async function start(item) {
  running += 1;
  item.state = "uploading";
  renderItem(item, true);
  item.handle = uploadFile(item.file, {
    onProgress(loaded, total) {
      // The request body is the file plus a few hundred bytes of multipart framing: count file bytes.
      item.loaded = Math.min(item.total, Math.round((loaded / Math.max(1, total)) * item.total));
      renderItem(item);
    },
    onSent() {
      item.state = "processing";
      renderItem(item, true);
    },
  });
  try {
    item.upload = await item.handle.promise;
    item.loaded = item.total;
    item.state = "done";
    renderItem(item, true);
    announce(`${item.file.name}: ${t("upload.done")}`);
    if ($("auto-create").checked) await createFor(item);
    uploaded(item.upload);
  } catch (error) {
    item.state = error.name === "AbortError" ? "cancelled" : "error";
    item.error = error;
  } finally {
    running -= 1;
    renderItem(item, true);
    pump();
  }
}

async function createFor(item) {
  try {
    item.task = await createTask(item.upload, { notify: false }); // the item shows the id itself
    item.state = "queuedTask";
    item.taskError = null;
  } catch (error) {
    item.taskError = error;
  }
}

function cancel(item) {
  if (item.state === "queued") item.state = "cancelled";
  else if (item.handle) item.handle.abort();
  renderItem(item, true);
}

function dismiss(item) {
  items.splice(items.indexOf(item), 1);
  item.node.remove();
}

function buildItem(item) {
  const progress = el("progress", { max: Math.max(1, item.total), value: 0 });
  const node = el(
    "li",
    { class: "upload", dataset: { uploadItem: String(item.id) } },
    el(
      "div",
      { class: "upload-head" },
      el("span", { class: "upload-name", text: item.file.name, title: item.file.name }),
      el("span", { class: "upload-size", text: "" }),
    ),
    progress,
    el("div", { class: "upload-foot" }, el("span", { class: "upload-status" }), el("span", { class: "row-actions" })),
    el("p", { class: "upload-message", role: "alert" }),
  );
  item.parts = {
    progress,
    size: node.querySelector(".upload-size"),
    status: node.querySelector(".upload-status"),
    actions: node.querySelector(".row-actions"),
    message: node.querySelector(".upload-message"),
  };
  return node;
}

function statusText(item) {
  if (item.state === "uploading") {
    const percent = item.total ? Math.round((item.loaded / item.total) * 100) : 0;
    return t("upload.progress", { loaded: fmt.size(item.loaded), total: fmt.size(item.total), percent });
  }
  const key = {
    queued: "upload.queued",
    processing: "upload.processing",
    done: "upload.done",
    queuedTask: "upload.taskCreated",
    cancelled: "upload.cancelled",
  }[item.state];
  return key ? t(key) : "";
}

function errorText(item) {
  if (item.taskError) return t("error.generic", { detail: item.taskError.message });
  const error = item.error;
  if (!error || error.name === "AbortError") return "";
  const rejected = error.status >= 400 && error.status < 500;
  return t(rejected ? "upload.rejected" : "upload.failed", { detail: error.message });
}

/** Update the item in place; ``full`` also rebuilds its buttons (only when its state changes). */
function renderItem(item, full = false) {
  const { progress, size, status, actions, message } = item.parts;
  item.node.dataset.state = item.state;
  if (item.task) item.node.dataset.taskId = item.task.task_id;
  progress.max = Math.max(1, item.total);
  progress.value = item.loaded;
  progress.setAttribute("aria-label", t("upload.progressLabel", { name: item.file.name }));
  setText(size, fmt.size(item.total));
  setText(status, statusText(item));
  setText(message, errorText(item));
  message.hidden = !message.textContent;
  if (full) actions.replaceChildren(...itemButtons(item));
}

function itemButtons(item) {
  const name = item.file.name;
  if (["queued", "uploading"].includes(item.state)) {
    return [smallButton(t("common.cancel"), t("upload.cancelNamed", { name }), () => cancel(item), "cancel")];
  }
  if (item.state === "processing") return [];
  const buttons = [];
  if (item.task) {
    buttons.push(copyButton({ label: t("tasks.copyId"), text: `ID ${item.task.task_id.slice(0, 8)}`, getText: () => item.task.task_id }));
  } else if (item.upload) {
    buttons.push(smallButton(t("upload.createTask"), t("files.createTaskNamed", { name }), async () => {
      await createFor(item);
      renderItem(item, true);
    }));
  }
  buttons.push(smallButton("×", t("upload.dismissNamed", { name }), () => dismiss(item), "dismiss"));
  return buttons;
}

function smallButton(text, label, onclick, action = "") {
  const attrs = { type: "button", class: "btn ghost small", text, onclick, dataset: { action } };
  if (label !== text) attrs["aria-label"] = label;
  return el("button", attrs);
}

export async function loadFiles() {
  try {
    files = (await request("/api/v1/uploads?limit=200")).files;
    renderFiles();
  } catch (error) {
    toastError(error);
  }
}

function renderFiles() {
  $("files-list").replaceChildren(...files.map(fileRow));
  $("files-empty").hidden = files.length > 0;
}

function fileRow(file) {
  const name = file.name;
  const meta = [fmt.duration(file.duration), fmt.size(file.size), fmt.date(file.uploaded_at)].join(" · ");
  return el(
    "li",
    { class: "file", dataset: { uploadId: file.id } },
    el(
      "div",
      { class: "file-info" },
      el("span", { class: "file-name", text: name, title: name }),
      el("span", { class: "meta", text: meta }),
    ),
    el(
      "div",
      { class: "row-actions" },
      smallButton(t("files.createTask"), t("files.createTaskNamed", { name }), (event) => createFromFile(file, event.currentTarget), "create"),
      smallButton(t("common.delete"), t("files.deleteNamed", { name }), () => deleteFile(file), "delete"),
    ),
  );
}

async function createFromFile(file, button) {
  button.disabled = true;
  try {
    await createTask({ id: file.id, name: file.name });
  } catch (error) {
    toastError(error);
  } finally {
    button.disabled = false;
  }
}

async function deleteFile(file) {
  const ok = await confirmDialog({
    title: t("files.deleteTitle"),
    message: t("files.deleteMessage", { name: file.name }),
    confirm: t("common.delete"),
    danger: true,
  });
  if (!ok) return;
  try {
    await request(`/api/v1/uploads/${encodeURIComponent(file.id)}`, { method: "DELETE" });
    toast(t("files.deleted"));
    await loadFiles();
  } catch (error) {
    toastError(error);
  }
}
