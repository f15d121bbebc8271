"""Reading an engine's phrases in a thread of their own, handed to the worker in bursts.

faster-whisper yields a decoding window's phrases together once the window is decoded, and the last
one tells how far decoding has got (the first lags by most of a window, which made the ETA about 30 %
too long). Reading them in another thread also lets the worker notice a cancel or a shutdown while a
long stretch decodes without a phrase; the decoding step under way cannot be interrupted, so the worker
still waits for it to end before the model is used again.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator

from transcriber.domain import Phrase

BURST_SECONDS = 0.02
"""How long to wait after a phrase for the rest of its burst (they come microseconds apart)."""


class PhraseReader:
    """Pulls a run's phrases in a thread of its own and hands them to the worker thread in bursts."""

    def __init__(self, phrases: Iterator[Phrase]) -> None:
        self._phrases = phrases
        # Phrase, the decoder's exception, or None at the end; never bounded, so the decoder never waits.
        self._queue: queue.Queue[Phrase | BaseException | None] = queue.Queue()
        self._stop = threading.Event()
        self._ended = False
        self._thread = threading.Thread(target=self._run, name="decoder", daemon=True)
        self._thread.start()

    def next_burst(self, timeout: float) -> list[Phrase] | None:
        """The phrases decoded since the last call ([] if none came within ``timeout``), or None once
        all have been read; raises what the decoder raised."""
        if self._ended:
            return None
        try:
            items = [self._queue.get(timeout=timeout)]
        except queue.Empty:
            return []
        if isinstance(items[0], Phrase):
            time.sleep(BURST_SECONDS)
            while not self._queue.empty():  # this thread is the only reader
                items.append(self._queue.get_nowait())
        burst: list[Phrase] = []
        for item in items:
            if isinstance(item, BaseException):
                raise item
            if item is None:
                self._ended = True
                return burst or None
            burst.append(item)
        return burst

    def stop(self) -> None:
        """Stop at the next phrase: a decoding step under way cannot be interrupted."""
        self._stop.set()

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the decoder to end; True once it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            for phrase in self._phrases:
                self._queue.put(phrase)
                if self._stop.is_set():
                    break
            close = getattr(self._phrases, "close", None)
            if close is not None:
                close()  # a generator stopped early lets go of the model now, not when collected
        except BaseException as exc:  # noqa: BLE001 - re-raised in the worker thread, which fails the task
            self._queue.put(exc)
        finally:
            self._queue.put(None)
