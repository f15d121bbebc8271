"""The engine in this process, as the benchmarks load it: device and compute type pinned to what the
service under test gets, the bundled model assembled once into a shared cache (so no side pays for it
while timed), faster-whisper models loaded and warmed up as the engine loads them, and the options the
engine derives from the service's default recognition settings.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from faster_whisper import WhisperModel

from transcriber.engine import EngineModel, TailKeepingPipeline, WhisperTranscriber, decode_options
from transcriber.model_catalog import BUNDLED, ModelCatalog
from transcriber.recognition import RecognitionSettings

from .settings import COMPUTE_TYPE, CPU_THREADS, DEVICE


def prepare_model(model: str, models_dir: Path) -> None:
    """Assemble a bundled model into the shared cache now, so neither side pays for it while timed."""
    if model in BUNDLED:
        ModelCatalog(models_dir).prepare(model)


def service_options() -> dict[str, Any]:
    """The options the engine derives from ``RecognitionSettings()``, less language and beam."""
    options = decode_options(RecognitionSettings(), multilingual=True)
    del options["language"], options["beam_size"]
    return options


class Models:
    """One loaded WhisperModel (and its batched pipeline) per (model, cpu_threads)."""

    def __init__(self, models_dir: Path) -> None:
        self.catalog = ModelCatalog(models_dir)
        self.loaded: dict[tuple[str, int], tuple[WhisperModel, TailKeepingPipeline]] = {}

    def get(self, name: str, threads: int) -> tuple[WhisperModel, TailKeepingPipeline]:
        if (name, threads) not in self.loaded:
            path = self.catalog.prepare(name) if name in BUNDLED else Path(name)
            model = EngineModel(str(path), device="cpu", compute_type="int8", cpu_threads=threads)
            self.loaded[(name, threads)] = (model, TailKeepingPipeline(model))
            self._warm_up(*self.loaded[(name, threads)])
        return self.loaded[(name, threads)]

    @staticmethod
    def _warm_up(model: WhisperModel, pipeline: TailKeepingPipeline) -> None:
        silence_and_tone = np.sin(np.arange(48_000) / 10).astype("float32") * 0.1
        for run in (model.transcribe, pipeline.transcribe):
            segments, _ = run(silence_and_tone, language="en", beam_size=1)
            list(segments)


def import_seconds(runs: int = 3) -> float:
    """Median wall time of ``python -c "import faster_whisper"`` (interpreter start included)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import faster_whisper"], check=True, timeout=120)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def engine_seconds(models_dir: Path, model: str, audio: Path) -> tuple[float, float]:
    """In this process: seconds to load the model, and from ``transcribe`` to the first phrase."""
    engine = WhisperTranscriber(ModelCatalog(models_dir), cpu_threads=CPU_THREADS)
    settings = RecognitionSettings(model=model, device=DEVICE, compute_type=COMPUTE_TYPE)
    started = time.perf_counter()
    engine.load(settings)
    loaded = time.perf_counter()
    next(iter(engine.transcribe(audio, settings).phrases))
    first = time.perf_counter()
    engine.unload()
    return loaded - started, first - loaded
