"""Measuring a freshly loaded model's speed on a bundled clip, so the first task has an ETA.

Batched decoding is faster per second of audio the more chunks a batch holds (on 2 CPU cores a batch
of 8 is about 1.4x sequential decoding, a batch of one chunk is slower than either): an 11 s clip
decoded alone would tell a speed 2-2.5x too slow for the batches a real task fills. So in batched
mode the clip is repeated, with a pause after each repetition, until the VAD makes about
``BATCH_CHUNKS`` chunks of it (two repetitions fit a 30 s chunk), and that file is timed.
"""

from __future__ import annotations

import logging
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from transcriber.decoding import SAMPLE_RATE, pcm_blocks
from transcriber.recognition import RecognitionSettings
from transcriber.store import SqlTaskStore
from transcriber.transcription import LoadedModel, Transcriber

log = logging.getLogger(__name__)

CLIP = Path(__file__).parents[1] / "data" / "calibration.mp3"
"""11 s of speech (licence: ``data/SOURCES.md``)."""
BATCH_CHUNKS = 4
"""Chunks the calibration fills in batched mode (at most the batch size): close to what a call of a
few minutes fills, for 10-15 s of calibration with ``base`` on 2 cores."""
PAUSE_SECONDS = 1.5
"""Silence after each repetition: longer than the VAD's default minimum silence, so chunks end there."""


def calibrate_unmeasured(
    store: SqlTaskStore, transcriber: Transcriber, settings: RecognitionSettings, loaded: LoadedModel
) -> None:
    """Measure the loaded model's speed on the bundled clip unless this machine already knows it
    (from completed tasks or an earlier calibration). A failure only costs the first ETA."""
    key = {"device": loaded.device, "compute_type": loaded.compute_type}
    if store.measured_speed(loaded.name, **key) is not None:
        return
    try:
        audio, wall = measure(transcriber, settings)
    except Exception as exc:  # noqa: BLE001 - the model loaded; a task will show what is wrong
        log.warning("calibrating %s on %s failed: %s", loaded.name, loaded.device, exc)
        return
    if audio > 0 and wall > 0:
        store.record_calibration(loaded.name, audio_seconds=audio, wall_seconds=wall, **key)
        log.info("calibrated %s on %s: %.1fx real time", loaded.name, loaded.device, audio / wall)


def measure(transcriber: Transcriber, settings: RecognitionSettings) -> tuple[float, float]:
    """(audio seconds, wall seconds) of transcribing the calibration audio with ``settings`` and the
    loaded model. The prompt is left out: it is the user's text, not the clip's."""
    clip_settings = settings.model_copy(update={"initial_prompt": ""})
    with tempfile.TemporaryDirectory(prefix="transcriber-calibration-") as tmp:
        audio = calibration_audio(Path(tmp), repetitions(settings))
        started = time.monotonic()
        # the clip is repeated on purpose: its windows are not loops to decode again
        run = transcriber.transcribe(audio, clip_settings, guard_loops=False)
        for _ in run.phrases:
            pass
        return run.duration, time.monotonic() - started


def repetitions(settings: RecognitionSettings) -> int:
    """How many times the clip is played: once for sequential decoding, else enough for the chunks."""
    if settings.batch_size <= 1 or settings.vad_min_silence_ms <= 0:
        return 1
    return 2 * min(settings.batch_size, BATCH_CHUNKS)


def calibration_audio(folder: Path, times: int) -> Path:
    """The clip, or a 16 kHz mono WAV of it played ``times`` times with a pause after each."""
    if times <= 1:
        return CLIP
    clip = np.concatenate(list(pcm_blocks(CLIP)))
    pause = np.zeros(int(PAUSE_SECONDS * SAMPLE_RATE), dtype=np.int16)
    path = folder / "calibration.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        for _ in range(times):
            out.writeframes(clip.astype(np.int16).tobytes())
            out.writeframes(pause.tobytes())
    return path
