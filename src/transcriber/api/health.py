"""Liveness and readiness: worker state, loaded model and device, queue depth."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from transcriber import __version__
from transcriber.api.deps import StoreDep, WorkerSettingsDep
from transcriber.api.responses import UTF8JSONResponse
from transcriber.api.schemas import ERROR_RESPONSES
from transcriber.clock import utcnow
from transcriber.config import WorkerSettings
from transcriber.domain import TaskStatus
from transcriber.store import SqlTaskStore

router = APIRouter(tags=["health"], responses=ERROR_RESPONSES)

READY_STATES = ("idle", "busy")


def worker_rows(*, store: SqlTaskStore, worker: WorkerSettings) -> list[dict[str, Any]]:
    """Each worker as /health shows it; one whose heartbeat is stale is ``unresponsive``."""
    stale = worker.stale_after_seconds
    now = utcnow()
    workers = []
    for w in store.list_workers():
        age = (now - w.heartbeat_at).total_seconds()
        workers.append(
            {
                "id": w.id,
                "pid": w.pid,
                "host": w.host,
                "state": w.state if age <= stale else "unresponsive",
                "model": w.model,
                "device": w.device,
                "compute_type": w.compute_type,
                "error": w.error,
                "current_task_id": w.current_task_id,
                "heartbeat_age_seconds": round(age, 1),
            }
        )
    return workers


def health_report(*, store: SqlTaskStore, worker: WorkerSettings) -> dict[str, Any]:
    counts = store.count_by_status()
    workers = worker_rows(store=store, worker=worker)
    ready = any(w["state"] in READY_STATES for w in workers)
    main = next((w for w in workers if w["state"] in READY_STATES), workers[0] if workers else None)
    return {
        "status": "ok",
        "ready": ready,
        "version": __version__,
        "model": main["model"] if main else None,
        "device": main["device"] if main else None,
        "settings_fallback": settings_fallback(workers),
        "worker": main,
        "workers": workers,
        "queue": {
            "pending": counts[TaskStatus.PENDING],
            "in_progress": counts[TaskStatus.IN_PROGRESS],
        },
    }


def settings_fallback(workers: list[dict[str, Any]]) -> dict[str, Any] | None:
    """None while the ready workers run with the saved settings. Else ``reason``: which saved model,
    device or compute type cannot be loaded, why, and what to do; ``in_force``: the model, device and
    compute type tasks run with instead; ``worker``: the worker that says so. (A ready worker keeps
    this reason in its ``error``; see ``fallback``.)"""
    for w in workers:
        if w["state"] in READY_STATES and w["error"]:
            in_force = {"model": w["model"], "device": w["device"], "compute_type": w["compute_type"]}
            return {"reason": w["error"], "in_force": in_force, "worker": w["id"]}
    return None


def _visible(report: dict[str, Any], request: Request) -> dict[str, Any]:
    """Without a valid key (when keys are configured) only liveness and readiness are shown."""
    if getattr(request.state, "authenticated", True):
        return report
    return {"status": report["status"], "ready": report["ready"]}


@router.get("/health")
def health(store: StoreDep, worker: WorkerSettingsDep, request: Request) -> dict[str, Any]:
    """Always 200 while the API is up; `ready` tells whether a worker has a model loaded.
    `settings_fallback` is null, or, while the saved model, device or compute type cannot be loaded
    and tasks run with settings that load, `{reason, in_force: {model, device, compute_type}, worker}`.
    Details (model, device, workers, queue) need an API key when keys are configured."""
    return _visible(health_report(store=store, worker=worker), request)


@router.get("/health/ready", responses={503: {"description": "No worker is ready to transcribe"}})
def ready(store: StoreDep, worker: WorkerSettingsDep, request: Request) -> UTF8JSONResponse:
    """200 when a worker is ready to transcribe, else 503 (for load balancers and scripts)."""
    report = health_report(store=store, worker=worker)
    return UTF8JSONResponse(_visible(report, request), status_code=200 if report["ready"] else 503)
