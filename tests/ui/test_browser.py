"""The web UI in a real browser against the real service and the real tiny.en model.

Screenshots of the main states go to test-artifacts/ui/ (not committed).
"""

from __future__ import annotations

import json
import re
import socket
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import standardwebhooks
from sqlalchemy import update

from tests.conftest import JFK_TEXT, repo_audio
from tests.e2e.server import ServerProcess, wait_for
from tests.ui.conftest import CHROMIUM, UI, WEBHOOK_SECRET
from tests.webhook_receiver import Receiver
from transcriber import schema
from transcriber.clock import utcnow
from transcriber.db import create_db_engine
from transcriber.domain import WorkerState
from transcriber.recognition import KEYS
from transcriber.store import SqlTaskStore

if not CHROMIUM.is_file():
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)

from playwright.sync_api import expect

pytestmark = pytest.mark.slow

DONE = 120_000  # ms: generous, the machine is shared
expect.set_options(timeout=15_000)


def words(text: str) -> str:
    return " ".join(re.findall(r"[a-z']+", text.lower()))


def choose_files(page: Any, *paths: Path) -> None:
    """Pick files through the page's file chooser, as a person does."""
    with page.expect_file_chooser() as chooser:
        page.locator("#pick-files").click()
    chooser.value.set_files([str(p) for p in paths])


def task_row(page: Any, task_id: str) -> Any:
    return page.locator(f'.task[data-task-id="{task_id}"]')


def completed_task(ui: UI, speech_file: Path) -> str:
    """A COMPLETED task of ``speech_file``: an earlier test's, or one made now through the API."""
    with ui.http() as http:
        done = http.get("/api/v1/tasks", params={"status": "COMPLETED"}).json()["tasks"]
        if done:
            return str(done[0]["task_id"])
        with open(speech_file, "rb") as fh:
            upload = http.post("/api/v1/upload", files={"file": (speech_file.name, fh)}).json()
        task_id = str(http.post("/api/v1/create_task", json={"upload_id": upload["id"]}).json()["task_id"])

    def done_yet() -> bool:
        with ui.http() as http:
            return bool(http.get(f"/api/v1/tasks/{task_id}").json()["status"] == "COMPLETED")

    wait_for(done_yet, timeout=DONE / 1000, what="the task to complete")
    return task_id


def cancel_active_tasks(ui: UI) -> None:
    with ui.http() as http:
        for task in http.get("/api/v1/tasks", params={"status": ["PENDING", "IN_PROGRESS"]}).json()["tasks"]:
            http.post(f"/api/v1/cancel/{task['task_id']}")


def test_upload_transcribe_play_search_copy_and_export(ui: UI, speech_file: Path) -> None:
    page = ui.open("/", permissions=["clipboard-read", "clipboard-write"])
    expect(page.locator("#health-text")).to_contain_text("tiny.en")
    expect(page.locator("#health-text")).to_contain_text("CPU")
    expect(page.locator("#live-state")).to_have_attribute("data-mode", "live")
    page.evaluate("window.notReloaded = true")

    choose_files(page, speech_file)
    item = page.locator(".upload").first
    expect(item).to_have_attribute("data-state", "queuedTask")
    assert item.locator("progress").evaluate("p => p.value === p.max && p.max >= 1")
    task_id = str(item.get_attribute("data-task-id"))
    row = task_row(page, task_id)
    expect(row.locator(".task-name")).to_have_text(speech_file.name)
    row.locator(".task-id button").click()  # the id is shown and copied whole
    expect(page.locator(".toast").last).to_contain_text("Скопировано")
    assert page.evaluate("navigator.clipboard.readText()") == task_id
    ui.shot(page, "01-task-queued")

    expect(row).to_have_attribute("data-status", "COMPLETED", timeout=DONE)
    expect(row.locator(".badge")).to_have_text("Готово")
    assert page.evaluate("window.notReloaded") is True, "the page reloaded"
    expect(page.locator("#files-list .file").first).to_contain_text(speech_file.name)
    ui.shot(page, "02-task-completed")

    row.locator("[data-action=open]").click()
    expect(page).to_have_url(re.compile(f"#/task/{task_id}$"))
    phrases = page.locator("button.phrase")
    expect(phrases.first).to_be_visible()
    assert JFK_TEXT in words(" ".join(phrases.all_inner_texts()))
    audio = page.locator("#tx-audio")
    page.wait_for_function("() => document.getElementById('tx-audio').readyState >= 1")
    assert audio.evaluate("a => a.seekable.length > 0 && a.seekable.end(0) > 5"), "no Range support"

    last = phrases.last
    start = float(last.get_attribute("data-start") or 0)
    last.click()
    expect(last).to_have_class(re.compile(r"\bcurrent\b"))
    expect(last).to_have_attribute("aria-current", "true")
    page.wait_for_function(f"() => document.getElementById('tx-audio').currentTime >= {start - 0.05}")
    page.wait_for_function("() => !document.getElementById('tx-audio').paused")
    audio.evaluate("a => a.pause()")
    phrases.first.focus()
    page.keyboard.press("Enter")
    expect(phrases.first).to_have_class(re.compile(r"\bcurrent\b"))
    audio.evaluate("a => a.pause()")
    ui.shot(page, "03-transcript")

    texts = phrases.all_inner_texts()
    matching = [text for text in texts if "americans" in text.lower()]
    page.locator("#tx-search").fill("americans")
    expect(page.locator("#tx-phrases mark").first).to_have_text(re.compile("americans", re.IGNORECASE))
    expect(page.locator("#tx-count")).to_have_text(f"Найдено: {len(matching)} из {len(texts)}")
    expect(page.locator("#tx-phrases li:visible")).to_have_count(len(matching))
    ui.shot(page, "04-transcript-search")
    page.locator("#tx-search").fill("")

    page.locator("#tx-copy").click()
    expect(page.locator(".toast").last).to_contain_text("Текст скопирован")
    assert JFK_TEXT in words(page.evaluate("navigator.clipboard.readText()"))

    downloads = {}
    for fmt in ("txt", "srt", "vtt", "json"):
        with page.expect_download() as download:
            page.locator(f'#tx-exports a[data-format="{fmt}"]').click()
        assert download.value.suggested_filename == f"{speech_file.stem}.{fmt}"
        downloads[fmt] = Path(download.value.path()).read_text(encoding="utf-8")
    assert JFK_TEXT in words(downloads["txt"])
    assert re.search(r"^1\n00:00:\d\d,\d{3} --> 00:00:\d\d,\d{3}\n", downloads["srt"], re.MULTILINE)
    assert downloads["vtt"].startswith("WEBVTT")
    assert re.search(r"\n00:00:\d\d\.\d{3} --> 00:00:\d\d\.\d{3}\n", downloads["vtt"])
    document = json.loads(downloads["json"])
    assert document["task_id"] == task_id
    assert JFK_TEXT in words(document["text"])
    assert len(document["phrases"]) == phrases.count()


