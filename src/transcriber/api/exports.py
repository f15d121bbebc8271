"""Exports of a completed task: TXT, SRT, VTT, JSON, UTF-8, named after the uploaded file."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from transcriber.api.deps import StoreDep
from transcriber.api.schemas import ERROR_RESPONSES
from transcriber.errors import NotFound
from transcriber.exporters import FORMATS, content_disposition, export_filename
from transcriber.service import tasks
from transcriber.subtitles import DEFAULT_RULES, RULE_RANGES, SubtitleRules

router = APIRouter(tags=["export"], responses=ERROR_RESPONSES)


def _rule(name: str, description: str) -> Any:
    """A subtitle rule's query parameter: its range is documented here and checked by ``SubtitleRules``
    (whose 422 names the range, where FastAPI's own check would name one bound)."""
    low, high = RULE_RANGES[name]
    return Query(
        description=f"{description} ({low:g} to {high:g}; SRT and VTT only)",
        json_schema_extra={"minimum": low, "maximum": high},
    )


MaxLineChars = Annotated[int, _rule("max_line_chars", "Characters on one subtitle line")]
MaxLines = Annotated[int, _rule("max_lines", "Lines in one subtitle")]
MaxCueSeconds = Annotated[float, _rule("max_cue_seconds", "Longest time one subtitle stays on screen")]
MaxCps = Annotated[float, _rule("max_cps", "Reading speed in characters per second, kept where pauses allow")]


@router.get(
    "/export/{task_id}.{fmt}",
    response_class=Response,
    responses={200: {"content": {f.media_type.split(";")[0]: {} for f in FORMATS.values()}}},
)
def export(
    task_id: str,
    fmt: str,
    store: StoreDep,
    max_line_chars: MaxLineChars = DEFAULT_RULES.max_line_chars,
    max_lines: MaxLines = DEFAULT_RULES.max_lines,
    max_cue_seconds: MaxCueSeconds = DEFAULT_RULES.max_cue_seconds,
    max_cps: MaxCps = DEFAULT_RULES.max_cps,
) -> Response:
    """The transcript as `txt`, `srt`, `vtt` or `json` (with `task_id`, `language`, `duration`,
    `text`, `phrases`, `warnings`: e.g. audio that could not be decoded). 409 until the task is COMPLETED.
    SRT and VTT cues keep the subtitle rules given by the query parameters; TXT is one line per phrase."""
    rules = SubtitleRules(
        max_line_chars=max_line_chars, max_lines=max_lines, max_cue_seconds=max_cue_seconds, max_cps=max_cps
    )
    export_format = FORMATS.get(fmt.lower())
    if export_format is None:
        raise NotFound(f"unknown export format {fmt!r}; use one of: {', '.join(FORMATS)}")
    transcript = tasks.transcript(store=store, task_id=task_id)
    filename = export_filename(transcript.source_name, transcript.task_id, export_format.name)
    return Response(
        content=export_format.render(transcript, rules=rules).encode("utf-8"),
        media_type=export_format.media_type,
        headers={"Content-Disposition": content_disposition(filename)},
    )
