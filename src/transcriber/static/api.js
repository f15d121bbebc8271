// Every request to the service goes through here: one place adds the API key and turns error bodies
// ({code, detail}) into ApiError. On 401 the page asks for a key once and retries.

const KEY_STORAGE = "transcriber.apiKey";

export class ApiError extends Error {
  constructor(status, code, detail, body = null) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.body = body;
  }

  /** The setting or option the server named as invalid (422 bodies carry ``key``). */
  get key() {
    return this.body && typeof this.body.key === "string" ? this.body.key : null;
  }
}

let askForKey = null;
let pendingAsk = null;
let declined = false; // the person closed the prompt: no more prompts until a key is saved
let networkMessage = "network error";

/** ``ask`` shows a prompt and resolves true once a key is stored. */
export function configure({ keyPrompt, networkError }) {
  askForKey = keyPrompt;
  networkMessage = networkError;
}

export function apiKey() {
  try {
    return localStorage.getItem(KEY_STORAGE) || "";
  } catch {
    return "";
  }
}

export function setApiKey(key) {
  if (key) declined = false;
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    // Storage disabled: the key is not kept.
  }
}

export function authHeaders() {
  const key = apiKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/**
 * Also keep the key in the service's HttpOnly session cookie (POST /api/v1/session), for what cannot
 * send a header: the event stream, the audio player and download links. Resolves false only when the
 * service says the key is not valid.
 */
export async function openSession(key) {
  try {
    const response = await fetch("/api/v1/session", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ key }),
      cache: "no-store",
    });
    return response.status !== 401;
  } catch {
    return true; // unreachable now: the next request reports it
  }
}

export async function closeSession() {
  try {
    await fetch("/api/v1/session", { method: "DELETE", cache: "no-store" });
  } catch {
    // Nothing to undo.
  }
}

/** One prompt at a time, however many requests got 401 together. */
async function promptForKey() {
  if (!askForKey || declined) return false;
  pendingAsk ??= askForKey()
    .then((saved) => {
      declined = !saved;
      return saved;
    })
    .finally(() => {
      pendingAsk = null;
    });
  return pendingAsk;
}

function errorFromBody(status, body) {
  const detail = body && typeof body.detail === "string" ? body.detail : `HTTP ${status}`;
  return new ApiError(status, (body && body.code) || "http_error", detail, body);
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return errorFromBody(response.status, body);
}

/** fetch() a JSON API path. Options: method, json (a body to send), signal. */
export async function request(path, { method = "GET", json, signal } = {}) {
  for (let attempt = 0; ; attempt += 1) {
    const headers = { Accept: "application/json", ...authHeaders() };
    if (json !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: json === undefined ? undefined : JSON.stringify(json),
        signal,
        cache: "no-store",
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError(0, "network", networkMessage);
    }
    if (response.status === 401 && attempt === 0 && (await promptForKey())) continue;
    if (!response.ok) throw await errorFrom(response);
    const type = response.headers.get("content-type") || "";
    return type.includes("json") ? response.json() : response.text();
  }
}

/**
 * Upload one file as multipart field ``file`` with XMLHttpRequest (fetch has no upload progress).
 * Returns {promise, abort}; ``onProgress(loaded, total)`` reports bytes sent.
 */
export function uploadFile(file, { onProgress, onSent }) {
  let xhr = null;
  let aborted = false;
  const send = () =>
    new Promise((resolve, reject) => {
      xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/v1/upload");
      for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) onProgress(event.loaded, event.total);
      });
      xhr.upload.addEventListener("load", () => onSent && onSent());
      xhr.addEventListener("load", () => {
        let body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          body = null;
        }
        if (xhr.status >= 200 && xhr.status < 300) resolve(body);
        else reject(errorFromBody(xhr.status, body));
      });
      xhr.addEventListener("error", () => reject(new ApiError(0, "network", networkMessage)));
      xhr.addEventListener("abort", () => reject(new DOMException("upload cancelled", "AbortError")));
      const form = new FormData();
      form.append("file", file, file.name);
      xhr.send(form);
    });
  const promise = (async () => {
    try {
      return await send();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401 && !aborted && (await promptForKey())) {
        return send();
      }
      throw error;
    }
  })();
  return {
    promise,
    abort() {
      aborted = true;
      if (xhr) xhr.abort();
    },
  };
}