def transcribed(ui: UI, audio: Path) -> dict[str, Any]:
    """A fresh COMPLETED task of ``audio`` with the service's defaults (words on), made through the API."""
    with ui.http() as http:
        with open(audio, "rb") as fh:
            upload = http.post("/api/v1/upload", files={"file": (audio.name, fh)}).json()
        task_id = str(http.post("/api/v1/create_task", json={"upload_id": upload["id"]}).json()["task_id"])

    def status() -> dict[str, Any]:
        with ui.http() as http:
            return dict(http.get(f"/api/v1/tasks/{task_id}").json())

    wait_for(lambda: status()["status"] == "COMPLETED", timeout=DONE / 1000, what="the task to complete")
    return status()


def test_words_play_from_a_click_light_up_as_heard_and_search_marks_them(ui: UI, speech_file: Path) -> None:
    """Issue 13: each word of the transcript is its own span with its times; a click plays from the
    word, the word being heard is highlighted, and a search across words marks the words it covers."""
    task = transcribed(ui, speech_file)
    phrases = task["results"]["phrases"]
    expected = [word["word"].strip() for phrase in phrases for word in phrase["words"]]
    assert len(expected) > 10, phrases
    page = ui.open(f"/#/task/{task['task_id']}")
    spans = page.locator("#tx-phrases .word")
    expect(spans).to_have_count(len(expected))
    assert [text.strip() for text in spans.all_inner_texts()] == expected
    # the words spell each phrase as it was: nothing added or lost between the spans
    texts = page.locator("button.phrase .text").all_inner_texts()
    assert [" ".join(text.split()) for text in texts] == [" ".join(p["text"].split()) for p in phrases]
    page.wait_for_function("() => document.getElementById('tx-audio').readyState >= 1")
    audio = page.locator("#tx-audio")

    last = phrases[-1]
    middle = len(last["words"]) // 2
    word = last["words"][middle]
    assert word["start"] > last["start"] + 1, last  # a word well inside its phrase
    span = page.locator("button.phrase").last.locator(".word").nth(middle)
    span.click()
    heard_from = float(audio.evaluate("a => { a.pause(); return a.currentTime; }"))
    assert word["start"] - 0.05 <= heard_from < word["start"] + 2.0, (heard_from, word)
    expect(page.locator("button.phrase").last).to_have_class(re.compile(r"\bcurrent\b"))

    # seeking into a word lights that word, and only it
    first = phrases[0]["words"]
    for index in (1, len(first) - 1):
        target = first[index]
        audio.evaluate(f"a => {{ a.currentTime = {(target['start'] + target['end']) / 2}; }}")
        lit = page.locator("button.phrase").first.locator(".word").nth(index)
        expect(lit).to_have_class(re.compile(r"\bcurrent-word\b"))
        expect(page.locator("#tx-phrases .current-word")).to_have_count(1)
        ui.shot(page, f"05-transcript-word-{index}")

    # a search over two words marks both, inside their spans, and the space between them
    joined = " ".join(expected).lower()
    pair = " ".join(re.findall(r"[a-z]+", " ".join(expected[-3:-1]).lower()))
    query = pair if pair in joined else expected[-2].lower()
    page.locator("#tx-search").fill(query)
    expect(page.locator("#tx-phrases .word mark").first).to_be_visible()
    marks = page.locator("#tx-phrases li:visible mark")
    marked = "".join(marks.evaluate_all("ms => ms.map(m => m.textContent)"))
    assert query in marked.lower(), (query, marked)
    assert page.locator("#tx-phrases .word mark").count() >= len(query.split()), query
    expect(spans).to_have_count(len(expected))  # marking keeps the words
    ui.shot(page, "06-transcript-word-search")
    page.locator("#tx-search").fill("")
    expect(page.locator("#tx-phrases mark")).to_have_count(0)


