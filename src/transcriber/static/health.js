// The header badge: model, device (CPU/GPU), worker state and queue depth, from /health.

import { setText } from "./dom.js";
import { onLangChange, t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
let last;

export function initHealth() {
  onLangChange(() => renderHealth(last));
}

function badgeState(health, state) {
  if (health.ready) return state === "busy" ? "busy" : "ready";
  return state === "loading" ? "loading" : "down";
}

/** ``health``: the /health body; null when the service cannot be reached; undefined: not known yet. */
export function renderHealth(health) {
  last = health;
  const badge = $("health");
  const text = $("health-text");
  if (health === undefined) return;
  if (health === null || !health.queue) {
    // Unreachable, or the short public answer of a service with API keys (no key given yet).
    badge.dataset.state = health === null ? "offline" : health.ready ? "ready" : "down";
    setText(text, t(health === null ? "health.offline" : health.ready ? "health.ready" : "health.notReady"));
    badge.removeAttribute("title");
    return;
  }
  const worker = health.worker;
  const state = worker ? worker.state : "none";
  badge.dataset.state = badgeState(health, state);
  const queue = t("health.queue", { count: health.queue.pending + health.queue.in_progress });
  const device = health.device ? health.device.toUpperCase().replace("CUDA", "GPU") : "—";
  const parts = worker
    ? [health.model || worker.model || "—", device, t(`worker.${state}`), queue]
    : [t("health.noWorker"), queue];
  if (health.settings_fallback) parts.push(t("health.fallback"));
  badge.toggleAttribute("data-fallback", Boolean(health.settings_fallback));
  setText(text, parts.join(" · "));
  const compute = worker && worker.compute_type ? worker.compute_type : "—";
  const error = worker && worker.error ? ` ${worker.error}` : "";
  badge.title = t("health.title", { version: health.version, model: health.model || "—", device, compute }) + error;
}
