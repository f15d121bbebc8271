"""Routes for workers on other machines: the audio of the task a worker runs (``transcriber worker
--server``). Behind the API keys like every ``/api/v1`` route."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from transcriber.api.deps import StorageDep, StoreDep
from transcriber.api.schemas import ERROR_RESPONSES
from transcriber.audio_transfer import AUDIO_PATH, DIGEST_HEADER, repr_digest
from transcriber.service.worker_audio import running_task_audio

router = APIRouter(tags=["workers"], responses=ERROR_RESPONSES)

CHECKSUM = {
    DIGEST_HEADER: {
        "description": "SHA-256 of the whole file (RFC 9530), also on a part: `sha-256=:<base64>:`",
        "schema": {"type": "string"},
    }
}


@router.get(
    AUDIO_PATH,
    response_class=FileResponse,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The file", "headers": CHECKSUM},
        206: {
            "content": {"application/octet-stream": {}},
            "description": "Part of the file (a `Range` request: resuming a cut download)",
            "headers": CHECKSUM,
        },
        409: {"description": "The task is not running (`task_not_running`): pending, finished or cancelled"},
        416: {"description": "The `Range` starts past the end of the file (`Content-Range: bytes */<size>`)"},
    },
)
def running_task_audio_file(task_id: str, store: StoreDep, storage: StorageDep) -> FileResponse:
    """The uploaded file of a task while a worker runs it (`IN_PROGRESS`), for a worker on another
    machine that has no access to this server's upload folder. Supports `Range` (206 with
    `Content-Range`; 416 past the end); `Content-Length` is the length sent and `Repr-Digest` the
    SHA-256 of the whole file."""
    audio = running_task_audio(store=store, storage=storage, task_id=task_id)
    return FileResponse(
        audio.path,
        media_type="application/octet-stream",
        headers={DIGEST_HEADER: repr_digest(audio.sha256)},
    )
