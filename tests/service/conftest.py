"""The use cases on real parts: a SQLite store, upload storage in a temporary folder, real audio."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import repo_audio
from transcriber.config import LimitSettings, Settings
from transcriber.db import create_db_engine, migrate
from transcriber.model_catalog import ModelCatalog
from transcriber.recognition import RecognitionSettings
from transcriber.service import uploads
from transcriber.storage import UploadStorage
from transcriber.store import SqlTaskStore, UploadRecord


@dataclass
class Parts:
    store: SqlTaskStore
    storage: UploadStorage
    catalog: ModelCatalog
    limits: LimitSettings
    baseline: RecognitionSettings

    def receive(self, path: Path, *, filename: str | None = None) -> UploadRecord:
        """``path`` received as an upload would be: streamed into an incoming file, then the use case."""
        incoming = self.storage.incoming()
        incoming.write(path.read_bytes())
        incoming.close()
        return uploads.receive_upload(
            store=self.store,
            storage=self.storage,
            limits=self.limits,
            incoming=incoming,
            filename=filename or path.name,
        )


@pytest.fixture
def parts(settings: Settings) -> Iterator[Parts]:
    settings.data_dir.mkdir(parents=True)
    engine = create_db_engine(settings.resolved_database_url)
    migrate(engine)
    yield Parts(
        store=SqlTaskStore(engine),
        storage=UploadStorage(settings.uploads_dir),
        catalog=ModelCatalog(settings.models_dir),
        limits=settings.limits,
        baseline=RecognitionSettings(beam_size=3),
    )
    engine.dispose()


@pytest.fixture
def jfk() -> Path:
    return repo_audio("jfk.flac")
