// The speakers of a task split by speaker (a stereo call by channel): a chip per speaker in its own
// colour, which shows only that speaker's phrases when pressed, and a rename in place
// (PATCH /api/v1/tasks/{id}: every export shows the new name at once).

import { request } from "./api.js";
import { announce, el, toastError } from "./dom.js";
import { t } from "./i18n.js";

const COLOURS = 6;

/** The colour class of speaker ``id``: by its place among the task's speakers (S1 first). */
export function speakerClass(speakers, id) {
  const index = (speakers || []).findIndex((speaker) => speaker.id === id);
  return index < 0 ? "" : `spk-${index % COLOURS}`;
}

/** The name shown for speaker ``id`` (its id when the task does not list it). */
export function speakerName(speakers, id) {
  const found = (speakers || []).find((speaker) => speaker.id === id);
  return found ? found.name : id;
}

/**
 * Draw ``task``'s speakers into ``node``. ``filter`` is the id shown alone (or null); ``onFilter(id)``
 * is called with the new one, ``onRenamed(task)`` with the task the service returned after a rename.
 */
export function renderSpeakers(node, task, { filter, onFilter, onRenamed }) {
  const speakers = task.speakers || [];
  node.hidden = speakers.length === 0;
  if (!speakers.length) {
    node.replaceChildren();
    return;
  }
  const chips = speakers.map((speaker) =>
    el(
      "li",
      { class: `speaker ${speakerClass(speakers, speaker.id)}`, dataset: { speaker: speaker.id } },
      el("button", {
        type: "button",
        class: "spk-filter",
        "aria-pressed": filter === speaker.id ? "true" : "false",
        title: t("spk.only", { name: speaker.name }),
        text: speaker.name,
        onclick: () => onFilter(filter === speaker.id ? null : speaker.id),
      }),
      el("button", {
        type: "button",
        class: "spk-rename",
        "aria-label": t("spk.rename", { name: speaker.name }),
        title: t("spk.rename", { name: speaker.name }),
        text: "✎",
        onclick: (event) => editName(event.currentTarget.closest("li"), task, speaker, onRenamed),
      }),
    ),
  );
  node.replaceChildren(
    el("span", { class: "hint", id: "tx-speakers-label", text: t("spk.label") }),
    el("ul", { class: "speaker-list", "aria-labelledby": "tx-speakers-label" }, ...chips),
  );
}

/** Replace chip ``item`` with a form that renames ``speaker`` (Enter saves, Escape cancels). */
function editName(item, task, speaker, onRenamed) {
  const input = el("input", {
    type: "text",
    class: "spk-input",
    value: speaker.name,
    maxlength: "100",
    "aria-label": t("spk.newName", { id: speaker.id }),
  });
  const restore = () => onRenamed(task);
  const form = el(
    "form",
    { class: "spk-form" },
    input,
    el("button", { type: "submit", class: "btn small", text: t("common.save") }),
    el("button", { type: "button", class: "btn ghost small", text: t("common.cancel"), onclick: restore }),
  );
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") restore();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const updated = await request(`/api/v1/tasks/${encodeURIComponent(task.task_id)}`, {
        method: "PATCH",
        json: { speakers: [{ id: speaker.id, name: input.value }] },
      });
      const name = speakerName(updated.speakers, speaker.id);
      announce(t("spk.renamed", { name }));
      onRenamed(updated);
    } catch (error) {
      toastError(error);
      input.focus();
    }
  });
  item.replaceChildren(form);
  input.focus();
  input.select();
}
