// The workers list on the settings page: host, state, model, device, current task and last heartbeat,
// from the health report (/health, or the live stream's health events).

import { el, setText } from "./dom.js";
import { seconds } from "./format.js";
import { onLangChange, t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
let last = [];

export function initWorkers() {
  onLangChange(() => renderWorkers(last));
}

function device(worker) {
  if (!worker.device) return "—";
  const name = worker.device.toUpperCase().replace("CUDA", "GPU");
  return worker.compute_type ? `${name} · ${worker.compute_type}` : name;
}

function taskCell(worker) {
  const id = worker.current_task_id;
  if (!id) return el("td", { text: "—" });
  return el("td", {}, el("a", { href: `#/task/${encodeURIComponent(id)}`, text: id.slice(0, 8), title: id }));
}

function row(worker) {
  const age = worker.heartbeat_age_seconds;
  return el(
    "tr",
    { dataset: { worker: worker.id, state: worker.state } },
    el("td", { class: "worker-id", text: worker.id }),
    el("td", { text: worker.host || "—" }),
    el("td", {}, el("span", { class: "worker-state", dataset: { state: worker.state }, text: t(`worker.${worker.state}`) })),
    el("td", { text: worker.model || "—" }),
    el("td", { text: device(worker) }),
    taskCell(worker),
    el("td", { text: age === null || age === undefined ? "—" : t("workers.ago", { seconds: seconds(age) }) }),
  );
}

/** ``workers``: the health report's ``workers`` (empty when none runs or the report is not known). */
export function renderWorkers(workers) {
  last = workers || [];
  const body = $("workers-rows");
  if (!body) return;
  body.replaceChildren(...last.map(row));
  $("workers-table").hidden = last.length === 0;
  $("workers-empty").hidden = last.length > 0;
  setText($("workers-count"), last.length ? String(last.length) : "");
}
