"""Liveness and readiness: worker state, loaded model and device, queue depth."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from transcriber.api.deps import StoreDep, WorkerSettingsDep
from transcriber.api.responses import UTF8JSONResponse
from transcriber.api.schemas import ERROR_RESPONSES
from transcriber.service.health import health_report

router = APIRouter(tags=["health"], responses=ERROR_RESPONSES)


def _visible(report: dict[str, Any], request: Request) -> dict[str, Any]:
    """Without a valid key (when keys are configured) only liveness and readiness are shown."""
    if getattr(request.state, "authenticated", True):
        return report
    return {"status": report["status"], "ready": report["ready"]}


@router.get("/health")
def health(store: StoreDep, worker_settings: WorkerSettingsDep, request: Request) -> dict[str, Any]:
    """Always 200 while the API is up; `ready` tells whether a worker has a model loaded.
    `settings_fallback` is null, or, while the saved model, device or compute type cannot be loaded
    and tasks run with settings that load, `{reason, in_force: {model, device, compute_type}, worker}`.
    Details (model, device, workers, queue) need an API key when keys are configured."""
    return _visible(health_report(store=store, worker_settings=worker_settings), request)


@router.get("/health/ready", responses={503: {"description": "No worker is ready to transcribe"}})
def ready(store: StoreDep, worker_settings: WorkerSettingsDep, request: Request) -> UTF8JSONResponse:
    """200 when a worker is ready to transcribe, else 503 (for load balancers and scripts)."""
    report = health_report(store=store, worker_settings=worker_settings)
    return UTF8JSONResponse(_visible(report, request), status_code=200 if report["ready"] else 503)