def test_several_files_at_once_queue_cancel_and_filter(
    ui: UI, long_recordings: list[Path], speech_file: Path
) -> None:
    page = ui.open("/")
    before = page.locator(".task").count()
    choose_files(page, *long_recordings, speech_file)
    items = page.locator(".upload")
    expect(items).to_have_count(3)
    for index in range(3):
        expect(items.nth(index)).to_have_attribute("data-state", "queuedTask")
        assert items.nth(index).locator("progress").evaluate("p => p.value === p.max")
    expect(page.locator(".task")).to_have_count(before + 3)

    # The newest task waits behind a long one: it shows its place in the queue, and can be cancelled.
    pending = page.locator(".task[data-status=PENDING]").first
    expect(pending.locator(".task-progress-text")).to_contain_text("в очереди")
    pending_id = pending.get_attribute("data-task-id")
    expect(page.locator(".task[data-status=IN_PROGRESS]")).to_have_count(1, timeout=DONE)
    running = page.locator(".task[data-status=IN_PROGRESS]")
    expect(running.locator(".task-progress-text")).to_contain_text("%")
    ui.shot(page, "06-queue")
    task_row(page, str(pending_id)).locator("[data-action=cancel]").click()
    expect(task_row(page, str(pending_id))).to_have_attribute("data-status", "CANCELLED")
    expect(task_row(page, str(pending_id)).locator("[data-action=delete]")).to_be_visible()

    running_id = running.get_attribute("data-task-id")
    running.locator("[data-action=cancel]").click()
    expect(task_row(page, str(running_id))).to_have_attribute("data-status", "CANCELLED")
    cancel_active_tasks(ui)

    page.locator("#task-filters [data-filter=CANCELLED]").click()
    expect(page.locator("#task-filters [data-filter=CANCELLED]")).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".task:not([data-status=CANCELLED])")).to_have_count(0)
    assert page.locator(".task[data-status=CANCELLED]").count() >= 2
    ui.shot(page, "07-filter-cancelled")
    page.locator("#task-filters [data-filter=PENDING]").click()
    expect(page.locator(".task")).to_have_count(0)
    expect(page.locator("#tasks-empty")).to_be_visible()
    page.locator("#task-filters [data-filter='']").click()
    expect(page.locator(".task")).to_have_count(before + 3)

    # A finished task can be deleted (after confirming).
    task_row(page, str(pending_id)).locator("[data-action=delete]").click()
    expect(page.locator("#confirm-dialog")).to_be_visible()
    page.locator("#confirm-ok").click()
    expect(task_row(page, str(pending_id))).to_have_count(0)


def test_upload_progress_counts_bytes_and_can_be_cancelled(ui: UI, long_recordings: list[Path]) -> None:
    with ui.http() as http:
        files_before = len(http.get("/api/v1/uploads").json()["files"])
    page = ui.open("/")
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 256 * 1024},
    )
    choose_files(page, long_recordings[0])
    item = page.locator(".upload").first
    expect(item).to_have_attribute("data-state", "uploading")
    size = long_recordings[0].stat().st_size
    progress = item.locator("progress")
    expect(progress).to_have_attribute("max", str(size))
    expect(item.locator(".upload-status")).to_contain_text(re.compile(r" из 2,8 МБ · [1-9]\d?%"))
    ui.shot(page, "05-upload-progress")
    item.locator("[data-action=cancel]").click()
    expect(item).to_have_attribute("data-state", "cancelled")
    expect(item.locator(".upload-status")).to_have_text("Загрузка отменена")
    sent = progress.evaluate("p => p.value")
    assert 0 < sent < size
    page.locator("#files-refresh").click()
    expect(page.locator("#files-list .file")).to_have_count(files_before)


