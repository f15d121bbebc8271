// The task list: status, queue position, progress and ETA, updated in place from live pages; a status
// filter; cancel, delete, open and export per task.

import { request } from "./api.js";
import { announce, confirmDialog, copyButton, el, setText, toast, toastError } from "./dom.js";
import * as fmt from "./format.js";
import { onLangChange, t } from "./i18n.js";

export const FORMATS = ["txt", "srt", "vtt", "json"];
const ACTIVE = new Set(["PENDING", "IN_PROGRESS"]);
const $ = (id) => document.getElementById(id);

const rows = new Map();
let lastPage = null;
let filter = "";
let live = null;

export function initTasks(liveUpdates) {
  live = liveUpdates;
  for (const button of document.querySelectorAll("#task-filters [data-filter]")) {
    button.addEventListener("click", () => setFilter(button.dataset.filter));
  }
  onLangChange(() => {
    for (const row of rows.values()) row.renderedActions = "";
    if (lastPage) renderTasks(lastPage);
  });
}

function setFilter(value) {
  filter = value;
  for (const button of document.querySelectorAll("#task-filters [data-filter]")) {
    button.setAttribute("aria-pressed", String(button.dataset.filter === value));
  }
  live.setFilter(value ? [value] : []);
}

export const displayName = (task) => task.file_name || task.task_id.slice(0, 8);

/** Bring the list in line with ``page`` ({tasks, total}) without rebuilding rows that still exist. */
export function renderTasks(page) {
  if (filter && page.tasks.some((task) => task.status !== filter)) return; // a page for an older filter
  lastPage = page;
  const list = $("task-list");
  const seen = new Set();
  page.tasks.forEach((task, index) => {
    seen.add(task.task_id);
    let row = rows.get(task.task_id);
    if (!row) {
      row = buildRow(task);
      rows.set(task.task_id, row);
    } else if (row.task.status !== task.status) {
      announce(t("tasks.statusChanged", { name: displayName(task), status: t(`status.${task.status}`) }));
    }
    updateRow(row, task);
    if (list.children[index] !== row.node) list.insertBefore(row.node, list.children[index] || null);
  });
  for (const [id, row] of rows) {
    if (!seen.has(id)) {
      row.node.remove();
      rows.delete(id);
    }
  }
  const empty = $("tasks-empty");
  empty.hidden = page.tasks.length > 0;
  setText(empty, t(filter ? "tasks.emptyFiltered" : "tasks.empty"));
  const more = $("tasks-more");
  more.hidden = page.total <= page.tasks.length;
  setText(more, t("tasks.more", { shown: page.tasks.length, total: page.total }));
}

function buildRow(task) {
  const part = (tag, cls) => el(tag, { class: cls });
  const parts = {
    name: part("span", "task-name"),
    badge: part("span", "badge"),
    meta: part("span", "meta task-meta"),
    id: el("span", { class: "task-id" }),
    progressBox: part("div", "task-progress"),
    progress: el("progress", { max: 1, value: 0 }),
    progressText: part("span", "task-progress-text"),
    error: part("p", "task-error"),
    actions: part("div", "row-actions task-actions"),
  };
  parts.progressBox.append(parts.progress, parts.progressText);
  const node = el(
    "li",
    { class: "task", dataset: { taskId: task.task_id } },
    el("div", { class: "task-top" }, parts.name, parts.badge),
    el("div", { class: "task-line" }, parts.meta, parts.id),
    parts.progressBox,
    parts.error,
    parts.actions,
  );
  return { node, parts, task, renderedActions: "" };
}

function metaText(task) {
  const bits = [fmt.date(task.created_at)];
  if (task.duration) bits.push(fmt.duration(task.duration));
  if (task.language) bits.push(task.language);
  const options = Object.entries(task.options || {}).map(([key, value]) => `${key}=${value}`);
  if (options.length) bits.push(t("tasks.options", { options: options.join(", ") }));
  return bits.join(" · ");
}

