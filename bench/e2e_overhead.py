"""End-to-end overhead of the service over the raw engine, on the same audio, in the same run.

Baseline: ``WhisperTranscriber`` in this process (faster-whisper, cpu, int8, cpu_threads 0, the default
recognition settings), timed from the ``transcribe`` call to the last phrase; the model is loaded
beforehand, as the service preloads its own.

Service: ``python -m transcriber serve`` in a subprocess on the same model directory, timed from the
start of the upload to the first ``GET /api/v1/status/{id}`` that says COMPLETED.

The two are run alternately (raw, service, raw, service, ...) and the medians compared, so that noise
on this shared machine affects both alike. A benchmark, not a test: it exits 0 whatever the ratio.
The figures are also written to ``bench/results/e2e_overhead-<time>-<commit>.json``.

    .venv/bin/python bench/e2e_overhead.py [--audio FILE] [--minutes 3] [--model base] [--runs 2] [--json OUT]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kit.audio import audio_seconds
from kit.engine import prepare_model
from kit.errors import BenchError
from kit.report import save
from kit.server import POLL_SECONDS, Server
from kit.settings import COMPUTE_TYPE, CPU_THREADS, DEVICE
from kit.speech import build_audio
from transcriber.engine import WhisperTranscriber
from transcriber.errors import ServiceError
from transcriber.model_catalog import ModelCatalog
from transcriber.recognition import RecognitionSettings

TARGET_RATIO = 1.10


@dataclass
class RunResult:
    """One timed transcription: wall seconds and the phrase texts it produced."""

    seconds: float
    texts: list[str]
    phases: dict[str, float] = field(default_factory=dict)  # service only: upload / wait / work

    @property
    def text(self) -> str:
        return " ".join(self.texts)


# -- the raw engine -------------------------------------------------------------------------------------


class RawEngine:
    """The engine adapter in this process, exactly as the worker uses it."""

    def __init__(self, models_dir: Path, model: str) -> None:
        self.engine = WhisperTranscriber(ModelCatalog(models_dir), cpu_threads=CPU_THREADS)
        # The service's defaults, with the device pinned so both sides surely run on the same one.
        self.settings = RecognitionSettings(model=model, device=DEVICE, compute_type=COMPUTE_TYPE)

    def load(self) -> str:
        loaded = self.engine.load(self.settings)
        return f"model {loaded.name} on {loaded.device} ({loaded.compute_type})"

    def run(self, audio: Path) -> RunResult:
        started = time.perf_counter()
        transcription = self.engine.transcribe(audio, self.settings)
        texts = [phrase.text for phrase in transcription.phrases]
        return RunResult(seconds=time.perf_counter() - started, texts=texts)


# -- the service ----------------------------------------------------------------------------------------


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def service_run(server: Server, audio: Path, timeout: float) -> RunResult:
    """Upload, create a task, poll its status until COMPLETED."""
    started = time.perf_counter()
    upload = server.upload(audio)
    uploaded = time.perf_counter()
    task_id = server.create_task(upload["stored_path"])
    status = poll_completed(server, task_id, started + timeout)
    seconds = time.perf_counter() - started
    texts = [phrase["text"] for phrase in status["results"]["phrases"]]
    return RunResult(seconds=seconds, texts=texts, phases=phases(status, uploaded - started))


def poll_completed(server: Server, task_id: str, deadline: float) -> dict[str, Any]:
    while time.perf_counter() < deadline:
        status = server.status(task_id)
        if status["status"] == "COMPLETED":
            return status
        if status["status"] in ("FAILED", "CANCELLED"):
            raise BenchError(f"task {task_id} ended {status['status']}: {status.get('error')}")
        time.sleep(POLL_SECONDS)
    raise BenchError(f"task {task_id} did not complete in time; the service log:\n{server.log_tail()}")


def phases(status: dict[str, Any], upload: float) -> dict[str, float]:
    """Client-side upload time, and the server's own queue wait and worker time for the task."""
    created, begun, ended = (parse_time(status.get(k)) for k in ("created_at", "started_at", "finished_at"))
    out = {"upload": upload}
    if created and begun and ended:
        out |= {"wait": (begun - created).total_seconds(), "work": (ended - begun).total_seconds()}
    return out


# -- measuring and reporting ----------------------------------------------------------------------------


@dataclass
class Report:
    audio: str
    audio_origin: str
    audio_seconds: float
    model: str
    engine: str
    service_engine: str
    raw: list[RunResult]
    service: list[RunResult]

    @property
    def raw_median(self) -> float:
        return statistics.median(r.seconds for r in self.raw)

    @property
    def service_median(self) -> float:
        return statistics.median(r.seconds for r in self.service)

    @property
    def ratio(self) -> float:
        return self.service_median / self.raw_median

    @property
    def verdict(self) -> str:
        return "PASS" if self.ratio <= TARGET_RATIO else "MISS"

    @property
    def same_text(self) -> bool:
        return len({r.text for r in (*self.raw, *self.service)}) == 1

    def speed(self, seconds: float) -> float:
        return self.audio_seconds / seconds


def interleave(
    raw: RawEngine, service: Server, audio: Path, runs: int, duration: float
) -> tuple[list[RunResult], list[RunResult]]:
    """raw, service, raw, service, ... ``runs`` times each."""
    raw_runs: list[RunResult] = []
    service_runs: list[RunResult] = []
    for number in range(1, runs + 1):
        raw_runs.append(raw.run(audio))
        print(f"  run {number}: raw     {raw_runs[-1].seconds:7.2f} s", flush=True)
        service_runs.append(service_run(service, audio, timeout=120 + 30 * duration))
        print(f"  run {number}: service {service_runs[-1].seconds:7.2f} s", flush=True)
    return raw_runs, service_runs


