// Live task list and health: Server-Sent Events from /api/v1/events, polling /api/v1/tasks every 2 s
// only while the stream is down (or when the browser has no EventSource).

import { request } from "./api.js";

const POLL_MS = 2000;
const RETRY_STREAM_MS = 30000;
const LIMIT = 100;

export function createLive({ onTasks, onHealth, onMode }) {
  let statuses = [];
  let source = null;
  let pollTimer = null;
  let retryTimer = null;
  let generation = 0;

  const query = () => {
    const params = new URLSearchParams();
    for (const status of statuses) params.append("status", status);
    params.set("limit", String(LIMIT));
    return params.toString();
  };

  async function fetchOnce() {
    const asked = generation;
    try {
      const [page, health] = await Promise.all([request(`/api/v1/tasks?${query()}`), request("/health")]);
      if (asked !== generation) return;
      onTasks(page);
      onHealth(health);
      if (pollTimer) onMode("polling");
    } catch {
      if (!pollTimer) return; // the stream is up and will deliver; this was a one-off refresh
      onMode("offline");
      onHealth(null);
    }
  }

  function startPolling() {
    if (pollTimer) return;
    onMode("polling");
    pollTimer = window.setInterval(fetchOnce, POLL_MS);
    fetchOnce();
  }

  function stopPolling() {
    window.clearInterval(pollTimer);
    pollTimer = null;
  }

  function connect() {
    window.clearTimeout(retryTimer);
    if (source) source.close();
    source = null;
    if (!("EventSource" in window)) {
      startPolling();
      return;
    }
    const stream = new EventSource(`/api/v1/events?${query()}`);
    source = stream;
    stream.addEventListener("open", () => {
      stopPolling();
      onMode("live");
    });
    stream.addEventListener("tasks", (event) => onTasks(JSON.parse(event.data)));
    stream.addEventListener("health", (event) => onHealth(JSON.parse(event.data)));
    stream.addEventListener("error", () => {
      if (source !== stream) return;
      startPolling();
      // CLOSED means the browser gave up (an error status, e.g. a proxy without streaming): try later.
      if (stream.readyState === EventSource.CLOSED) retryTimer = window.setTimeout(connect, RETRY_STREAM_MS);
    });
  }

  return {
    start: connect,
    /** Show only these statuses (empty: all); reconnects the stream with the new filter. */
    setFilter(next) {
      statuses = next;
      generation += 1;
      if (pollTimer) fetchOnce();
      if (source || !pollTimer) connect();
    },
    /** Fetch now (after an action), without waiting for the next event. */
    refresh: fetchOnce,
  };
}
