"""The workers as clients see them, and the health report (``/health`` and the web UI's stream)."""

from __future__ import annotations

from typing import Any

from transcriber import __version__
from transcriber.clock import utcnow
from transcriber.config import WorkerSettings
from transcriber.domain import READY, TaskStatus, WorkerState
from transcriber.store import SqlTaskStore


def worker_rows(*, store: SqlTaskStore, worker_settings: WorkerSettings) -> list[dict[str, Any]]:
    """Each worker as /health shows it; one whose heartbeat is stale is ``unresponsive``, one silent for
    ``forget_after_seconds`` is not shown (the next sweep of a live worker deletes its record)."""
    stale = worker_settings.stale_after_seconds
    now = utcnow()
    workers = []
    for w in store.list_workers():
        age = (now - w.heartbeat_at).total_seconds()
        if age > worker_settings.forget_after_seconds:
            continue
        workers.append(
            {
                "id": w.id,
                "pid": w.pid,
                "host": w.host,
                "state": w.state if age <= stale else WorkerState.UNRESPONSIVE,
                "model": w.model,
                "device": w.device,
                "compute_type": w.compute_type,
                "error": w.error,
                "current_task_id": w.current_task_id,
                "started_at": w.started_at.isoformat(),
                "heartbeat_at": w.heartbeat_at.isoformat(),
                "heartbeat_age_seconds": round(age, 1),
            }
        )
    return workers


def health_report(*, store: SqlTaskStore, worker_settings: WorkerSettings) -> dict[str, Any]:
    counts = store.count_by_status()
    workers = worker_rows(store=store, worker_settings=worker_settings)
    ready = any(w["state"] in READY for w in workers)
    main = next((w for w in workers if w["state"] in READY), workers[0] if workers else None)
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
        if w["state"] in READY and w["error"]:
            in_force = {"model": w["model"], "device": w["device"], "compute_type": w["compute_type"]}
            return {"reason": w["error"], "in_force": in_force, "worker": w["id"]}
    return None


def fallback_in_force(*, store: SqlTaskStore, worker_settings: WorkerSettings) -> dict[str, Any] | None:
    """:func:`settings_fallback` of the workers as they are now (without the rest of the report)."""
    return settings_fallback(worker_rows(store=store, worker_settings=worker_settings))
