"""Browser tests: the real service with tiny.en on a free port, driven by Debian's Chromium (headless)."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest

from tests.conftest import ROOT
from tests.e2e.server import ServerProcess
from transcriber.webhooks.signing import new_secret

WEBHOOK_SECRET = new_secret()

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = ROOT / "test-artifacts" / "ui"


@dataclass
class UI:
    """The running service, a browser, and a fresh context (with its page) per call of ``page()``."""

    server: ServerProcess
    browser: Any
    contexts: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def page(self, *, width: int = 1366, height: int = 900, **options: Any) -> Any:
        options = {"color_scheme": "light", "locale": "ru-RU", **options}
        context = self.browser.new_context(
            base_url=self.server.url,
            viewport={"width": width, "height": height},
            accept_downloads=True,
            **options,
        )
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)
        return page

    def _console(self, message: Any) -> None:
        """Content Security Policy violations count as errors: the page must run under the strict policy."""
        if message.type == "error" and "Content Security Policy" in message.text:
            self.errors.append(message.text)

    def open(self, path: str = "/", **options: Any) -> Any:
        """A new page at ``path`` once the UI has started (its first task list is drawn)."""
        page = self.page(**options)
        page.goto(path)
        page.wait_for_selector("html[data-ready='true']")
        return page

    def shot(self, page: Any, name: str, *, full_page: bool = True) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)

    def http(self) -> httpx.Client:
        return self.server.client()

    def close_contexts(self) -> None:
        while self.contexts:
            self.contexts.pop().close()


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[ServerProcess]:
    # Webhooks on, to receivers on this machine only (a task names one only when a test says so).
    hooks = {
        "TRANSCRIBE_WEBHOOKS__SECRET": WEBHOOK_SECRET,
        "TRANSCRIBE_WEBHOOKS__ALLOWED_HOSTS": '["127.0.0.1"]',
    }
    server = ServerProcess(tmp_path_factory.mktemp("ui") / "data", models_dir, env=hooks).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def ui(ui_server: ServerProcess, browser: Any) -> Iterator[UI]:
    harness = UI(server=ui_server, browser=browser)
    try:
        yield harness
    finally:
        harness.close_contexts()
    assert not harness.errors, f"JavaScript errors on the page: {harness.errors}"


def repeat_speech(source: Path, target: Path, seconds: float) -> Path:
    """``source`` decoded to 16 kHz mono and repeated (with short pauses) to about ``seconds``."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
    chunks = []
    with av.open(str(source)) as container:
        for frame in container.decode(audio=0):
            chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))
    once = np.concatenate([*chunks, np.zeros(8000, dtype=np.int16)])
    data = np.tile(once, max(1, int(seconds * 16000 / len(once)) + 1))
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(data.tobytes())
    return target


@pytest.fixture(scope="module")
def long_recordings(speech_file: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two recordings of about 90 s: long enough that a third task waits in the queue."""
    folder = tmp_path_factory.mktemp("long")
    first = repeat_speech(speech_file, folder / "long-1.wav", 90)
    second = folder / "long-2.wav"
    second.write_bytes(first.read_bytes())
    return [first, second]
