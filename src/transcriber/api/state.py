"""The application's state: what the lifespan opened and the factory built, typed, on ``app.state``.

Routes never take the whole state: each names the resources it uses through the aliases in
:mod:`transcriber.api.deps`. Tests reach the state of an app they started with :func:`app_state`.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette

from transcriber.api.security import FailureThrottle, KeyRing
from transcriber.config import Settings
from transcriber.model_catalog import ModelCatalog
from transcriber.recognition import RecognitionSettings
from transcriber.session_store import SqlSessionStore
from transcriber.storage import UploadStorage
from transcriber.store import SqlTaskStore

ATTRIBUTE = "transcriber"
"""The name of the state on ``app.state``."""


@dataclass(frozen=True)
class AppState:
    """Built once by the lifespan; the objects in it live as long as the application runs. (The
    worker supervisor is the lifespan's own: no route uses it.)"""

    settings: Settings
    store: SqlTaskStore
    storage: UploadStorage
    catalog: ModelCatalog
    baseline: RecognitionSettings
    """The recognition settings below the saved ones: built-in defaults under the ``WHISPER_*``
    environment."""
    sessions: SqlSessionStore
    keyring: KeyRing
    throttle: FailureThrottle
    metrics: CollectorRegistry
    """The application's Prometheus registry (``GET /metrics`` and the separate listener)."""


def set_app_state(app: Starlette, state: AppState) -> None:
    setattr(app.state, ATTRIBUTE, state)


def app_state(app: Starlette) -> AppState:
    """The state of a running application; :class:`LookupError` before its lifespan has started."""
    state = getattr(app.state, ATTRIBUTE, None)
    if not isinstance(state, AppState):
        raise LookupError("the application has not started: its lifespan builds the state")
    return state
