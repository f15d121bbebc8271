"""The announcements of finished tasks: which event a final status is, and the JSON body (the task, its
outcome and where to fetch the result; not the transcript, which may be megabytes)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from transcriber.domain import TaskStatus

EVENTS = {
    TaskStatus.COMPLETED: "task.completed",
    TaskStatus.FAILED: "task.failed",
    TaskStatus.CANCELLED: "task.cancelled",
}
CALLBACK_OPTION = "callback_url"


def new_message_id() -> str:
    """A ``webhook-id``: unique per event, the same on every attempt to deliver it."""
    return "msg_" + uuid.uuid4().hex


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def payload(task: dict[str, Any], *, now: datetime) -> tuple[str, str]:
    """The event of a finished task and its body, from the task's row (``id``, ``status``, ``error``,
    ``duration``, ``language``, ``source_name``, ``created_at``, ``finished_at``)."""
    status = TaskStatus(task["status"])
    event = EVENTS[status]
    task_id = task["id"]
    data = {
        "task_id": task_id,
        "status": status.value,
        "error": task.get("error"),
        "duration": task.get("duration"),
        "language": task.get("language"),
        "source_name": task.get("source_name"),
        "created_at": _iso(task.get("created_at")),
        "finished_at": _iso(task.get("finished_at")),
        "links": {
            "status": f"/api/v1/status/{task_id}",
            "result": f"/export/{task_id}.json" if status == TaskStatus.COMPLETED else None,
        },
    }
    body = {"type": event, "timestamp": _iso(now), "data": data}
    return event, json.dumps(body, ensure_ascii=False, separators=(",", ":"))