function progressText(task) {
  if (task.status === "PENDING") {
    return task.queue_position === null ? "" : t("tasks.queue", { position: task.queue_position + 1 });
  }
  const text = `${fmt.percent(task.progress)}%`;
  return task.eta_seconds === null ? text : `${text} · ${t("tasks.eta", { eta: fmt.eta(task.eta_seconds) })}`;
}

function updateRow(row, task) {
  const { node, parts } = row;
  row.task = task;
  node.dataset.status = task.status;
  setText(parts.name, displayName(task));
  parts.name.title = task.file_name || "";
  parts.badge.dataset.status = task.status;
  setText(parts.badge, t(`status.${task.status}`));
  setText(parts.meta, metaText(task));
  parts.progressBox.hidden = !ACTIVE.has(task.status);
  parts.progress.value = task.status === "IN_PROGRESS" ? task.progress : 0;
  if (task.status === "PENDING") parts.progress.removeAttribute("value"); // indeterminate while queued
  parts.progress.setAttribute("aria-label", t("tasks.progressLabel", { name: displayName(task) }));
  setText(parts.progressText, progressText(task));
  setText(parts.error, task.error || "");
  parts.error.hidden = !task.error;
  const actionsKey = `${task.status}`;
  if (row.renderedActions !== actionsKey) {
    row.renderedActions = actionsKey;
    parts.id.replaceChildren(
      copyButton({ label: t("tasks.copyId"), text: `ID ${task.task_id.slice(0, 8)}`, getText: () => task.task_id }),
    );
    parts.actions.replaceChildren(...actionsFor(task));
  }
}

function actionsFor(task) {
  const name = displayName(task);
  const id = encodeURIComponent(task.task_id);
  const buttons = [];
  if (ACTIVE.has(task.status)) {
    buttons.push(button(t("tasks.cancel"), t("tasks.cancelNamed", { name }), () => cancelTask(task), "cancel"));
    return buttons;
  }
  buttons.push(
    el("a", { class: "btn small", href: `#/task/${id}`, "aria-label": t("tasks.openNamed", { name }), text: t("tasks.open"), dataset: { action: "open" } }),
  );
  if (task.status === "COMPLETED") buttons.push(exportLinks(task, "btn ghost small"));
  buttons.push(button(t("common.delete"), t("tasks.deleteNamed", { name }), () => deleteTask(task), "delete"));
  return buttons;
}

/** TXT / SRT / VTT / JSON download links for a completed task. */
export function exportLinks(task, className) {
  const name = displayName(task);
  const id = encodeURIComponent(task.task_id);
  return el(
    "span",
    { class: "exports", role: "group", "aria-label": t("tasks.exports", { name }) },
    ...FORMATS.map((format) =>
      el("a", {
        class: className,
        href: `/export/${id}.${format}`,
        download: "",
        dataset: { format },
        "aria-label": `${t("tasks.exports", { name })}: ${format.toUpperCase()}`,
        text: format.toUpperCase(),
      }),
    ),
  );
}

function button(text, label, onclick, action) {
  return el("button", { type: "button", class: "btn ghost small", "aria-label": label, text, onclick, dataset: { action } });
}

async function cancelTask(task) {
  try {
    await request(`/api/v1/cancel/${encodeURIComponent(task.task_id)}`, { method: "POST" });
    toast(t("tasks.cancelled"), { timeout: 3000 });
    live.refresh();
  } catch (error) {
    toastError(error);
  }
}

async function deleteTask(task) {
  const ok = await confirmDialog({
    title: t("tasks.deleteTitle"),
    message: t("tasks.deleteMessage", { name: displayName(task) }),
    confirm: t("common.delete"),
    danger: true,
  });
  if (!ok) return;
  try {
    await request(`/api/v1/tasks/${encodeURIComponent(task.task_id)}`, { method: "DELETE" });
    toast(t("tasks.deleted"), { timeout: 3000 });
    live.refresh();
  } catch (error) {
    toastError(error);
  }
}
