"""The command line: ``serve``, ``worker``, ``transcribe FILE`` and ``models``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pydantic import ValidationError

from transcriber import __version__, recognition
from transcriber.config import Settings, WorkerSettings
from transcriber.errors import InvalidInput

if TYPE_CHECKING:
    from transcriber.recognition import Device
    from transcriber.store import SqlTaskStore
    from transcriber.worker.audio import AudioSource

log = logging.getLogger("transcriber")


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s",
    )


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in ("host", "port", "data_dir", "database_url", "log_level"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    settings = Settings(**overrides)
    if getattr(args, "no_worker", False):
        settings.worker.enabled = False
    remote = {
        "server_url": getattr(args, "server", None),
        "storage_dir": getattr(args, "storage", None),
        "device": getattr(args, "device", None) if getattr(args, "command", None) == "worker" else None,
        "models": getattr(args, "models", None),
    }
    if any(value is not None for value in remote.values()):
        given = {name: value for name, value in remote.items() if value is not None}
        try:
            settings.worker = WorkerSettings.model_validate(settings.worker.model_dump() | given)
        except ValidationError as exc:
            raise InvalidInput("; ".join(str(e["msg"]) for e in exc.errors())) from None
    return settings


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _warn_about_exposure(settings: Settings) -> None:
    keys = bool(settings.api_keys and settings.api_keys.get_secret_value().strip()) or bool(
        settings.api_keys_file
    )
    if keys:
        log.info("API keys are required for the API, exports and the web UI's data")
    elif settings.host in LOOPBACK:
        log.info(
            "no API keys configured: listening on this machine only (%s); to serve other machines set "
            "TRANSCRIBE_API_KEYS and --host 0.0.0.0",
            settings.host,
        )
    else:
        log.warning(
            "listening on %s WITHOUT API keys: anyone who can reach port %d can upload files and read "
            "transcripts. Set TRANSCRIBE_API_KEYS (or TRANSCRIBE_API_KEYS_FILE) to require a key.",
            settings.host,
            settings.port,
        )
    metrics = settings.metrics.address if settings.metrics.enabled else None
    if metrics is not None and metrics[0] not in LOOPBACK:
        log.warning(
            "metrics WITHOUT a key on %s (TRANSCRIBE_METRICS__BIND): host names, models and the amount of "
            "work are visible to anyone who can reach port %d; allow only the monitoring network to it",
            settings.metrics.bind,
            metrics[1],
        )


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from transcriber.api import create_app
    from transcriber.api.limits import timed_h11_protocol
    from transcriber.datadir import DataDirLock, check_database, open_database

    settings = _settings(args)
    _setup_logging(settings.log_level)
    lock = DataDirLock(settings.data_dir).acquire()  # before anything touches the folder
    check_database(settings)
    open_database(settings.resolved_database_url)
    app = create_app(settings)
    _warn_about_exposure(settings)
    log.info(
        "serving on http://%s:%d (data in %s); API docs at /docs, health at /health",
        settings.host,
        settings.port,
        settings.data_dir.resolve(),
    )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=5,  # open event streams (the web UI) must not hold up a shutdown
        http=timed_h11_protocol(settings.limits.header_timeout_seconds),
    )
    lock.release()
    return 0


def _audio_source(settings: Settings, store: SqlTaskStore) -> AudioSource:
    """Where the worker reads tasks' audio: the API over HTTP (``--server``), the API host's upload
    folder mounted here (``--storage``), or this machine's own ``<data_dir>/uploads``."""
    from transcriber.storage import UploadStorage
    from transcriber.worker.audio import StoredAudio
    from transcriber.worker.fetch import RemoteAudio

    worker = settings.worker
    if worker.server_url and worker.storage_dir:
        raise InvalidInput("give the worker either --server or --storage, not both")
    if worker.server_url:
        key = worker.api_key.get_secret_value().strip() if worker.api_key else ""
        if not key:
            log.warning(
                "no TRANSCRIBE_WORKER__API_KEY: %s will refuse the worker if it has keys", worker.server_url
            )
        audio = RemoteAudio(
            server_url=worker.server_url, api_key=key or None, cache_dir=settings.data_dir / "fetched"
        )
        removed = audio.remove_stale(store)
        log.info(
            "tasks' audio from %s (cache %s; %d stale copies removed)",
            worker.server_url,
            audio.cache_dir,
            removed,
        )
        return audio
    if worker.storage_dir is not None:
        if not worker.storage_dir.is_dir():
            raise InvalidInput(
                f"--storage {worker.storage_dir}: no such folder (the API host's uploads folder)"
            )
        log.info("tasks' audio from the shared folder %s", worker.storage_dir)
        return StoredAudio(UploadStorage(worker.storage_dir))
    return StoredAudio(UploadStorage(settings.uploads_dir))


