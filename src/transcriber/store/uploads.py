"""Uploaded files' records."""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select, update

from transcriber import schema as t
from transcriber.clock import utcnow
from transcriber.errors import Conflict, NotFound
from transcriber.store.base import StoreBase
from transcriber.store.records import UploadRecord, upload_record


class UploadStore(StoreBase):
    def add_upload(
        self,
        *,
        upload_id: str,
        original_name: str,
        stored_name: str,
        size: int,
        duration: float | None,
        format: str | None,
        sha256: str | None,
    ) -> UploadRecord:
        record = UploadRecord(
            id=upload_id,
            original_name=original_name,
            stored_name=stored_name,
            size=size,
            duration=duration,
            format=format,
            sha256=sha256,
            created_at=utcnow(),
        )
        with self._write() as conn:
            conn.execute(insert(t.uploads).values(**{f: getattr(record, f) for f in record.__slots__}))
        return record

    def get_upload(self, upload_id: str) -> UploadRecord | None:
        with self._read() as conn:
            row = conn.execute(select(t.uploads).where(t.uploads.c.id == upload_id)).mappings().first()
        return upload_record(row) if row else None

    def record_upload_sha256(self, upload_id: str, sha256: str) -> None:
        """Keep the checksum of an upload recorded without one (computed once, when first needed); a
        checksum already recorded is never replaced."""
        with self._write() as conn:
            conn.execute(
                update(t.uploads)
                .where(t.uploads.c.id == upload_id, t.uploads.c.sha256.is_(None))
                .values(sha256=sha256)
            )

    def find_upload_by_stored_name(self, stored_name: str) -> UploadRecord | None:
        with self._read() as conn:
            row = (
                conn.execute(select(t.uploads).where(t.uploads.c.stored_name == stored_name))
                .mappings()
                .first()
            )
        return upload_record(row) if row else None

    def list_uploads(self, *, limit: int = 1000, offset: int = 0) -> list[UploadRecord]:
        query = (
            select(t.uploads)
            .order_by(t.uploads.c.created_at.desc(), t.uploads.c.id)
            .limit(limit)
            .offset(offset)
        )
        with self._read() as conn:
            return [upload_record(r) for r in conn.execute(query).mappings()]

    def delete_upload(self, upload_id: str) -> UploadRecord:
        """Remove an upload's record if no task uses it; the caller removes the file."""
        with self._write() as conn:
            row = conn.execute(select(t.uploads).where(t.uploads.c.id == upload_id)).mappings().first()
            if row is None:
                raise NotFound(f"upload {upload_id} not found")
            used = conn.execute(
                select(func.count()).select_from(t.tasks).where(t.tasks.c.upload_id == upload_id)
            ).scalar_one()
            if used:
                raise Conflict(f"upload {upload_id} is used by {used} task(s); delete those tasks first")
            conn.execute(delete(t.uploads).where(t.uploads.c.id == upload_id))
        return upload_record(row)
