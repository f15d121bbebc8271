"""Exports of a completed task: TXT, SRT, VTT, JSON, UTF-8, named after the uploaded file."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from transcriber.api.deps import StoreDep
from transcriber.api.schemas import ERROR_RESPONSES
from transcriber.errors import NotFound
from transcriber.exporters import FORMATS, content_disposition, export_filename
from transcriber.service import tasks

router = APIRouter(tags=["export"], responses=ERROR_RESPONSES)


@router.get(
    "/export/{task_id}.{fmt}",
    response_class=Response,
    responses={200: {"content": {f.media_type.split(";")[0]: {} for f in FORMATS.values()}}},
)
def export(task_id: str, fmt: str, store: StoreDep) -> Response:
    """The transcript as `txt`, `srt`, `vtt` or `json` (with `task_id`, `language`, `duration`,
    `text`, `phrases`, `warnings`: e.g. audio that could not be decoded). 409 until the task is COMPLETED."""
    export_format = FORMATS.get(fmt.lower())
    if export_format is None:
        raise NotFound(f"unknown export format {fmt!r}; use one of: {', '.join(FORMATS)}")
    transcript = tasks.transcript(store=store, task_id=task_id)
    filename = export_filename(transcript.source_name, transcript.task_id, export_format.name)
    return Response(
        content=export_format.render(transcript).encode("utf-8"),
        media_type=export_format.media_type,
        headers={"Content-Disposition": content_disposition(filename)},
    )
