"""The UI's server side without a browser: the page and its assets, upload playback, the event stream."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.conftest import Harness
from transcriber.api.ui import STATIC_DIR

PAGE_FILES = ["index.html", *sorted(p.name for p in STATIC_DIR.iterdir() if p.suffix in (".js", ".css"))]


def test_root_serves_the_page_with_local_assets_only(harness: Harness) -> None:
    response = harness.client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert '<script type="module" src="/static/app.js">' in html
    assert 'href="/static/app.css"' in html
    for name in PAGE_FILES:
        text = (STATIC_DIR / name).read_text(encoding="utf-8")
        assert not re.search(r"https?://", text), f"{name} refers to another host"


def test_page_is_ready_for_a_strict_content_security_policy() -> None:
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html)), "inline script"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert not re.search(r"\sstyle\s*=", html), "inline style"
    assert "<style" not in html


def test_static_assets_are_served_with_their_types(harness: Harness) -> None:
    script = harness.client.get("/static/app.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["cache-control"] == "no-cache"
    assert harness.client.get("/static/app.css").headers["content-type"].startswith("text/css")
    assert harness.client.get("/static/nothing-here.js").status_code == 404


def test_every_module_the_page_imports_is_served(harness: Harness) -> None:
    pending, seen = ["app.js"], set()
    while pending:
        name = pending.pop()
        seen.add(name)
        response = harness.client.get(f"/static/{name}")
        assert response.status_code == 200, name
        imports = re.findall(r'from "\./([\w.-]+\.js)"', response.text)
        pending.extend(i for i in imports if i not in seen)
    assert {"api.js", "i18n.js", "live.js", "tasks.js", "transcript.js", "settings.js"} <= seen


def test_upload_audio_is_streamed_with_range_support(harness: Harness, tone_wav: Path) -> None:
    upload = harness.upload(tone_wav, name="Звонок.wav")
    url = f"/api/v1/uploads/{upload['id']}/audio"
    whole = harness.client.get(url)
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "audio/wav"
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.content == tone_wav.read_bytes()

    part = harness.client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{tone_wav.stat().st_size}"
    assert part.content == tone_wav.read_bytes()[100:200]


def test_audio_of_an_unknown_upload_is_404(harness: Harness) -> None:
    response = harness.client.get("/api/v1/uploads/0123456789abcdef0123456789abcdef/audio")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def events(response: httpx.Response) -> Iterator[tuple[str, str]]:
    """(event, data) pairs of a text/event-stream response; comments and retry lines are skipped."""
    event, data = "message", []
    for line in response.iter_lines():
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


def test_event_stream_sends_the_task_list_and_health(harness: Harness, tone_wav: Path) -> None:
    upload = harness.upload(tone_wav)
    created = harness.client.post("/api/v1/create_task", json={"upload_id": upload["id"]}).json()
    with harness.client.stream("GET", "/api/v1/events", params={"limit": 5}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        stream = events(response)
        name, data = next(stream)
        assert name == "tasks"
        page = json.loads(data)
        assert page["limit"] == 5
        assert page["total"] == 1
        [task] = page["tasks"]
        assert task["task_id"] == created["task_id"]
        assert task["status"] == "PENDING"
        assert task["file_name"] == "tone.wav"
        assert task["results"] is None
        name, data = next(stream)
        assert name == "health"
        assert json.loads(data)["queue"]["pending"] == 1


def test_event_stream_sends_a_changed_list_again(harness: Harness, tone_wav: Path) -> None:
    upload = harness.upload(tone_wav)
    with harness.client.stream("GET", "/api/v1/events", params={"status": "PENDING"}) as response:
        stream = (pair for pair in events(response) if pair[0] == "tasks")
        assert json.loads(next(stream)[1])["tasks"] == []
        created = harness.client.post("/api/v1/create_task", json={"upload_id": upload["id"]}).json()
        [task] = json.loads(next(stream)[1])["tasks"]
        assert task["task_id"] == created["task_id"]
        harness.drain()
        assert json.loads(next(stream)[1])["tasks"] == []


def test_every_worker_state_has_a_label_in_both_languages() -> None:
    from transcriber.domain import WorkerState

    source = (Path(__file__).parents[2] / "src/transcriber/static/i18n.js").read_text(encoding="utf-8")
    for state in WorkerState:
        labels = re.findall(rf'"worker\.{state.value}": "([^"]+)"', source)
        assert len(labels) == 2, f"worker.{state.value} in RU and EN: {labels}"
        assert labels[0] != labels[1], f"worker.{state.value} is not translated: {labels}"