def test_rejected_file_shows_the_service_message(ui: UI, tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp3"
    fake.write_text("This is a text file, not audio.\n" * 20, encoding="utf-8")
    with ui.http() as http:
        refused = http.post("/api/v1/upload", files={"file": ("notes.mp3", fake.read_bytes())})
        assert refused.status_code == 415
        expected = refused.json()["detail"]
    page = ui.open("/")
    choose_files(page, fake)
    item = page.locator(".upload").first
    expect(item).to_have_attribute("data-state", "error")
    message = item.locator(".upload-message")
    expect(message).to_contain_text("Файл не принят")
    expect(message).to_contain_text("Accepted")
    expect(message).to_have_text(f"Файл не принят: {expected}")
    ui.shot(page, "08-rejected-file")


def test_oversized_file_gets_the_size_limit_message(
    browser: Any, models_dir: Path, tmp_path: Path, long_recordings: list[Path]
) -> None:
    server = ServerProcess(
        tmp_path / "data", models_dir, env={"TRANSCRIBE_LIMITS__MAX_UPLOAD_BYTES": "100000"}
    )
    ui = UI(server=server.start(), browser=browser)
    try:
        page = ui.open("/")
        choose_files(page, long_recordings[0])
        item = page.locator(".upload").first
        expect(item).to_have_attribute("data-state", "error")
        # The browser sends Content-Length, so the service refuses before reading the body.
        expect(item.locator(".upload-message")).to_have_text(
            re.compile(
                r"^Файл не принят: the upload is 2\.\d MiB; the limit is 0\.1 MiB "
                r"\(TRANSCRIBE_LIMITS__MAX_UPLOAD_BYTES\)$"
            )
        )
        expect(page.locator("#files-empty")).to_be_visible()
    finally:
        ui.close_contexts()
        server.stop()
    assert not ui.errors


def test_create_task_again_from_an_earlier_upload_with_own_options(ui: UI, speech_file: Path) -> None:
    completed_task(ui, speech_file)
    page = ui.open("/")
    files = page.locator("#files-list .file").filter(has_text=speech_file.name)
    expect(files.first).to_be_visible()
    before = page.locator(".task").count()
    page.locator("#task-options summary").click()
    page.locator("#opt-language").fill("xx")
    files.first.locator("[data-action=create]").click()
    expect(page.locator("#opt-language-error")).to_contain_text("unknown language code")
    page.locator("#opt-language").fill("en")
    page.locator("#opt-beam_size").fill("2")
    files.first.locator("[data-action=create]").click()
    expect(page.locator(".task")).to_have_count(before + 1)
    newest = page.locator(".task").first
    new_id = newest.get_attribute("data-task-id")
    expect(page.locator(".toast").last).to_contain_text(f"Задача создана: {new_id}")
    expect(newest.locator(".task-meta")).to_contain_text("language=en")
    expect(newest).to_have_attribute("data-status", "COMPLETED", timeout=DONE)


def test_a_task_in_two_languages_shows_where_the_language_changes(ui: UI) -> None:
    """Issue 13 item 4: the task option decodes each window in its own language; the transcript marks
    the phrase where the language changes (the English licence, then the German one from ~30 s)."""
    audio = repo_audio("multilingual.mp3")
    with ui.http() as http, open(audio, "rb") as fh:
        assert http.post("/api/v1/upload", files={"file": (audio.name, fh)}).status_code == 200
    page = ui.open("/")
    files = page.locator("#files-list .file").filter(has_text=audio.name)
    expect(files.first).to_be_visible()
    before = page.locator(".task").count()
    page.locator("#task-options summary").click()
    multilingual = page.locator("#opt-multilingual")
    expect(multilingual.locator("option").first).to_have_text("Как в настройках (Нет: один язык на файл)")
    page.locator("#opt-language").fill("de")
    multilingual.select_option("true")
    page.locator("#opt-model").fill("base")
    files.first.locator("[data-action=create]").click()
    expect(page.locator("#opt-multilingual-error")).to_contain_text("choose one")
    page.locator("#opt-language").fill("")
    files.first.locator("[data-action=create]").click()
    expect(page.locator(".task")).to_have_count(before + 1)
    newest = page.locator(".task").first
    task_id = newest.get_attribute("data-task-id")
    expect(newest).to_have_attribute("data-status", "COMPLETED", timeout=DONE)
    with ui.http() as http:
        phrases = http.get(f"/api/v1/tasks/{task_id}").json()["results"]["phrases"]
    changes = [
        p for i, p in enumerate(phrases) if p["language"] != (phrases[i - 1]["language"] if i else "en")
    ]
    assert [p["language"] for p in changes] == ["de"], phrases
    page = ui.open(f"/#/task/{task_id}")
    expect(page.locator("#tx-phrases button.phrase")).to_have_count(len(phrases))
    badges = page.locator("#tx-phrases .lang")
    expect(badges).to_have_count(1)
    expect(badges).to_have_text("de")
    index = phrases.index(changes[0])
    expect(page.locator("#tx-phrases button.phrase").nth(index).locator(".lang")).to_have_count(1)
    ui.shot(page, "06-transcript-languages")
    assert not ui.errors


def test_settings_saved_kept_after_reload_and_hard_reset(ui: UI) -> None:
    page = ui.open("/#/settings")
    fields = page.locator(".setting")
    expect(fields).to_have_count(len(KEYS))  # every WHISPER_* setting the server knows
    beam = page.locator("#set-WHISPER_BEAM")
    expect(beam).to_have_value("5")
    default = page.locator(".setting[data-key=WHISPER_BEAM] .setting-default")
    expect(default).to_contain_text("По умолчанию: 5")
    expect(page.locator(".setting[data-key=WHISPER_DEVICE] .help")).to_contain_text("процессор")

    page.locator("#set-WHISPER_LANGUAGE").fill("xx")
    page.locator("#settings-save").click()
    error = page.locator("#set-WHISPER_LANGUAGE-error")
    expect(error).to_contain_text("unknown language code")
    expect(page.locator("#set-WHISPER_LANGUAGE")).to_be_focused()
    ui.shot(page, "09-settings-invalid")

    page.locator("#set-WHISPER_LANGUAGE").fill("en")
    beam.fill("3")
    page.locator("#settings-save").click()
    expect(page.locator("#settings-status")).to_have_text("Сохранено.")
    page.reload()
    expect(page.locator("#set-WHISPER_BEAM")).to_have_value("3")
    expect(page.locator("#set-WHISPER_LANGUAGE")).to_have_value("en")
    with ui.http() as http:
        assert http.get("/api/v1/settings").json()["WHISPER_BEAM"] == 3
        pending = http.get("/health").json()["queue"]["pending"]
    ui.shot(page, "10-settings")

    for key in ("WHISPER_BEAM", "WHISPER_LANGUAGE"):
        page.locator(f".setting[data-key={key}] .btn.link").click()
    page.locator("#settings-save").click()
    expect(page.locator("#settings-status")).to_have_text("Сохранено.")
    with ui.http() as http:
        assert http.get("/api/v1/settings").json()["WHISPER_BEAM"] == 5

    page.locator("#reset-button").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Будет отменено задач в очереди: {pending}")
    ui.shot(page, "11-reset-confirm", full_page=False)
    page.locator("#confirm-cancel").click()
    expect(dialog).to_be_hidden()
    page.locator("#reset-button").click()
    page.locator("#confirm-ok").click()
    expect(page.locator("#reset-status")).to_contain_text("Сброс выполнен")


def test_settings_that_cannot_work_show_why_and_a_fallback_is_announced(
    ui: UI, models_dir: Path, tmp_path: Path
) -> None:
    page = ui.open("/#/settings")
    expect(page.locator(".setting")).to_have_count(len(KEYS))
    page.locator("#set-WHISPER_MODEL").fill("large-v3")
    page.locator("#settings-save").click()
    error = page.locator("#set-WHISPER_MODEL-error")
    expect(error).to_contain_text("WHISPER_MODEL=large-v3: this model is not on this server")
    expect(error).to_contain_text("transcriber models prepare large-v3")
    expect(page.locator("#settings-status")).to_have_text("Исправьте отмеченное поле.")
    ui.shot(page, "09b-settings-unusable")

    # A damaged model folder passes the check (its files are there) and fails only when loading.
    folder = models_dir / f"damaged-{tmp_path.name}"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"this is not a model")
    (folder / "config.json").write_text("{}", encoding="utf-8")
    notice = page.locator("#settings-fallback")
    try:
        page.locator("#set-WHISPER_MODEL").fill(folder.name)
        page.locator("#settings-save").click()
        expect(page.locator("#settings-status")).to_contain_text("Сохранено.")
        expect(notice).to_be_visible(timeout=DONE)
        expect(notice).to_contain_text("задачи выполняются с моделью tiny.en")
        expect(notice).to_contain_text(f"WHISPER_MODEL={folder.name} cannot be loaded")
        expect(page.locator("#health-text")).to_contain_text("запасные настройки модели")
        ui.shot(page, "09c-settings-fallback")
        page.locator("[data-lang=en]").click()
        expect(notice).to_contain_text("so tasks run with the model tiny.en")
        page.locator("[data-lang=ru]").click()
    finally:
        with ui.http() as http:
            assert http.post("/api/v1/settings", json={"WHISPER_MODEL": None}).status_code == 200
        for child in folder.iterdir():
            child.unlink()
        folder.rmdir()
    expect(notice).to_be_hidden(timeout=DONE)
    expect(page.locator("#health-text")).not_to_contain_text("запасные")


