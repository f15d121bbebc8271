// The API key prompt. A service with API keys answers 401; the page then asks once, keeps the key in
// localStorage (sent as a header) and opens the service's session cookie (for the event stream, the
// audio player and download links, which cannot send headers).

import { apiKey, closeSession, openSession, setApiKey } from "./api.js";
import { toast } from "./dom.js";
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
let changed = () => {};

export function initKeys({ onChanged }) {
  changed = onChanged;
  $("key-button").hidden = !apiKey();
  $("key-button").addEventListener("click", askForKey);
}

/** Show the dialog; resolves true once a key is saved and the service accepted it. */
export function askForKey() {
  const dialog = $("key-dialog");
  const input = $("key-input");
  input.value = apiKey();
  $("key-forget").hidden = !apiKey();
  $("key-button").hidden = false; // the service wants a key: keep a way to change it
  dialog.returnValue = "";
  return new Promise((resolve) => {
    const close = () => resolve(chosen(dialog.returnValue, input.value.trim()));
    dialog.addEventListener("close", close, { once: true });
    dialog.showModal();
    input.focus();
  });
}

async function chosen(choice, key) {
  if (choice === "forget") {
    setApiKey("");
    await closeSession();
    return false;
  }
  if (choice !== "save" || !key) return false;
  const accepted = await openSession(key);
  setApiKey(accepted ? key : "");
  if (!accepted) {
    toast(t("key.invalid"), { kind: "error" });
    return false;
  }
  changed();
  return true;
}
