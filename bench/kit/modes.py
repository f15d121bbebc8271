"""Decoding modes of faster-whisper and their timed runs on speech sets (``bench/decoding.py``).

A ``Mode`` is sequential (``WhisperModel.transcribe``) or batched (the engine's ``TailKeepingPipeline``)
with a beam and, batched, a batch size and ``without_timestamps``; a ``Config`` is a (model,
cpu_threads, mode) with every run measured for it and the cores other processes used meanwhile.
``measure`` runs every configuration ``runs`` times in alternating order, then re-runs the noisiest.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from .engine import Models, service_options
from .load import DISTURBED_CORES, ForeignLoad
from .speech import SpeechSet
from .wer import WordErrors, word_errors

NOISY_SPREAD = 1.25  # a configuration whose slowest run is 25 % slower than its fastest gets one more


@dataclass(frozen=True)
class Mode:
    name: str
    batched: bool
    beam: int
    batch_size: int = 0
    without_timestamps: bool = False

    def options(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"beam_size": self.beam, "without_timestamps": self.without_timestamps}
        if self.batched:
            extra["batch_size"] = self.batch_size
        return extra


def all_modes(batch_sizes: list[int]) -> list[Mode]:
    modes = [Mode(f"seq beam{b}", False, b) for b in (8, 5, 1)]
    for size in batch_sizes:
        for beam in (5, 1):
            for no_ts in (True, False):
                name = f"batch{size} beam{beam} {'no-ts' if no_ts else 'ts'}"
                modes.append(Mode(name, True, beam, size, no_ts))
    return modes


@dataclass
class SetResult:
    seconds: float
    text: str
    phrases: list[tuple[float, float]]
    language: str | None


@dataclass
class Config:
    """One (model, cpu_threads, mode) and everything measured for it."""

    model: str
    threads: int
    mode: Mode
    runs: list[dict[str, SetResult]] = field(default_factory=list)
    foreign: list[float] = field(default_factory=list)  # cores used by other processes, per run

    @property
    def key(self) -> str:
        return f"{self.model} t{self.threads} {self.mode.name}"

    def total(self, run: dict[str, SetResult]) -> float:
        return sum(r.seconds for r in run.values())

    @property
    def quiet_runs(self) -> list[dict[str, SetResult]]:
        """The runs during which other processes stayed under ``DISTURBED_CORES`` (all, if none did)."""
        quiet = [run for run, cores in zip(self.runs, self.foreign, strict=True) if cores <= DISTURBED_CORES]
        return quiet or self.runs

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.total(run) for run in self.quiet_runs)

    @property
    def spread(self) -> float:
        totals = [self.total(run) for run in self.runs]
        return max(totals) / min(totals)

    def errors(self, sets: list[SpeechSet]) -> dict[str, WordErrors]:
        first = self.runs[0]
        return {s.name: word_errors(s.reference, first[s.name].text) for s in sets if s.name in first}

    @property
    def other_cores(self) -> float:
        return statistics.median(self.foreign) if self.foreign else 0.0

    @property
    def stable_text(self) -> bool:
        return all(run[n].text == self.runs[0][n].text for run in self.runs for n in run)


def run_once(models: Models, config: Config, sets: list[SpeechSet]) -> dict[str, SetResult]:
    model, pipeline = models.get(config.model, config.threads)
    transcribe = pipeline.transcribe if config.mode.batched else model.transcribe
    english_only = not model.model.is_multilingual
    out: dict[str, SetResult] = {}
    for s in sets:
        if english_only and s.language not in (None, "en"):
            continue
        options = service_options() | config.mode.options()
        options["language"] = "en" if english_only else s.language
        started = time.perf_counter()
        segments, info = transcribe(str(s.path), **options)
        phrases = [(float(g.start), float(g.end), g.text.strip()) for g in segments]
        seconds = time.perf_counter() - started
        text = " ".join(p[2] for p in phrases)
        out[s.name] = SetResult(seconds, text, [(a, b) for a, b, _ in phrases], info.language)
    return out


def timed_run(models: Models, config: Config, sets: list[SpeechSet], label: str) -> None:
    with ForeignLoad() as load:
        config.runs.append(run_once(models, config, sets))
    config.foreign.append(load.cores)
    mark = "  DISTURBED" if load.disturbed else ""
    seconds = config.total(config.runs[-1])
    print(f"  {label} {config.key:<30} {seconds:7.2f} s  others {load.cores:.2f} cores{mark}", flush=True)


def measure(models: Models, configs: list[Config], sets: list[SpeechSet], runs: int, reruns: int) -> None:
    """``runs`` passes, alternately forward and backward; then one more run of the noisiest configs."""
    total = len(configs)
    for number in range(runs):
        order = configs if number % 2 == 0 else list(reversed(configs))
        for index, config in enumerate(order, start=1):
            timed_run(models, config, sets, f"run {number + 1} [{index:>2}/{total}]")
    for config in sorted(configs, key=noisiness, reverse=True)[:reruns]:
        if noisiness(config) > (0.0, NOISY_SPREAD):
            timed_run(models, config, sets, f"re-run (spread {config.spread:.2f})")


def noisiness(config: Config) -> tuple[float, float]:
    """Configurations with no quiet run first (most disturbed first), then by spread of the runs."""
    quiet = any(cores <= DISTURBED_CORES for cores in config.foreign)
    return (0.0 if quiet else min(config.foreign), config.spread)