def phases_text(run: RunResult) -> str:
    p = run.phases
    if "work" not in p:
        return f"upload {p['upload']:.2f}"
    return f"upload {p['upload']:.2f} / wait {p['wait']:.2f} / work {p['work']:.2f}"


def defaults_text() -> str:
    d = RecognitionSettings()
    return f"beam {d.beam_size}, VAD {d.vad_min_silence_ms} ms, language {d.language or 'auto'}"


def print_report(r: Report) -> None:
    print("\n=== end-to-end overhead: service vs raw engine (same machine, same run, interleaved) ===")
    minutes = r.audio_seconds / 60
    print(f"audio          : {r.audio}, {r.audio_seconds:.1f} s = {minutes:.2f} min ({r.audio_origin})")
    print(f"model          : {r.model}")
    print(f"raw engine     : WhisperTranscriber in-process, {r.engine}, cpu_threads {CPU_THREADS}")
    print(f"service engine : {r.service_engine}")
    print(f"settings       : RecognitionSettings() defaults on both sides ({defaults_text()})")
    print(f"\n{'run':<8}{'raw, s':>10}{'service, s':>13}   service phases, s")
    for number, (raw, svc) in enumerate(zip(r.raw, r.service, strict=True), start=1):
        print(f"{number:<8}{raw.seconds:>10.2f}{svc.seconds:>13.2f}   {phases_text(svc)}")
    print(f"{'median':<8}{r.raw_median:>10.2f}{r.service_median:>13.2f}")
    speeds = f"{r.speed(r.raw_median):>9.2f}x{r.speed(r.service_median):>12.2f}x"
    print(f"{'speed':<8}{speeds}   (x real time, from the medians)")
    print(f"\nratio service/raw: {r.ratio:.3f}   target <= {TARGET_RATIO:.2f}   {r.verdict}")
    print(f"\nphrases   : raw {len(r.raw[0].texts)}, service {len(r.service[0].texts)}")
    print(f"raw       : {r.raw[0].text[:80]!r}")
    print(f"service   : {r.service[0].text[:80]!r}")
    print(f"same text : {'yes' if r.same_text else 'no'} (all runs of both sides compared)")


def report_json(r: Report) -> dict[str, Any]:
    return {
        "audio": {"path": r.audio, "origin": r.audio_origin, "seconds": r.audio_seconds},
        "model": r.model,
        "raw_engine": r.engine,
        "service_engine": r.service_engine,
        "runs": [
            {"raw_seconds": raw.seconds, "service_seconds": svc.seconds, "service_phases": svc.phases}
            for raw, svc in zip(r.raw, r.service, strict=True)
        ],
        "raw_median_seconds": r.raw_median,
        "service_median_seconds": r.service_median,
        "raw_speed_x_realtime": r.speed(r.raw_median),
        "service_speed_x_realtime": r.speed(r.service_median),
        "ratio_service_to_raw": r.ratio,
        "target_ratio": TARGET_RATIO,
        "verdict": r.verdict,
        "phrases": {"raw": len(r.raw[0].texts), "service": len(r.service[0].texts)},
        "same_text": r.same_text,
        "raw_texts": r.raw[0].texts,
        "service_texts": r.service[0].texts,
        "note": "both measured on the same machine in the same run, alternately",
    }


# -- main -----------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--audio", type=Path, help="a recording to use (default: ~MINUTES of real speech)")
    parser.add_argument(
        "--minutes", type=float, default=3.0, help="length of the built recording (default 3)"
    )
    parser.add_argument("--model", default="base", help="model name or directory (default base)")
    parser.add_argument("--runs", type=int, default=2, help="runs of each side, interleaved (default 2)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.minutes <= 0:
        parser.error("--runs must be >= 1 and --minutes > 0")
    return args


def service_engine(health: dict[str, Any]) -> str:
    worker = health.get("worker") or {}
    model, device, compute = (worker.get(k) for k in ("model", "device", "compute_type"))
    return f"worker process of the service, model {model} on {device} ({compute})"


def measure(args: argparse.Namespace, work: Path, stack: ExitStack) -> Report:
    if args.audio:
        if not args.audio.is_file():
            raise BenchError(f"no such file: {args.audio}")
        audio, origin = args.audio.resolve(), "given with --audio"
    else:
        audio, origin = build_audio(args.minutes, work)  # in the temporary directory, removed at the end
    duration = audio_seconds(audio)
    models_dir = work / "models"
    print(f"audio: {audio} ({duration:.1f} s); preparing model {args.model} in {models_dir}", flush=True)
    prepare_model(args.model, models_dir)
    raw = RawEngine(models_dir, args.model)
    engine = raw.load()
    service = stack.enter_context(Server(work, args.model, models_dir))
    print(f"service: starting on {service.url} (log {service.log_path})", flush=True)
    health = service.wait_ready()
    print(f"measuring {args.runs} x (raw, service) ...", flush=True)
    raw_runs, service_runs = interleave(raw, service, audio, args.runs, duration)
    shown = str(audio) if args.audio else audio.name  # a built recording is removed at the end
    return Report(shown, origin, duration, args.model, engine, service_engine(health), raw_runs, service_runs)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with ExitStack() as stack:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="e2e-overhead-")))
            report = measure(args, work, stack)
    except BenchError as exc:  # SpeechError too
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ServiceError as exc:  # e.g. the model cannot be loaded
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print_report(report)
    save("e2e_overhead", report_json(report), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