def test_the_workers_list_shows_each_worker_and_drops_a_long_silent_one(ui: UI, speech_file: Path) -> None:
    """The service's own worker and one on another machine (its record written into the service's
    database, as a remote worker would): host, state, model, device, task, last heartbeat; once the
    remote one has been silent for TRANSCRIBE_WORKER__FORGET_AFTER_SECONDS it leaves the list."""
    task_id = completed_task(ui, speech_file)
    engine = create_db_engine(f"sqlite:///{ui.server.data_dir / 'transcriber.db'}")
    store = SqlTaskStore(engine)
    try:
        store.register_worker("gpu-box-7-w0", pid=7, host="gpu-box")
        store.update_worker(
            "gpu-box-7-w0", state=WorkerState.BUSY, model="large-v3", device="cuda", compute_type="float16",
            current_task_id=task_id,
        )  # fmt: skip
        page = ui.open("/#/settings")
        rows = page.locator("#workers-rows tr")
        expect(rows).to_have_count(2)
        remote = page.locator('#workers-rows tr[data-worker="gpu-box-7-w0"]')
        expect(remote).to_contain_text("gpu-box")
        expect(remote).to_contain_text("работает")
        expect(remote).to_contain_text("large-v3")
        expect(remote).to_contain_text("GPU · float16")
        expect(remote.locator("a")).to_have_attribute("href", f"#/task/{task_id}")
        expect(remote.locator("td").last).to_contain_text("с назад")
        local = page.locator("#workers-rows tr").filter(has_text=socket.gethostname())
        expect(local).to_contain_text("tiny.en")
        expect(local).to_contain_text("готов")
        expect(page.locator("#workers-count")).to_have_text("2")
        ui.shot(page, "16-workers")
        page.locator("[data-lang=en]").click()
        expect(remote).to_contain_text("working")
        expect(page.locator("#workers-table th").nth(1)).to_have_text("Host")
        expect(remote.locator("td").last).to_contain_text("s ago")
        page.locator("[data-lang=ru]").click()

        with engine.begin() as conn:  # silent for an hour: past the default 600 s
            conn.execute(
                update(schema.workers)
                .where(schema.workers.c.id == "gpu-box-7-w0")
                .values(heartbeat_at=utcnow() - timedelta(hours=1))
            )
        expect(rows).to_have_count(1, timeout=20_000)
        expect(remote).to_have_count(0)
        wait_for(
            lambda: [w.id for w in store.list_workers() if w.id == "gpu-box-7-w0"] == [],
            timeout=60, what="the service's worker to delete the silent one's record",
        )  # fmt: skip
        narrow = ui.page(width=360, height=780)
        narrow.goto("/#/settings")
        expect(narrow.locator("#workers-rows tr")).to_have_count(1)
        assert narrow.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        store.remove_worker("gpu-box-7-w0")
        engine.dispose()


