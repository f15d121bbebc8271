"""Saved recognition settings and the model generation that tells workers to reload."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from transcriber import schema as t
from transcriber.store.base import StoreBase
from transcriber.store.wakeups import Wake, wake_workers

_STATE_ROW = t.recognition_state.c.id == 1


class SettingsStore(StoreBase):
    def get_settings(self) -> dict[str, Any]:
        with self._read() as conn:
            rows = conn.execute(select(t.settings.c.key, t.settings.c.value)).all()
        return {key: json.loads(value) for key, value in rows}

    def save_settings(self, changes: Mapping[str, Any | None], *, bump_model: bool) -> None:
        """Write setting overrides (``None`` deletes one) and, if asked, bump the model generation."""
        with self._write() as conn:
            for key, value in changes.items():
                conn.execute(delete(t.settings).where(t.settings.c.key == key))
                if value is not None:
                    conn.execute(insert(t.settings).values(key=key, value=json.dumps(value)))
            if bump_model:
                self._bump_generation(conn)

    def bump_model_generation(self) -> int:
        with self._write() as conn:
            return self._bump_generation(conn)

    @staticmethod
    def _bump_generation(conn: Connection) -> int:
        wake_workers(conn, Wake.SETTINGS)  # idle workers load the new model before the next task comes
        new = conn.execute(
            update(t.recognition_state)
            .where(_STATE_ROW)
            .values(model_generation=t.recognition_state.c.model_generation + 1)
            .returning(t.recognition_state.c.model_generation)
        ).scalar()
        if new is None:  # the row is missing: start the count
            conn.execute(insert(t.recognition_state).values(id=1, model_generation=1))
            new = 1
        return int(new)

    def model_generation(self) -> int:
        with self._read() as conn:
            value = conn.execute(select(t.recognition_state.c.model_generation).where(_STATE_ROW)).scalar()
        return int(value) if value is not None else 0
