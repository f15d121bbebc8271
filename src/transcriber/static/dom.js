// Small DOM helpers: element creation (text only, never HTML), announcements, toasts, clipboard, dialogs.

import { t } from "./i18n.js";

/** Create an element. ``props``: class, text, dataset, on<event> handlers, other attributes. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...children.filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

/** localStorage that tolerates being disabled (private modes, policies). */
export function readPref(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

export function writePref(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Not kept beyond this page; nothing else to do.
  }
}

/** Set text only when it differs (keeps screen readers and selection calm on live updates). */
export function setText(node, text) {
  const value = text ?? "";
  if (node.textContent !== value) node.textContent = value;
}

/** Say something to screen reader users without moving focus. */
export function announce(message) {
  const region = document.getElementById("announcer");
  region.textContent = "";
  window.setTimeout(() => {
    region.textContent = message;
  }, 50);
}

/** A short message in the corner; ``kind`` is "info" or "error". Extra nodes (e.g. a button) may follow. */
export function toast(message, { kind = "info", extra = [], timeout = 6000 } = {}) {
  const close = el("button", { type: "button", class: "toast-close", "aria-label": t("common.close"), text: "×" });
  const node = el(
    "div",
    { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" },
    el("span", { class: "toast-text", text: message }),
    ...extra,
    close,
  );
  const remove = () => node.remove();
  close.addEventListener("click", remove);
  document.getElementById("toasts").append(node);
  if (timeout) window.setTimeout(remove, kind === "error" ? timeout * 2 : timeout);
  return node;
}

export function toastError(error) {
  return toast(t("error.generic", { detail: error.message || String(error) }), { kind: "error" });
}

/** Copy text: the Clipboard API where allowed (https or localhost), else a hidden textarea. */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Fall through to the legacy way (e.g. permission denied).
    }
  }
  const area = el("textarea", { class: "clipboard-helper", readonly: true, "aria-hidden": "true" });
  area.value = text;
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  area.remove();
  return copied;
}

/** A copy button: copies ``getText()`` and confirms with a toast. */
export function copyButton({ label, getText, text = "", className = "btn ghost small" }) {
  return el("button", {
    type: "button",
    class: className,
    "aria-label": label,
    title: label,
    text,
    onclick: async () => {
      const ok = await copyText(getText());
      toast(ok ? t("common.copied") : t("common.copyFailed"), { kind: ok ? "info" : "error", timeout: 2500 });
    },
  });
}

/** Ask for confirmation in a modal dialog; resolves true when confirmed. */
export function confirmDialog({ title, message, confirm, danger = false }) {
  const dialog = document.getElementById("confirm-dialog");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-message").textContent = message;
  const ok = document.getElementById("confirm-ok");
  ok.textContent = confirm;
  ok.className = danger ? "btn danger" : "btn primary";
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
    document.getElementById("confirm-cancel").focus();
  });
}