def test_theme_and_language_are_kept_after_reload(ui: UI, speech_file: Path) -> None:
    completed_task(ui, speech_file)
    page = ui.open("/")
    html = page.locator("html")
    expect(html).to_have_attribute("data-theme", "light")
    expect(html).to_have_attribute("lang", "ru")
    expect(page.locator("[data-nav=tasks]")).to_have_text("Задачи")

    page.locator("#theme-toggle").click()
    expect(html).to_have_attribute("data-theme", "dark")
    expect(page.locator("#theme-toggle")).to_have_attribute("aria-pressed", "true")
    page.locator("[data-lang=en]").click()
    expect(page.locator("[data-nav=tasks]")).to_have_text("Tasks")
    expect(page.locator("#health-text")).to_contain_text("queue")

    page.reload()
    expect(html).to_have_attribute("data-theme", "dark")
    expect(html).to_have_attribute("lang", "en")
    expect(page.locator("[data-nav=settings]")).to_have_text("Settings")
    expect(page.locator("#upload-title")).to_have_text("New transcription")
    expect(page.locator(".task .badge").first).to_have_text(
        re.compile("Completed|Cancelled|Queued|In progress|Failed")
    )
    ui.shot(page, "12-dark-english")
    page.goto("/#/settings")
    expect(page.locator(".setting[data-key=WHISPER_BEAM] label")).to_have_text("Beam size")
    ui.shot(page, "13-settings-dark-english")


