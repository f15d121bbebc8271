"""The resources the routes use, built by the application's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from transcriber.config import Settings
from transcriber.model_catalog import ModelCatalog
from transcriber.recognition import RecognitionSettings
from transcriber.session_store import SqlSessionStore
from transcriber.storage import UploadStorage
from transcriber.store import SqlTaskStore
from transcriber.worker.supervisor import WorkerSupervisor


@dataclass
class Services:
    """Reachable as ``app.state.services`` once the lifespan has started."""

    settings: Settings
    store: SqlTaskStore
    storage: UploadStorage
    catalog: ModelCatalog
    base_recognition: RecognitionSettings
    sessions: SqlSessionStore
    supervisor: WorkerSupervisor | None = None
