"""Dependency aliases for the routes: one per resource, so a route names only what it uses.

The providers are ``async`` on purpose: they only read the application's state, and a plain ``def``
would cost each request a hop through the thread pool per dependency.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from prometheus_client import CollectorRegistry

from transcriber.api.security import FailureThrottle, KeyRing
from transcriber.api.state import app_state
from transcriber.config import LimitSettings, Settings, WebhookSettings, WorkerSettings
from transcriber.model_catalog import ModelCatalog
from transcriber.recognition import RecognitionSettings
from transcriber.session_store import SqlSessionStore
from transcriber.storage import UploadStorage
from transcriber.store import SqlTaskStore


async def _store(request: Request) -> SqlTaskStore:
    return app_state(request.app).store


async def _storage(request: Request) -> UploadStorage:
    return app_state(request.app).storage


async def _catalog(request: Request) -> ModelCatalog:
    return app_state(request.app).catalog


async def _baseline(request: Request) -> RecognitionSettings:
    return app_state(request.app).baseline


async def _settings(request: Request) -> Settings:
    return app_state(request.app).settings


async def _limits(request: Request) -> LimitSettings:
    return app_state(request.app).settings.limits


async def _worker_settings(request: Request) -> WorkerSettings:
    return app_state(request.app).settings.worker


async def _webhook_settings(request: Request) -> WebhookSettings:
    return app_state(request.app).settings.webhooks


async def _sessions(request: Request) -> SqlSessionStore:
    return app_state(request.app).sessions


async def _keyring(request: Request) -> KeyRing:
    return app_state(request.app).keyring


async def _throttle(request: Request) -> FailureThrottle:
    return app_state(request.app).throttle


async def _metrics(request: Request) -> CollectorRegistry:
    return app_state(request.app).metrics


StoreDep = Annotated[SqlTaskStore, Depends(_store)]
StorageDep = Annotated[UploadStorage, Depends(_storage)]
CatalogDep = Annotated[ModelCatalog, Depends(_catalog)]
BaselineDep = Annotated[RecognitionSettings, Depends(_baseline)]
"""Recognition settings below the saved ones (defaults under the ``WHISPER_*`` environment)."""
SettingsDep = Annotated[Settings, Depends(_settings)]
LimitsDep = Annotated[LimitSettings, Depends(_limits)]
WorkerSettingsDep = Annotated[WorkerSettings, Depends(_worker_settings)]
WebhookSettingsDep = Annotated[WebhookSettings, Depends(_webhook_settings)]
SessionsDep = Annotated[SqlSessionStore, Depends(_sessions)]
KeyringDep = Annotated[KeyRing, Depends(_keyring)]
ThrottleDep = Annotated[FailureThrottle, Depends(_throttle)]
MetricsDep = Annotated[CollectorRegistry, Depends(_metrics)]
"""The application's Prometheus registry."""