def cmd_worker(args: argparse.Namespace) -> int:
    from transcriber.db import create_db_engine, migrate
    from transcriber.decoding import DecodeLimits
    from transcriber.engine import WhisperTranscriber
    from transcriber.model_catalog import ModelCatalog
    from transcriber.store import SqlTaskStore
    from transcriber.worker import Worker
    from transcriber.worker.supervisor import pid_alive

    settings = _settings(args)
    _setup_logging(settings.log_level)
    stop = threading.Event()

    def _on_signal(signum: int, _frame: Any) -> None:
        log.info("signal %d: finishing", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    parent = args.parent_pid

    def should_stop() -> bool:
        if parent and not pid_alive(parent):
            log.warning("the service process %d is gone; worker stops", parent)
            stop.set()
        return stop.is_set()

    if settings.worker.nice and hasattr(os, "nice"):
        os.nice(settings.worker.nice)  # before the engine starts its threads, so they inherit it
    try:
        device, device_index = settings.worker.pinned_device(os.environ)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # a worker on another machine may start afresh
    engine = create_db_engine(settings.resolved_database_url)
    migrate(engine)
    store = SqlTaskStore(engine)
    worker = Worker(
        store=store,
        audio=_audio_source(settings, store),
        transcriber=WhisperTranscriber(
            ModelCatalog(settings.models_dir),
            cpu_threads=settings.worker.cpu_threads,
            limits=DecodeLimits.of(settings.limits),
            device_index=device_index,
        ),
        base_settings=recognition.from_environ(os.environ),
        settings=settings.worker,
        worker_id=args.worker_id,
        should_stop=should_stop,
        device=cast("Device | None", device),
    )
    log.info("worker %s started", worker.id)
    worker.run_forever()
    store.remove_worker(worker.id)
    return 0


def cmd_transcribe(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from transcriber import media
    from transcriber.domain import Transcript
    from transcriber.engine import WhisperTranscriber
    from transcriber.exporters import FORMATS
    from transcriber.model_catalog import ModelCatalog

    settings = _settings(args)
    _setup_logging("warning")
    source = Path(args.file)
    if not source.is_file():
        print(f"error: no such file: {source}", file=sys.stderr)
        return 2
    media.probe(source)
    overrides = {
        "WHISPER_MODEL": args.model,
        "WHISPER_LANGUAGE": args.language,
        "WHISPER_DEVICE": args.device,
        "WHISPER_BEAM": args.beam_size,
        "WHISPER_TASK": args.task,
    }
    options = recognition.layered(base=recognition.from_environ(os.environ), task=overrides)
    engine = WhisperTranscriber(ModelCatalog(settings.models_dir), cpu_threads=settings.worker.cpu_threads)
    loaded = engine.load(options)
    print(f"model {loaded.name} on {loaded.device} ({loaded.compute_type})", file=sys.stderr)
    run = engine.transcribe(source, options)
    phrases = []
    with tqdm(total=round(run.duration, 1), unit="s", file=sys.stderr, desc=source.name) as bar:
        for phrase in run.phrases:
            phrases.append(phrase)
            bar.update(round(min(phrase.end, run.duration) - bar.n, 1))
        bar.update(round(run.duration - bar.n, 1))
    transcript = Transcript(
        task_id="-", language=run.language, duration=run.duration, phrases=phrases, source_name=source.name
    )
    text = FORMATS[args.format].render(transcript)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        output = Path(args.output) if args.output else source.with_suffix(f".{args.format}")
        output.write_text(text, encoding="utf-8")
        print(f"written {output}", file=sys.stderr)
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from transcriber.model_catalog import BUNDLED, ModelCatalog

    settings = _settings(args)
    _setup_logging("info")
    catalog = ModelCatalog(settings.models_dir)
    if args.action == "list":
        for row in catalog.available():
            print(f"{row['name']:<12} {row['state']:<14} {row['description']}")
        print(f"\nmodel cache: {catalog.models_dir}")
        return 0
    if args.name in BUNDLED:
        print(catalog.prepare(args.name))
        return 0
    from transcriber.engine import download_model

    print(download_model(args.name, catalog.models_dir))
    return 0


def cmd_webhook_secret(_args: argparse.Namespace) -> int:
    from transcriber.webhooks.signing import new_secret

    print(new_secret())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="transcriber", description="Self-hosted speech-to-text service")
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data-dir", type=Path, help="data folder (TRANSCRIBE_DATA_DIR; default ./data)")
        p.add_argument("--database-url", help="SQLAlchemy URL (TRANSCRIBE_DATABASE_URL; default SQLite)")
        p.add_argument("--log-level", help="debug, info, warning, error")

    serve = sub.add_parser("serve", help="run the API, the web UI and a supervised worker")
    common(serve)
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.add_argument("--no-worker", action="store_true", help="do not start a worker process")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run a worker alone (e.g. a second one on the same database)")
    common(worker)
    worker.add_argument(
        "--server",
        help="the API to fetch tasks' audio from over HTTP, for a worker on another machine "
        "(TRANSCRIBE_WORKER__SERVER_URL; its key: TRANSCRIBE_WORKER__API_KEY)",
    )
    worker.add_argument(
        "--storage",
        type=Path,
        help="the API host's uploads folder mounted here (TRANSCRIBE_WORKER__STORAGE_DIR)",
    )
    worker.add_argument(
        "--device",
        help="this worker's device whatever the settings say: cpu, cuda, cuda:N (the N-th GPU), auto "
        "(TRANSCRIBE_WORKER__DEVICE; the GPU's number alone: WHISPER_DEVICE_INDEX)",
    )
    worker.add_argument(
        "--models",
        help="the models this worker may run, comma-separated; the first runs tasks that name none "
        "(TRANSCRIBE_WORKER__MODELS; empty: any)",
    )
    worker.add_argument("--worker-id", help=argparse.SUPPRESS)
    worker.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)
    worker.set_defaults(func=cmd_worker)

    transcribe = sub.add_parser("transcribe", help="transcribe one file now, with a progress bar")
    common(transcribe)
    transcribe.add_argument("file", help="audio or video file")
    transcribe.add_argument("--format", "-f", choices=["txt", "srt", "vtt", "json"], default="txt")
    transcribe.add_argument("--output", "-o", help="output file (default: next to the input; - for stdout)")
    transcribe.add_argument("--model", "-m", help="model name or folder (default: WHISPER_MODEL or base)")
    transcribe.add_argument("--language", "-l", help="language code, e.g. ru; default: detect")
    transcribe.add_argument("--device", choices=["auto", "cpu", "cuda"])
    transcribe.add_argument("--beam-size", type=int)
    transcribe.add_argument("--task", choices=["transcribe", "translate"])
    transcribe.set_defaults(func=cmd_transcribe)

    models = sub.add_parser("models", help="list offline models, or prepare one")
    models_sub = models.add_subparsers(dest="action", required=True)
    common(models_sub.add_parser("list", help="models available without internet"))
    prepare = models_sub.add_parser("prepare", help="assemble a bundled model or download one")
    common(prepare)
    prepare.add_argument("name")
    models.set_defaults(func=cmd_models)

    secret = sub.add_parser(
        "webhook-secret", help="print a new signing secret for TRANSCRIBE_WEBHOOKS__SECRET (whsec_...)"
    )
    secret.set_defaults(func=cmd_webhook_secret)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from transcriber.errors import ServiceError

    try:
        code: int = args.func(args)
    except ServiceError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    return code
