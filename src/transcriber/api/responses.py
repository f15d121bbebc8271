"""Response classes: JSON that declares its charset (1C reads the body as UTF-8 only when told)."""

from __future__ import annotations

from fastapi.responses import JSONResponse


class UTF8JSONResponse(JSONResponse):
    media_type = "application/json; charset=utf-8"
