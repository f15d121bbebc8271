// A task's webhook deliveries on its page: each notification's event, address and state, every attempt
// (when, the receiver's answer), and "send again" (POST .../redeliver, the same webhook-id). Shown only
// for a task that names a callback_url; refreshed while a delivery is still pending.

import { request } from "./api.js";
import { el, toast, toastError } from "./dom.js";
import * as fmt from "./format.js";
import { t } from "./i18n.js";

const REFRESH_MS = 3000;

let shownFor = null;
let timer = null;

/** Show ``task``'s deliveries in ``node`` (a <details>), or hide it when the task has no webhook. */
export async function renderWebhooks(node, task) {
  clearTimeout(timer);
  shownFor = task ? task.task_id : null;
  const wanted = task && task.options && task.options.callback_url;
  if (!wanted) {
    node.hidden = true;
    node.replaceChildren();
    return;
  }
  let deliveries;
  try {
    deliveries = (await request(`/api/v1/tasks/${encodeURIComponent(task.task_id)}/webhooks`)).deliveries;
  } catch (error) {
    if (shownFor === task.task_id) toastError(error);
    return;
  }
  if (shownFor !== task.task_id) return;
  const open = node.open;
  node.replaceChildren(
    el("summary", { text: t("wh.title", { count: deliveries.length }) }),
    deliveries.length
      ? el("ul", { class: "deliveries" }, ...deliveries.map((d) => delivery(node, task, d)))
      : el("p", { class: "hint", text: t("wh.none") }),
  );
  node.open = open || deliveries.some((d) => d.state !== "delivered");
  node.hidden = false;
  if (deliveries.some((d) => d.state === "pending")) {
    timer = setTimeout(() => shownFor === task.task_id && renderWebhooks(node, task), REFRESH_MS);
  }
}

function stateText(d) {
  if (d.state === "delivered") return t("wh.delivered", { time: fmt.date(d.delivered_at) });
  if (d.state === "failed") return t("wh.failed");
  return d.attempts ? t("wh.retry", { time: fmt.date(d.next_attempt_at) }) : t("wh.sending");
}

function attempt(a) {
  const result = a.status !== null ? `HTTP ${a.status}` : t("wh.noAnswer");
  const detail = a.error ? ` — ${a.error}` : "";
  return el("li", { text: t("wh.attempt", { number: a.number, time: fmt.date(a.at), result }) + detail });
}

function delivery(node, task, d) {
  const resend = el("button", {
    type: "button",
    class: "btn small",
    text: t("wh.redeliver"),
    onclick: async () => {
      resend.disabled = true;
      try {
        const path = `/api/v1/tasks/${encodeURIComponent(task.task_id)}/webhooks/${encodeURIComponent(d.id)}`;
        await request(`${path}/redeliver`, { method: "POST" });
        toast(t("wh.queued"));
        await renderWebhooks(node, task);
      } catch (error) {
        toastError(error);
        resend.disabled = false;
      }
    },
  });
  return el(
    "li",
    { class: `delivery ${d.state}`, dataset: { state: d.state } },
    el("p", {}, el("strong", { text: d.event }), " ", el("span", { class: "wh-state", text: stateText(d) })),
    el("p", { class: "hint wh-url", text: d.url }),
    d.history.length ? el("ol", { class: "attempts" }, ...d.history.map(attempt)) : null,
    resend,
  );
}
