"""Domain exceptions. Each has a stable machine-readable ``code``; the API maps them to HTTP in one place."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error the service reports to a client."""

    code = "error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(ServiceError):
    """The request is well-formed but a value in it is not acceptable."""

    code = "invalid_input"


class InvalidSettings(InvalidInput):
    """A recognition setting has an invalid value; ``key`` names it."""

    code = "invalid_setting"

    def __init__(self, key: str, detail: str) -> None:
        super().__init__(f"{key}: {detail}")
        self.key = key


class SettingUnusable(InvalidSettings):
    """A setting is valid in itself but cannot work on this server (no GPU, a model that is not here);
    the message reads ``KEY=value: why, and what to do``."""

    code = "setting_unusable"

    def __init__(self, key: str, value: object, detail: str) -> None:
        ServiceError.__init__(self, f"{key}={value}: {detail}")
        self.key = key


class InvalidSubtitleRules(InvalidSettings):
    """A subtitle rule of an export (``max_line_chars``, ...) is outside its range; ``key`` names it.

    A kind of invalid setting, so it answers 422 with the ``key`` like the recognition settings do.
    """

    code = "invalid_subtitle_rule"


class InvalidSpeaker(InvalidInput):
    """A speaker's id the task does not have, or a name that cannot be one."""

    code = "invalid_speaker"


class PathOutsideStorage(InvalidInput):
    """A client named a file that is not inside our own upload storage."""

    code = "path_outside_storage"


class EmptyUpload(InvalidInput):
    code = "empty_file"


class UnsupportedMedia(ServiceError):
    """The content is not audio we can decode (or carries no audio stream)."""

    code = "unsupported_media"


class AudioTooDense(UnsupportedMedia):
    """The audio has more samples per second (rate × channels) than the decode budget allows."""

    code = "audio_too_dense"


class NotFound(ServiceError):
    code = "not_found"


class Conflict(ServiceError):
    """The request conflicts with the current state (e.g. deleting a running task)."""

    code = "conflict"


class TaskNotRunning(Conflict):
    """A task's audio was asked for a worker while no worker runs the task (pending, finished, cancelled)."""

    code = "task_not_running"


class ModelUnavailable(ServiceError):
    """The configured model cannot be loaded; the message says how to provide it."""

    code = "model_unavailable"


class TooLarge(ServiceError):
    """The upload is over the configured size limit."""

    code = "too_large"


class RecordingTooLong(TooLarge):
    """The recording is longer than the configured limit (found at upload, or while decoding it)."""


class RequestTimeout(ServiceError):
    """The client stopped sending the request body."""

    code = "request_timeout"


class BadRequest(ServiceError):
    """The request itself is malformed (e.g. not multipart, no ``file`` field)."""

    code = "bad_request"


class Unauthorized(ServiceError):
    """No valid API key."""

    code = "unauthorized"


class QueueFull(ServiceError):
    """Too many pending tasks; ``retry_after`` seconds is a fair time to try again."""

    code = "queue_full"

    def __init__(self, detail: str, retry_after: int = 30) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class InsufficientStorage(ServiceError):
    """The disk has no room for an upload."""

    code = "insufficient_storage"


class TaskFailed(ServiceError):
    """A task a client waits for (the OpenAI-compatible endpoints) failed; ``detail`` is its error."""

    code = "task_failed"


class TaskCancelled(Conflict):
    """A task a client waits for was cancelled before it finished."""

    code = "task_cancelled"


class StillRunning(ServiceError):
    """A task a client waits for is not finished within the wait's limit; it goes on in the queue."""

    code = "still_running"


class InvalidIdempotencyKey(BadRequest):
    """An ``Idempotency-Key`` header that is empty, too long or not printable ASCII."""

    code = "invalid_idempotency_key"


class IdempotencyKeyInProgress(Conflict):
    """Another request with the same ``Idempotency-Key`` is still running; retry after ``retry_after`` s."""

    code = "idempotency_key_in_progress"

    def __init__(self, detail: str, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class IdempotencyKeyReused(ServiceError):
    """An ``Idempotency-Key`` already answered a different request (another route, file or parameters)."""

    code = "idempotency_key_reused"
