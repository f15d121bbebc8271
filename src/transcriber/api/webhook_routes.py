"""A task's webhook deliveries (each attempt: when, the receiver's answer, how long) and redelivery."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from transcriber.api.deps import StoreDep, WebhookSettingsDep
from transcriber.api.schemas import ERROR_RESPONSES
from transcriber.service import webhooks
from transcriber.store import Delivery

router = APIRouter(tags=["webhooks"], responses=ERROR_RESPONSES)


class AttemptOut(BaseModel):
    number: int
    at: datetime
    status: int | None = Field(description="The receiver's HTTP status; null when no answer came")
    error: str | None = Field(description="What went wrong (or the start of a refusing answer)")
    duration_ms: int


class DeliveryOut(BaseModel):
    id: str = Field(description="The webhook-id header: the same on every attempt")
    event: str = Field(description="task.completed, task.failed or task.cancelled")
    url: str
    state: str = Field(description="pending (to be sent at next_attempt_at), delivered, failed (gave up)")
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    history: list[AttemptOut]


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]


def delivery_out(d: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        event=d.event,
        url=d.url,
        state=d.state,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at if d.state == "pending" else None,
        last_status=d.last_status,
        last_error=d.last_error,
        created_at=d.created_at,
        delivered_at=d.delivered_at,
        history=[AttemptOut.model_validate(a, from_attributes=True) for a in d.history],
    )


@router.get("/api/v1/tasks/{task_id}/webhooks", response_model=DeliveryList)
def list_deliveries(task_id: str, store: StoreDep) -> DeliveryList:
    """The task's webhook deliveries, oldest first, with every attempt."""
    return DeliveryList(
        deliveries=[delivery_out(d) for d in webhooks.deliveries(store=store, task_id=task_id)]
    )


@router.post("/api/v1/tasks/{task_id}/webhooks/{delivery_id}/redeliver", response_model=DeliveryOut)
def redeliver(task_id: str, delivery_id: str, store: StoreDep, settings: WebhookSettingsDep) -> DeliveryOut:
    """Send the delivery again now (same webhook-id and body), whatever became of it; retried as a new
    event would be if the receiver does not accept it."""
    return delivery_out(
        webhooks.redeliver(store=store, settings=settings, task_id=task_id, delivery_id=delivery_id)
    )
