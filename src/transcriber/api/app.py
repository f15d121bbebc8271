"""The application factory. The lifespan owns every resource: database, storage, worker supervisor."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import ExitStack, asynccontextmanager, suppress

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from transcriber import __version__, recognition
from transcriber.api import (
    access,
    docs,
    errors,
    events,
    exports,
    health,
    metrics,
    openai_routes,
    settings_routes,
    tasks,
    ui,
    uploads,
    webhook_routes,
    worker_routes,
)
from transcriber.api.limits import BodyLimitMiddleware
from transcriber.api.metrics import StoreCollector, build_registry, metrics_listener, store_metrics
from transcriber.api.openai_errors import OpenAIErrorMiddleware
from transcriber.api.request_metrics import RequestMetricsMiddleware, request_histogram
from transcriber.api.responses import UTF8JSONResponse
from transcriber.api.security import (
    ApiKeyMiddleware,
    FailureThrottle,
    HostOriginMiddleware,
    KeyRing,
    SecurityHeadersMiddleware,
)
from transcriber.api.state import AppState, app_state, set_app_state
from transcriber.config import Settings
from transcriber.db import create_db_engine, migrate
from transcriber.model_catalog import ModelCatalog
from transcriber.session_store import SqlSessionStore
from transcriber.storage import UploadStorage
from transcriber.store import SqlTaskStore
from transcriber.webhooks.sender import WebhookSender
from transcriber.worker.supervisor import WorkerSupervisor

log = logging.getLogger(__name__)

DESCRIPTION = """
Расшифровка аудио в текст с таймкодами (faster-whisper), очередь задач и экспорт TXT/SRT/VTT/JSON.

Speech-to-text with timestamps: upload a file, create a task, poll its status, export the result.
Errors come as `{"code": ..., "detail": ...}`.
"""


def create_app(settings: Settings, *, environ: Mapping[str, str] | None = None) -> FastAPI:
    """Build the application. ``environ`` supplies the ``WHISPER_*`` baseline (default: os.environ)."""
    baseline = recognition.from_environ(os.environ if environ is None else environ)
    inline_keys = settings.api_keys.get_secret_value() if settings.api_keys else None
    keyring = KeyRing(inline_keys, settings.api_keys_file)
    throttle = FailureThrottle()
    registry = build_registry()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_db_engine(settings.resolved_database_url)
        migrate(engine)
        store = SqlTaskStore(engine)
        storage = UploadStorage(settings.uploads_dir)
        storage.clean_incoming()
        supervisor = WorkerSupervisor(settings, store) if settings.worker.enabled else None
        set_app_state(
            app,
            AppState(
                settings=settings,
                store=store,
                storage=storage,
                catalog=ModelCatalog(settings.models_dir),
                baseline=baseline,
                sessions=SqlSessionStore(engine),
                keyring=keyring,
                throttle=throttle,
                metrics=registry,
            ),
        )
        # Closed in reverse: the worker stops, then the metrics listener, then the database.
        with ExitStack() as serving:
            serving.callback(engine.dispose)
            if settings.metrics.enabled:
                serving.enter_context(store_metrics(registry, StoreCollector(store, settings.worker)))
                serving.enter_context(metrics_listener(registry, settings.metrics.address))
            if supervisor is not None:
                supervisor.start()
                serving.callback(supervisor.stop)
            sender = WebhookSender(store, settings.webhooks) if settings.webhooks.secret is not None else None
            sending = asyncio.create_task(sender.run(), name="webhooks") if sender is not None else None
            try:
                yield
            finally:
                if sending is not None and sender is not None:
                    sending.cancel()
                    with suppress(asyncio.CancelledError):
                        await sending
                    await sender.close()

    def sessions() -> SqlSessionStore | None:
        """The web UI's sessions, once the lifespan has opened the database."""
        try:
            return app_state(app).sessions
        except LookupError:
            return None

    app = FastAPI(
        title="Transcriber",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=UTF8JSONResponse,
        docs_url=None,
        redoc_url=None,
    )
    errors.install(app)
    docs.install(app)
    # Middleware added last runs first: the latency measure sees every answer, the OpenAI routes' errors
    # are reshaped whoever made them, CORS answers preflights, then security headers wrap every answer,
    # then the Host/Origin rule, the body limits and last the key check.
    app.add_middleware(ApiKeyMiddleware, keyring=keyring, throttle=throttle, sessions=sessions)
    app.add_middleware(BodyLimitMiddleware, limits=settings.limits)
    app.add_middleware(
        HostOriginMiddleware,
        allowed_hosts=settings.allowed_hosts,
        cors_origins=settings.cors_origins,
        keyring=keyring,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-File-Name", "Idempotency-Key"],
            expose_headers=["Idempotent-Replayed", "Retry-After"],
        )
    app.add_middleware(OpenAIErrorMiddleware)
    if settings.metrics.enabled:
        app.add_middleware(RequestMetricsMiddleware, histogram=request_histogram(registry))

    routers = [
        uploads,
        tasks,
        webhook_routes,
        exports,
        settings_routes,
        health,
        events,
        ui,
        access,
        openai_routes,
        worker_routes,
    ]
    for module in [*routers, metrics] if settings.metrics.enabled else routers:
        app.include_router(module.router)
    return app