def test_narrow_window_has_no_horizontal_scroll(ui: UI, speech_file: Path) -> None:
    task_id = completed_task(ui, speech_file)
    for theme in ("light", "dark"):
        page = ui.page(width=360, height=780, color_scheme=theme)
        page.goto("/")
        page.wait_for_selector(".task")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        ui.shot(page, f"14-narrow-{theme}")
        page.goto(f"/#/task/{task_id}")
        expect(page.locator("button.phrase").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        ui.shot(page, f"15-narrow-transcript-{theme}")


def test_polling_takes_over_when_the_event_stream_is_blocked(ui: UI, tone_wav: Path) -> None:
    page = ui.page()
    page.route("**/api/v1/events*", lambda route: route.abort())
    page.goto("/")
    expect(page.locator("#live-state")).to_have_attribute("data-mode", "polling")
    with ui.http() as http, open(tone_wav, "rb") as fh:
        upload = http.post("/api/v1/upload", files={"file": ("tone.wav", fh)}).json()
        task_id = http.post("/api/v1/create_task", json={"upload_id": upload["id"]}).json()["task_id"]
    expect(task_row(page, task_id)).to_have_attribute("data-status", "COMPLETED", timeout=DONE)


def test_api_key_is_asked_once_and_kept(
    browser: Any, models_dir: Path, tmp_path: Path, speech_file: Path
) -> None:
    key = "ui-test-key-0123456789"
    server = ServerProcess(tmp_path / "data", models_dir, env={"TRANSCRIBE_API_KEYS": f"ui:{key}"})
    ui = UI(server=server.start(), browser=browser)
    try:
        page = ui.page()
        page.goto("/")
        dialog = page.locator("#key-dialog")
        expect(dialog).to_be_visible()
        page.locator("#key-input").fill("not-the-right-key-000")
        page.locator("#key-save").click()
        expect(page.locator(".toast.error").first).to_contain_text("Ключ не подошёл")
        expect(dialog).to_be_hidden()  # asked once: a refused or closed prompt does not come back by itself

        page.locator("#key-button").click()
        page.locator("#key-input").fill(key)
        page.locator("#key-save").click()
        expect(dialog).to_be_hidden()
        expect(page.locator("#live-state")).to_have_attribute("data-mode", "live")
        expect(page.locator("#health-text")).to_contain_text("tiny.en")
        assert page.evaluate("localStorage.getItem('transcriber.apiKey')") == key

        choose_files(page, speech_file)  # the upload sends the key as a header
        item = page.locator(".upload").first
        expect(item).to_have_attribute("data-state", "queuedTask")
        row = task_row(page, str(item.get_attribute("data-task-id")))
        expect(row).to_have_attribute("data-status", "COMPLETED", timeout=DONE)
        row.locator("[data-action=open]").click()
        expect(page.locator("button.phrase").first).to_be_visible()
        # The player and the download links cannot send headers: the session cookie lets them in.
        page.wait_for_function("() => document.getElementById('tx-audio').readyState >= 1")
        with page.expect_download() as download:
            page.locator('#tx-exports a[data-format="txt"]').click()
        assert JFK_TEXT in words(Path(download.value.path()).read_text(encoding="utf-8"))

        page.reload()
        expect(page.locator("button.phrase").first).to_be_visible()
        expect(page.locator("#live-state")).to_have_attribute("data-mode", "live")
        expect(dialog).to_be_hidden()

        # The cookie is an opaque session, out of reach of page scripts; forgetting the key ends it.
        cookies = {c["name"]: c for c in page.context.cookies()}
        session = cookies["transcriber_session"]
        assert session["httpOnly"]
        assert session["sameSite"] == "Strict"
        assert key not in session["value"]
        assert "transcriber_session" not in page.evaluate("document.cookie")
        replay = {"Cookie": f"transcriber_session={session['value']}"}
        assert httpx.get(f"{server.url}/api/v1/tasks", headers=replay).status_code == 200
        page.locator("#key-button").click()
        page.locator("#key-forget").click()
        expect(dialog).to_be_hidden()
        page.wait_for_function("() => !localStorage.getItem('transcriber.apiKey')")
        wait_for(
            lambda: "transcriber_session" not in {c["name"] for c in page.context.cookies()},
            timeout=10,
            what="the session cookie to be deleted",
        )
        assert httpx.get(f"{server.url}/api/v1/tasks", headers=replay).status_code == 401
    finally:
        ui.close_contexts()
        server.stop()
    assert not ui.errors


def test_a_transcript_that_lost_audio_says_so(ui: UI, speech_file: Path, tmp_path: Path) -> None:
    clean = completed_task(ui, speech_file)
    damaged = tmp_path / "damaged.mp3"
    data = bytearray(repo_audio("hotwords.mp3").read_bytes())
    data[len(data) // 2 : len(data) // 2 + 8192] = bytes(8192)
    damaged.write_bytes(bytes(data))
    with ui.http() as http:
        upload = http.post("/api/v1/upload", files={"file": (damaged.name, damaged.read_bytes())}).json()
        task_id = str(http.post("/api/v1/create_task", json={"upload_id": upload["id"]}).json()["task_id"])

    def status() -> dict[str, Any]:
        with ui.http() as http:
            body: dict[str, Any] = http.get(f"/api/v1/tasks/{task_id}").json()
            return body

    wait_for(lambda: status()["status"] == "COMPLETED", timeout=DONE / 1000, what="the task to complete")
    [warning] = status()["warnings"]
    page = ui.open(f"/#/task/{task_id}")
    notice = page.locator("#tx-warnings")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("не удалось декодировать")
    expect(notice).to_contain_text(f"{warning['seconds']:.1f}".replace(".", ","))
    ui.shot(page, "16-transcript-with-lost-audio")
    page.goto(f"/#/task/{clean}")
    expect(page.locator("#tx-title")).not_to_have_text("damaged.mp3")
    expect(notice).to_be_hidden()


def test_the_bar_and_the_eta_move_while_a_task_runs(ui: UI, long_recordings: list[Path]) -> None:
    """Issue 12: the running task's bar moves in steps between the engine's checkpoints and its ETA
    is shown, read by the page from the API as it is (no page code knows about estimates)."""
    page = ui.open("/")
    choose_files(page, long_recordings[0])
    running = page.locator(".task[data-status=IN_PROGRESS]")
    expect(running).to_have_count(1, timeout=DONE)
    task_id = str(running.get_attribute("data-task-id"))
    row = task_row(page, task_id)
    values: list[float] = []
    texts: set[str] = set()
    deadline = time.monotonic() + DONE / 1000
    # one snapshot per poll: the row may turn COMPLETED (and its bar 0, hidden) between two reads
    snapshot = (
        "r => [r.dataset.status, r.querySelector('progress').value,"
        " r.querySelector('.task-progress-text').innerText]"
    )
    while time.monotonic() < deadline:
        status, value, text = row.evaluate(snapshot)
        if status != "IN_PROGRESS":
            break
        values.append(float(value))
        texts.add(text)
        page.wait_for_timeout(200)
    expect(row).to_have_attribute("data-status", "COMPLETED", timeout=DONE)
    assert values == sorted(values), f"the bar went back: {values}"
    inside = sorted({v for v in values if 0 < v < 1})
    # tiny.en reads these 90 s in a few seconds: two steps show the bar moving (tests/e2e/test_progress.py
    # counts the steps on base with the defaults)
    assert len(inside) >= 2, f"the bar took only {inside}"
    assert any("осталось" in text for text in texts), texts


def test_a_call_split_by_channel_shows_renames_and_filters_its_speakers(ui: UI) -> None:
    """Issue 14: the stereo call's two parties in their own colours; renaming one changes the phrases
    and the exports; pressing a speaker shows only their phrases."""
    audio = repo_audio("stereo_diarization.wav")
    with ui.http() as http:
        upload = http.post("/api/v1/upload", files={"file": (audio.name, audio.read_bytes())}).json()
        created = http.post(
            "/api/v1/create_task", json={"upload_id": upload["id"], "speaker_names": ",Клиент"}
        )
        task_id = str(created.json()["task_id"])

    def status() -> dict[str, Any]:
        with ui.http() as http:
            body: dict[str, Any] = http.get(f"/api/v1/tasks/{task_id}").json()
            return body

    wait_for(lambda: status()["status"] == "COMPLETED", timeout=DONE / 1000, what="the call to complete")
    phrases = status()["results"]["phrases"]
    by_speaker = {s: sum(1 for p in phrases if p["speaker"] == s) for s in ("S1", "S2")}
    assert all(by_speaker.values()), phrases  # both parties speak
    page = ui.open(f"/#/task/{task_id}")
    chips = page.locator("#tx-speakers .speaker")
    expect(chips).to_have_count(2)
    expect(chips.locator(".spk-filter")).to_have_text(["Спикер 1", "Клиент"])
    rows = page.locator("#tx-phrases button.phrase")
    expect(rows).to_have_count(len(phrases))
    expect(page.locator("#tx-phrases .who.spk-1")).to_have_count(by_speaker["S2"])
    colours = {s: rows.filter(has=page.locator(f".who.spk-{i}")).first.evaluate(
        "node => getComputedStyle(node).borderLeftColor") for i, s in enumerate(("S1", "S2"))}  # fmt: skip
    assert colours["S1"] != colours["S2"], colours

    chips.first.locator(".spk-rename").click()
    name = page.locator("#tx-speakers .spk-input")
    expect(name).to_be_focused()
    name.fill("Оператор")
    name.press("Enter")
    expect(chips.locator(".spk-filter")).to_have_text(["Оператор", "Клиент"])
    expect(page.locator("#tx-phrases .who.spk-0").first).to_have_text("Оператор:")
    with ui.http() as http:
        txt = http.get(f"/export/{task_id}.txt").text
    assert "Оператор: " in txt
    assert "Клиент: " in txt

    chips.nth(1).locator(".spk-filter").click()  # only the client
    expect(chips.nth(1).locator(".spk-filter")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#tx-phrases li:not([hidden])")).to_have_count(by_speaker["S2"])
    expect(page.locator("#tx-count")).to_have_text(f"Найдено: {by_speaker['S2']} из {len(phrases)}")
    ui.shot(page, "17-call-speakers")
    chips.nth(1).locator(".spk-filter").click()  # everyone again
    expect(page.locator("#tx-phrases li:not([hidden])")).to_have_count(len(phrases))

    chips.first.locator(".spk-rename").click()
    page.locator("#tx-speakers .spk-input").fill("x" * 100 + "y")  # maxlength keeps it to 100
    page.locator("#tx-speakers .spk-input").press("Escape")
    expect(chips.locator(".spk-filter")).to_have_text(["Оператор", "Клиент"])
    assert not ui.errors


def test_a_tasks_webhook_attempts_show_and_it_can_be_sent_again(ui: UI) -> None:
    """Issue 15: a finished task's notification, refused by its receiver, shows the attempt and its
    answer; "send again" delivers it with the same webhook-id."""
    receiver = Receiver(statuses=[503])
    try:
        audio = repo_audio("jfk.flac")
        with ui.http() as http:
            upload = http.post("/api/v1/upload", files={"file": (audio.name, audio.read_bytes())}).json()
            created = http.post(
                "/api/v1/create_task", json={"upload_id": upload["id"], "callback_url": receiver.url}
            )
            task_id = str(created.json()["task_id"])
        receiver.wait_for(1, timeout=DONE / 1000)
        page = ui.open(f"/#/task/{task_id}")
        panel = page.locator("#tx-webhooks")
        expect(panel).to_be_visible(timeout=DONE)
        expect(panel.locator("summary")).to_have_text("Уведомления (вебхуки): 1")
        delivery = panel.locator(".delivery")
        expect(delivery.locator("strong")).to_have_text("task.completed")
        expect(delivery.locator(".wh-state")).to_contain_text("не доставлено, следующая попытка")
        expect(delivery.locator(".attempts li")).to_have_count(1)
        expect(delivery.locator(".attempts li").first).to_contain_text("HTTP 503")
        delivery.get_by_role("button", name="Отправить снова").click()
        expect(delivery.locator(".wh-state")).to_have_text(re.compile(r"^доставлено "), timeout=DONE)
        expect(panel.locator(".delivery.delivered")).to_have_count(1)
        expect(delivery.locator(".attempts li").nth(1)).to_contain_text("HTTP 204")
        ui.shot(page, "task-webhooks")
        first, second = receiver.wait_for(2)
        assert first.headers["webhook-id"] == second.headers["webhook-id"]
        event = standardwebhooks.Webhook(WEBHOOK_SECRET).verify(second.body, second.headers)
        assert event["data"]["task_id"] == task_id
    finally:
        receiver.close()
