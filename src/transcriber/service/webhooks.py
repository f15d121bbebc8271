"""Webhooks as a task's reader sees them: its deliveries with their attempts, and a redelivery."""

from __future__ import annotations

from datetime import timedelta

from transcriber.config import WebhookSettings
from transcriber.service.tasks import get_task
from transcriber.store import Delivery, SqlTaskStore


def deliveries(*, store: SqlTaskStore, task_id: str) -> list[Delivery]:
    """A task's webhook deliveries with their attempts (NotFound for an unknown task)."""
    get_task(store=store, task_id=task_id)
    return store.deliveries(task_id)


def redeliver(*, store: SqlTaskStore, settings: WebhookSettings, task_id: str, delivery_id: str) -> Delivery:
    """Queue a delivery again at once, with its ``webhook-id`` and body unchanged."""
    return store.redeliver(task_id, delivery_id, retry_for=timedelta(hours=settings.retry_hours))
