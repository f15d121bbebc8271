"""The web UI: ``/`` serves the page, ``/static`` its assets (an upload's audio is in ``uploads``).

The UI is plain HTML, CSS and JavaScript modules from the package's ``static`` folder: no build step and
nothing loaded from another host, so it works on a machine without internet access.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"

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


router = APIRouter()
router.mount("/static", StaticAssets(directory=STATIC_DIR), name="static")


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    return FileResponse(
        STATIC_DIR / "index.html",
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )
