"""The web UI: ``/`` serves the page, ``/static`` its assets, and uploads are playable in the browser.

The UI is plain HTML, CSS and JavaScript modules from the package's ``static`` folder: no build step and
nothing loaded from another host, so it works on a machine without internet access.
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

from transcriber.api.deps import StorageDep, StoreDep
from transcriber.api.schemas import ERROR_RESPONSES
from transcriber.service import uploads

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"

# The browser must get an audio type it recognises; the system's mime.types may lack some of these.
AUDIO_TYPES = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "oga": "audio/ogg",
    "opus": "audio/ogg",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "wma": "audio/x-ms-wma",
    "amr": "audio/amr",
    "webm": "audio/webm",
    "mp4": "video/mp4",
    "mkv": "video/x-matroska",
    "mov": "video/quicktime",
    "avi": "video/x-msvideo",
}


# Explicit, because a system's MIME table can be wrong (Windows may map .js to text/plain, and the
# browser then refuses to run the module).
ASSET_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json; charset=utf-8",
}


class StaticAssets(StaticFiles):
    """Static files that the browser revalidates (ETag), so an upgraded service is picked up at once."""

    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        media_type = ASSET_TYPES.get(Path(full_path).suffix.lower())
        if media_type and response.status_code != 304:
            response.headers["content-type"] = media_type
        response.headers["cache-control"] = "no-cache"
        return response


def media_type_of(stored_name: str) -> str:
    ext = stored_name.rsplit(".", 1)[-1].lower() if "." in stored_name else ""
    return AUDIO_TYPES.get(ext) or mimetypes.guess_type(stored_name)[0] or "application/octet-stream"


router = APIRouter()
router.mount("/static", StaticAssets(directory=STATIC_DIR), name="static")


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    return FileResponse(
        STATIC_DIR / "index.html",
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )


@router.get(
    "/api/v1/uploads/{upload_id}/audio",
    tags=["uploads"],
    response_class=FileResponse,
    responses={
        **ERROR_RESPONSES,
        200: {"content": {"audio/*": {}}, "description": "The file"},
        206: {"content": {"audio/*": {}}, "description": "Part of the file (a `Range` request)"},
    },
)
def upload_audio(upload_id: str, store: StoreDep, storage: StorageDep) -> FileResponse:
    """The uploaded file itself, for playback; supports HTTP `Range` (seeking in a player)."""
    record, path = uploads.upload_file(store=store, storage=storage, upload_id=upload_id)
    return FileResponse(
        path,
        media_type=media_type_of(record.stored_name),
        filename=record.original_name,
        content_disposition_type="inline",
    )
