"""How soon an idle worker takes a new task on PostgreSQL: polling (the baseline) against LISTEN/NOTIFY.

A throwaway PostgreSQL cluster (``tests/postgres.py``: initdb and pg_ctl from the machine's server
binaries) and one worker (``Worker.run_forever`` in a thread of this process) with an instant scripted
engine, so only the pickup is measured. Tasks are created one at a time through the store, each after the
previous one completed and a random pause (so creation falls anywhere in the poll interval); the latency of
a task is its ``started_at`` (the claim) minus its ``created_at`` (both from this process's clock). Blocks
of each mode alternate (poll, listen, listen, poll, ...), so the machine's noise falls on both sides. Both
modes poll every ``--poll`` seconds (the default ``TRANSCRIBE_WORKER__POLL_SECONDS``); ``listen`` also
waits for the store's notification. A benchmark, not a test: it exits 0 whatever the figures; they are
also written to ``bench/results/pickup_latency-<time>-<commit>.json``.

    .venv/bin/python bench/pickup_latency.py [--tasks 60] [--poll 0.5] [--quick] [--json OUT]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

from kit.errors import BenchError
from kit.paths import REPO
from kit.report import Metric, Row, at_most, print_row, save
from transcriber.config import WorkerSettings
from transcriber.db import create_db_engine, migrate
from transcriber.domain import Phrase, TaskStatus
from transcriber.recognition import RecognitionSettings
from transcriber.storage import UploadStorage
from transcriber.store import SqlTaskStore
from transcriber.worker import Worker
from transcriber.worker.wakeup import PostgresListener

sys.path.insert(0, str(REPO))  # the tests' throwaway cluster
from tests.conftest import FakeTranscriber  # the tests' scripted engine: instant, one phrase here
from tests.postgres import PostgresCluster, find_bin_dir

MODES = ("poll", "listen")
TARGET_RATIO = 0.2  # listen's median pickup at most a fifth of polling's


def silence(path: Path) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\0\0" * 16000)
    return path


def wait_until(predicate: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise BenchError(f"timed out waiting for {what}")
        time.sleep(0.002)


def block(
    store: SqlTaskStore, storage: UploadStorage, audio: Path, mode: str, tasks: int, poll: float
) -> list[float]:
    """Start a worker in ``mode``, create ``tasks`` tasks one at a time; their pickup latencies."""
    settings = WorkerSettings(enabled=False, poll_seconds=poll, listen=mode == "listen", calibrate=False)
    stop = threading.Event()
    engine = FakeTranscriber(phrases=[Phrase(0.0, 1.0, "ok")], duration=1.0, language="en")
    worker = Worker(
        store=store, storage=storage, transcriber=engine, settings=settings,
        base_settings=RecognitionSettings(model="tiny.en"), should_stop=stop.is_set,
    )  # fmt: skip
    thread = threading.Thread(target=worker.run_forever, daemon=True)
    thread.start()
    try:
        if isinstance(worker.wakeup, PostgresListener):
            wakeup = worker.wakeup
            wait_until(lambda: wakeup.connects >= 1, "the worker to listen")
        time.sleep(poll)  # past the start: the worker is idle
        latencies = []
        for _ in range(tasks):
            time.sleep(random.uniform(0.0, poll))  # anywhere in the poll interval
            task_id = store.create_task(upload_id=audio.name, options={}).id
            wait_until(lambda: completed(store, task_id), "a task")  # noqa: B023 - called in the loop
            done = store.get_task(task_id)
            assert done is not None
            assert done.started_at is not None
            latencies.append((done.started_at - done.created_at).total_seconds())
        return latencies
    finally:
        stop.set()
        thread.join(timeout=poll + 10)


def completed(store: SqlTaskStore, task_id: str) -> bool:
    task = store.get_task(task_id)
    return task is not None and task.status == TaskStatus.COMPLETED


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=60, help="tasks per mode (default 60)")
    parser.add_argument("--poll", type=float, default=0.5, help="the worker's poll interval, s (default 0.5)")
    parser.add_argument("--quick", action="store_true", help="20 tasks per mode")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    tasks = 20 if args.quick else args.tasks
    bin_dir = find_bin_dir()
    if bin_dir is None:
        print("PostgreSQL server binaries are not installed (apt-get install postgresql)")
        return 2
    started = time.perf_counter()
    cluster = PostgresCluster(bin_dir).start()
    try:
        engine = create_db_engine(cluster.new_database())
        migrate(engine)
        store = SqlTaskStore(engine)
        with tempfile.TemporaryDirectory(prefix="bench-pickup-") as tmp:
            storage = UploadStorage(Path(tmp) / "uploads")
            audio = silence(storage.path_of("silence.wav"))
            store.add_upload(
                upload_id=audio.name, original_name=audio.name, stored_name=audio.name,
                size=audio.stat().st_size, duration=1.0, format="wav", sha256=None,
            )  # fmt: skip
            seen: dict[str, list[float]] = {mode: [] for mode in MODES}
            for mode in (*MODES, *reversed(MODES)):  # two blocks of each, half the tasks each
                seen[mode] += block(store, storage, audio, mode, (tasks + 1) // 2, args.poll)
        engine.dispose()
    finally:
        cluster.stop()
    return report(seen, args, time.perf_counter() - started)


def report(seen: dict[str, list[float]], args: argparse.Namespace, seconds: float) -> int:
    poll, listen = seen["poll"], seen["listen"]
    figures = {
        mode: {
            "tasks": len(values),
            "median_ms": statistics.median(values) * 1000,
            "p95_ms": percentile(values, 0.95) * 1000,
            "max_ms": max(values) * 1000,
        }
        for mode, values in seen.items()
    }
    ratio = figures["listen"]["median_ms"] / figures["poll"]["median_ms"]
    row = Row(
        key="pickup",
        title=f"pickup latency on PostgreSQL, create -> claim (poll interval {args.poll:g} s)",
        baseline_label="poll",
        value_label="listen",
        metrics=[
            at_most(
                "median, ms",
                figures["listen"]["median_ms"],
                figures["poll"]["median_ms"],
                round(figures["poll"]["median_ms"] * TARGET_RATIO, 1),
                digits=1,
            ),
            Metric("p95, ms", figures["listen"]["p95_ms"], figures["poll"]["p95_ms"], digits=1),
            Metric("max, ms", figures["listen"]["max_ms"], figures["poll"]["max_ms"], digits=1),
        ],
        notes=[
            f"{len(poll)} tasks polled, {len(listen)} listened; target: listen median <= "
            f"{TARGET_RATIO:g} x poll median"
        ],
        seconds=seconds,
    )
    print_row(row)
    save("pickup_latency", {**figures, "ratio_median": ratio, "verdict": row.verdict}, args.json)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"ERROR: {exc}")
        sys.exit(2)
