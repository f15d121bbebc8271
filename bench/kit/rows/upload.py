"""The ``upload`` row of the service benchmark: a large WAV, streamed from a file, through
``/api/v1/upload_raw`` and multipart ``/api/v1/upload``, against a plain disk copy of the same bytes; and
the peak RSS growth of the serve process while it receives the file.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..audio import write_big_wav
from ..errors import BenchError
from ..memory import RssSampler, mib
from ..report import Metric, Row, at_most
from ..server import Server
from .context import Context

MiB = 1024**2
RSS_TARGET_MIB = 64.0


def disk_copy(source: Path, target: Path) -> float:
    """Copy in 1 MiB blocks and fsync, as the server writes an upload; MiB/s. The copy is removed."""
    started = time.perf_counter()
    with open(source, "rb") as src, open(target, "wb") as dst:
        while block := src.read(MiB):
            dst.write(block)
        dst.flush()
        os.fsync(dst.fileno())
    seconds = time.perf_counter() - started
    size = target.stat().st_size
    target.unlink()
    return mib(size) / seconds


class TimedFile(io.FileIO):
    """A file that notes when its last byte was read, i.e. when the client finished sending the body."""

    eof_at: float | None = None

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        if not data and self.eof_at is None:
            self.eof_at = time.perf_counter()
        return data or b""


@dataclass
class UploadRun:
    seconds: float
    body_seconds: float
    rss: RssSampler

    def mib_s(self, size: int) -> float:
        return mib(size) / self.seconds


def timed_upload(server: Server, path: Path, *, raw: bool) -> UploadRun:
    """Stream ``path`` to the server (bare body or multipart), sampling its RSS; the upload is deleted."""
    with TimedFile(path, "rb") as fh, RssSampler(server.pid) as rss:
        started = time.perf_counter()
        if raw:
            answer = server.client.post(
                "/api/v1/upload_raw", params={"name": path.name}, content=fh, timeout=1800
            )
        else:
            answer = server.client.post("/api/v1/upload", files={"file": (path.name, fh)}, timeout=1800)
        seconds = time.perf_counter() - started
    record = server.ok(answer)
    server.delete_upload(record["id"])
    if record["size"] != path.stat().st_size:
        raise BenchError(f"the server stored {record['size']} bytes of {path.stat().st_size}")
    return UploadRun(seconds, (fh.eof_at or started + seconds) - started, rss)


UPLOAD_ORDER = ("copy", "raw", "multipart", "multipart", "raw", "copy")  # symmetric: drift cancels out


def upload_sequence(server: Server, big: Path) -> tuple[list[float], dict[str, list[UploadRun]]]:
    """Disk copies (MiB/s) and uploads of each kind in ``UPLOAD_ORDER``, each after ``os.sync()`` so
    that no step pays for writing back what an earlier one left in the page cache."""
    copies: list[float] = []
    runs: dict[str, list[UploadRun]] = {"raw": [], "multipart": []}
    for step in UPLOAD_ORDER:
        if sys.platform != "win32":  # no page cache to write back there (the row needs Linux anyway)
            os.sync()
        if step == "copy":
            copies.append(disk_copy(big, big.with_name("copy.wav")))
        else:
            runs[step].append(timed_upload(server, big, raw=step == "raw"))
    return copies, runs


def upload_row(ctx: Context) -> Row:
    size = ctx.options.upload_mib * MiB
    row = Row("upload", f"upload of a {mib(size):.0f} MiB WAV, streamed from a file", "disk copy", "service")
    folder = ctx.work / "upload-file"
    folder.mkdir(exist_ok=True)
    big = folder / "big.wav"
    try:
        made = time.perf_counter()
        duration = write_big_wav(big, size)
        made = time.perf_counter() - made
        env = {
            "TRANSCRIBE_WORKER__ENABLED": "false",
            "TRANSCRIBE_LIMITS__MAX_DURATION_SECONDS": str(int(duration * 2 + 3600)),
            "TRANSCRIBE_LIMITS__MAX_UPLOAD_BYTES": str(max(2 * 1024**3, 2 * size)),
        }
        with ctx.server("upload", env) as server:
            server.wait_api()
            copies, runs = upload_sequence(server, big)
    finally:
        big.unlink(missing_ok=True)
    row.metrics = upload_metrics(size, statistics.mean(copies), runs)
    row.notes = [
        f"{size} bytes, {duration / 3600:.1f} h of 16 kHz mono PCM, written in {made:.1f} s; order "
        f"{', '.join(UPLOAD_ORDER)}, os.sync() before each; disk copies (1 MiB blocks + fsync): "
        f"{', '.join(f'{c:.0f}' for c in copies)} MiB/s, their mean is the baseline",
        *(upload_detail(kind, run, size) for kind, kind_runs in runs.items() for run in kind_runs),
        "RSS is the serve process's VmRSS sampled every 50 ms (VmHWM checked); the worker was off",
    ]
    return row


def upload_metrics(size: int, copy: float, runs: dict[str, list[UploadRun]]) -> list[Metric]:
    """Mean throughput of each kind against the mean disk copy; the largest RSS growth of each kind."""
    metrics = []
    for kind, name in (("raw", "upload_raw"), ("multipart", "upload (multipart)")):
        speed = statistics.mean(run.mib_s(size) for run in runs[kind])
        metrics.append(Metric(f"{name}, MiB/s", speed, copy, digits=1))
    for kind, name in (("raw", "upload_raw"), ("multipart", "multipart")):
        growth = max(mib(run.rss.growth) for run in runs[kind])
        metrics.append(at_most(f"{name} peak RSS growth, MiB", growth, None, RSS_TARGET_MIB, 1))
    return metrics


def upload_detail(kind: str, run: UploadRun, size: int) -> str:
    rss, tail = run.rss, run.seconds - run.body_seconds
    return (
        f"{kind:<9}: {run.mib_s(size):5.1f} MiB/s, {run.seconds:.1f} s = body sent in "
        f"{run.body_seconds:.1f} s + {tail:.1f} s after the last byte (fsync, probe, record); RSS "
        f"{mib(rss.before):.0f} -> peak {mib(rss.peak):.0f} -> {mib(rss.after):.0f} MiB "
        f"({len(rss.samples)} samples)"
    )
