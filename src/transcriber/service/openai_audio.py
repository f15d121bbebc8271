"""OpenAI's audio API over this service's queue: a form's fields become a task's options, the request
waits for its task, and the finished task is answered in OpenAI's shapes.

The task is an ordinary one: queued in order behind the others, under the same limits, kept in the
database; a client that disconnects leaves it to finish, visible in ``/api/v1/tasks``.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from transcriber.domain import TaskStatus
from transcriber.errors import InvalidSettings, StillRunning, TaskCancelled, TaskFailed
from transcriber.openai_format import DEFAULT_MODEL_ALIAS, GRANULARITIES, RESPONSE_FORMATS, Rendered, render
from transcriber.service import tasks
from transcriber.store import SqlTaskStore, TaskRecord

POLL_SECONDS = 0.25
"""How often a waiting request looks at its task (one primary-key read)."""
MAX_PROMPT_CHARS = 2000
FINISHED = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED})


@dataclass(frozen=True, slots=True)
class AudioRequest:
    """What an OpenAI audio request asks for: the task's options and the shape of the answer."""

    options: dict[str, Any]
    response_format: str
    granularities: tuple[str, ...]
    task: str
    """``transcribe`` or ``translate`` (the route)."""


def _one(fields: Mapping[str, list[str]], name: str) -> str | None:
    values = fields.get(name)
    return values[0].strip() if values else None


def parse_form(fields: Mapping[str, list[str]], *, task: str) -> AudioRequest:
    """The form's fields as OpenAI defines them (unknown ones are ignored, as OpenAI's own additions
    keep coming); :class:`InvalidSettings` names the field at fault."""
    if (_one(fields, "stream") or "false").lower() not in ("false", "0", ""):
        raise InvalidSettings("stream", "streaming answers are not supported; leave stream out or false")
    response_format = _one(fields, "response_format") or "json"
    if response_format not in RESPONSE_FORMATS:
        raise InvalidSettings("response_format", f"use one of: {', '.join(RESPONSE_FORMATS)}")
    granularities = tuple(
        fields.get("timestamp_granularities[]", []) + fields.get("timestamp_granularities", [])
    )
    unknown = sorted(set(granularities) - set(GRANULARITIES))
    if unknown:
        raise InvalidSettings("timestamp_granularities[]", f"{unknown[0]!r}: use word and/or segment")
    if granularities and response_format != "verbose_json":
        raise InvalidSettings(
            "timestamp_granularities[]", "timestamp granularities need response_format verbose_json"
        )
    temperature = _one(fields, "temperature")
    if temperature:
        try:
            value = float(temperature)
        except ValueError:
            value = math.nan
        if not 0.0 <= value <= 1.0:
            raise InvalidSettings("temperature", "a number from 0 to 1")
    options: dict[str, Any] = {"task": task}
    model = _one(fields, "model")
    if model and model != DEFAULT_MODEL_ALIAS:
        options["model"] = model
    language = _one(fields, "language")
    if language:
        options["language"] = language.lower()
    prompt = _one(fields, "prompt")
    if prompt:
        if len(prompt) > MAX_PROMPT_CHARS:
            raise InvalidSettings("prompt", f"at most {MAX_PROMPT_CHARS} characters")
        options["initial_prompt"] = prompt
    if "word" in granularities:
        options["word_timestamps"] = True
    return AudioRequest(options, response_format, tuple(dict.fromkeys(granularities)), task)


async def wait_for(
    store: SqlTaskStore,
    task_id: str,
    *,
    seconds: float,
    gone: Callable[[], Awaitable[bool]] | None = None,
) -> TaskRecord | None:
    """The task once it has finished, or None when ``seconds`` pass first (or the client is ``gone``)."""
    deadline = time.monotonic() + seconds
    while True:
        task = await run_in_threadpool(tasks.get_task, store=store, task_id=task_id)
        if task.status in FINISHED:
            return task
        if time.monotonic() >= deadline or (gone is not None and await gone()):
            return None
        await asyncio.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))


def answer(store: SqlTaskStore, task: TaskRecord | None, request: AudioRequest, task_id: str) -> Rendered:
    """The finished task in the shape asked for; a task that failed, was cancelled or is still running
    is a domain error (the route gives it OpenAI's error shape)."""
    if task is None:
        raise StillRunning(
            f"task {task_id} is not finished within the wait's limit; it goes on in the queue: "
            f"GET /api/v1/status/{task_id}"
        )
    if task.status == TaskStatus.FAILED:
        raise TaskFailed(f"task {task_id} failed: {task.error or 'no reason recorded'}")
    if task.status == TaskStatus.CANCELLED:
        raise TaskCancelled(f"task {task_id} was cancelled before it finished")
    transcript = tasks.transcript(store=store, task_id=task.id)
    return render(
        transcript,
        response_format=request.response_format,
        granularities=request.granularities,
        task=request.task,
    )
