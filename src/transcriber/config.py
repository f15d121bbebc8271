"""Service settings (not recognition settings): from the command line or ``TRANSCRIBE_*`` variables.

Built once by the CLI (or a test) and handed to ``create_app``; never at import time.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from transcriber.webhooks.signing import parse_secret

DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d{1,2})?")


class WorkerSettings(BaseModel):
    """How the background worker runs."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    enabled: bool = True
    """Start a supervised worker process with ``serve`` (off: the API only; run ``worker`` elsewhere)."""

    cpu_threads: int = Field(0, ge=0, le=256)
    """CTranslate2 threads on CPU; 0: one per CPU core this process may use (CTranslate2's own
    default is 4, which oversubscribes a 2-core machine and under-uses a large server)."""

    heartbeat_seconds: float = Field(2.0, gt=0, le=60)
    """How often a worker writes its heartbeat and the running task's progress."""

    progress_seconds: float = Field(1.0, ge=0, le=60)
    """How often progress and the phrases found so far are saved while a task runs (between the
    engine's checkpoints the saved progress is an estimate that moves on at the expected speed)."""

    calibrate: bool = True
    """When a worker loads a model that no task has measured on this machine yet, it transcribes a
    bundled 11 s clip once, so that even the first task has an ETA (a second or two on CPU)."""

    stale_after_seconds: float = Field(60.0, gt=0)
    """A running task whose heartbeat is older than this is taken back and run again."""

    cancel_grace_seconds: float = Field(10.0, gt=0)
    """How long a cancelled task may keep the worker busy before the supervisor restarts the worker."""

    poll_seconds: float = Field(0.5, gt=0, le=60)
    """How often an idle worker looks for new tasks (on PostgreSQL with ``listen``: the longest it
    waits for a notification before it looks anyway)."""

    listen: bool = True
    """On PostgreSQL an idle worker waits for a notification (``LISTEN``/``NOTIFY``) and takes a new
    task at once, instead of finding it at the next poll; off: it only polls. SQLite always polls."""

    forget_after_seconds: float = Field(600.0, gt=0)
    """A worker without a heartbeat for this long is removed from the workers list (``/health``, the
    web UI); after ``stale_after_seconds`` it is already shown as not responding and its task is
    taken back."""

    nice: int = Field(10, ge=0, le=19)
    """Lower CPU priority of the worker process (POSIX nice; "below normal" on Windows when > 0), so the
    API answers quickly while a task transcribes; it only slows transcription when the CPU is contended."""

    restart_backoff_seconds: float = Field(1.0, ge=0, le=300)
    """The first pause before restarting a dead worker; it doubles on quick repeated deaths."""

    server_url: str | None = None
    """A worker on another machine (``transcriber worker --server``): the API it fetches each task's audio
    from over HTTP (``http://stt-host:8000``), into a cache under its own data folder, instead of reading
    the API host's upload folder. Empty: the audio is read from the upload folder."""

    api_key: SecretStr | None = None
    """The API key a worker with ``server_url`` sends (one of the API's ``TRANSCRIBE_API_KEYS``); needed
    when the API has keys. Never logged."""

    storage_dir: Path | None = None
    """A worker on another machine with a shared folder (``transcriber worker --storage``): the API host's
    upload folder as mounted here; tasks' audio is read from it. Empty: ``<data_dir>/uploads``."""

    device: str | None = None
    """This worker's device, whatever ``WHISPER_DEVICE`` and the saved settings say: `cpu`, `cuda`,
    `cuda:N` (the N-th GPU, counted from 0) or `auto` (``transcriber worker --device cuda:1``), so that
    several workers on one host each take their own GPU. Empty: ``WHISPER_DEVICE``, on GPU number
    ``WHISPER_DEVICE_INDEX`` (default 0)."""

    models: list[str] = []
    """The models this worker may run (``worker --models large-v3``); the first one is what it runs for
    tasks that name no model, whatever ``WHISPER_MODEL`` and the saved settings say. A task that names
    another model is left to a worker that may run it. Empty: any model, the configured one by default.
    Give at least one worker an empty list, or every model clients may ask for: a task whose model no
    worker may run waits in the queue."""

    affinity_seconds: float = Field(120.0, ge=0, le=86_400)
    """How long a task for another model than the one a worker holds waits for a worker that holds it
    before any worker that may run it takes it in turn (model affinity: no back-and-forth reloads)."""

    prefer_short_seconds: float = Field(0.0, ge=0)
    """> 0: this worker takes tasks of at most this many seconds of audio before longer ones, so that
    with several workers a short call is not stuck behind hours of recordings (e.g. 600 on one worker).
    0: oldest first."""

    @field_validator("models", mode="before")
    @classmethod
    def _models_listed(cls, value: object) -> object:
        if isinstance(value, str):  # ``--models base,small`` (the environment takes a JSON list)
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @field_validator("device")
    @classmethod
    def _device_is_known(cls, value: str | None) -> str | None:
        value = (value or "").strip().lower()
        if value and not DEVICE_PATTERN.fullmatch(value):
            raise ValueError("a worker's device is cpu, cuda, cuda:N (N: the GPU's number from 0) or auto")
        return value or None

    def pinned_device(self, environ: Mapping[str, str]) -> tuple[str | None, int]:
        """(device, or None to follow the settings; the GPU's number): from ``device``, else the number
        from ``WHISPER_DEVICE_INDEX``."""
        name, _, index = (self.device or "").partition(":")
        if index:
            return name, int(index)
        raw = environ.get("WHISPER_DEVICE_INDEX", "").strip() or "0"
        if not raw.isdigit() or int(raw) > 99:
            raise ValueError(f"WHISPER_DEVICE_INDEX is a GPU's number from 0, not {raw!r}")
        return name or None, int(raw)

    @field_validator("server_url")
    @classmethod
    def _server_is_http(cls, value: str | None) -> str | None:
        value = (value or "").strip().rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("the API's address starts with http:// or https:// (http://stt-host:8000)")
        return value or None


REMOTE_WORKER_FIELDS = frozenset({"server_url", "api_key", "storage_dir"})
"""Worker settings only a worker on another machine uses: ``serve`` never hands them to its own worker."""


class LimitSettings(BaseModel):
    """Limits on what clients may send."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    max_upload_bytes: int = Field(2 * 1024**3, gt=0)
    """The largest accepted upload, in bytes (default 2 GiB)."""

    max_json_bytes: int = Field(1024**2, gt=0)
    """The largest request body other than an upload (settings, task creation: JSON), in bytes (1 MiB)."""

    header_timeout_seconds: float = Field(60.0, gt=0)
    """A connection whose request headers have not all arrived within this time is closed."""

    body_idle_timeout_seconds: float = Field(60.0, gt=0)
    """A request whose body stops arriving for this long gets 408 and its connection is closed."""

    max_duration_seconds: float = Field(12 * 3600, gt=0)
    """The longest accepted recording, in seconds (default 12 hours): measured at upload from the file's
    packets (by decoding it when they do not say how long they are), and enforced while a task decodes:
    decoding stops at the limit and the task fails."""

    max_samples_per_second: int = Field(8 * 192_000, gt=0)
    """The decode budget of one recording: its sample rate times its channels may be at most this (default
    8 channels at 192 kHz), so with ``max_duration_seconds`` it bounds the decoding work of every task. A
    denser stream (e.g. 655 kHz × 8 channels) is refused at upload (415) and fails its task."""

    max_pending_tasks: int = Field(10_000, gt=0)
    """How many tasks may wait in the queue; more get 429 with Retry-After."""

    min_free_disk_bytes: int = Field(256 * 1024**2, ge=0)
    """Uploads are refused (507) when less than this would remain free on the data disk."""

    idempotency_hours: float = Field(24.0, gt=0, le=24 * 30)
    """How long the first answer to a request with an ``Idempotency-Key`` header is kept: a retry with the
    same key and the same request within this time gets that answer again (the same task or upload)
    instead of a second one."""


class OpenAISettings(BaseModel):
    """The OpenAI-compatible endpoints (``/v1/audio/transcriptions``, ``/v1/audio/translations``)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    keepalive_seconds: float = Field(10.0, gt=0, le=300)
    """A JSON answer not ready within this time is started (status 200) and kept alive with a space
    every this many seconds until the task ends, so proxies and clients do not cut an idle connection;
    a task that fails after that is reported in the body (``{"error": ...}``), not by the status."""

    max_wait_seconds: float = Field(12 * 3600, gt=0)
    """The longest a request waits for its task; after it the answer is 504 (or an error in the body)
    with the task's id, and the task goes on in the queue (``/api/v1/status/{task_id}``)."""


class WebhookSettings(BaseModel):
    """Notifications of finished tasks (Standard Webhooks), sent from the database's outbox."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    secret: SecretStr | None = None
    """The signing secret, ``whsec_`` and base64 of 24 to 64 random bytes (``transcriber webhook-secret``
    makes one); receivers verify ``webhook-signature`` with it. Without it no webhook is sent and a task's
    ``callback_url`` is refused."""

    url: str | None = None
    """Where every task is announced unless it names its own ``callback_url``; empty: only tasks that
    name one."""

    allowed_hosts: list[str] = []
    """Hosts a task's ``callback_url`` may point to: names (``erp.example.local``) and networks in CIDR
    form (``10.0.0.0/8``: any name that resolves inside it, checked again at each delivery). Empty: only
    the host of ``url``. Example: ``["1c.example.local", "192.168.10.0/24"]``."""

    timeout_seconds: float = Field(10.0, gt=0, le=120)
    """How long one delivery may take (connecting at most half of it); redirects are never followed."""

    retry_hours: float = Field(24.0, gt=0, le=24 * 30)
    """How long a delivery the receiver does not accept (2xx) is retried: after 5 s, 30 s, 2 min, 10 min,
    30 min, then every hour or two, until this time since the event; then it is marked failed."""

    @field_validator("secret")
    @classmethod
    def _secret_is_whsec(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip():
            parse_secret(value.get_secret_value())  # its ValueError names what is wrong
            return value
        return None

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts_are_names_or_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            text = entry.strip()
            if "/" in text or text.replace(".", "").isdigit() or ":" in text:
                try:
                    ipaddress.ip_network(text, strict=False)
                except ValueError:
                    raise ValueError(
                        f"{entry!r} is neither a host name nor a network (e.g. 10.0.0.0/8)"
                    ) from None
            elif not text or " " in text:
                raise ValueError(f"{entry!r} is not a host name")
        return value

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("the default webhook URL starts with http:// or https://")
        return value or None


class MetricsSettings(BaseModel):
    """Prometheus metrics: ``GET /metrics`` behind the API key, and a listener without one."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    enabled: bool = True
    """Serve ``GET /metrics`` (Prometheus text format; it needs an API key when keys are configured) and
    measure the HTTP requests' latency."""

    bind: str = ""
    """Also serve the same metrics WITHOUT a key on a separate listener, ``host:port`` (e.g.
    ``127.0.0.1:9464``, ``[::1]:9464``), for a scraper that cannot send a key: expose it only to the
    monitoring network. Empty: no separate listener."""

    @field_validator("bind")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        value = value.strip()
        if value:
            bind_address(value)
        return value

    @property
    def address(self) -> tuple[str, int] | None:
        """The separate listener's host and port; None without one."""
        return bind_address(self.bind) if self.bind else None


def bind_address(text: str) -> tuple[str, int]:
    """``host:port`` (an IPv6 host in brackets) as a host and a port; ValueError if it is not one."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{text!r} is not host:port (e.g. 127.0.0.1:9464 or [::1]:9464)")
    return host, int(port)


class Settings(BaseSettings):
    """Everything the service needs to run. Environment variables: ``TRANSCRIBE_<NAME>``, nested with
    ``__`` (``TRANSCRIBE_WORKER__CPU_THREADS=4``)."""

    model_config = SettingsConfigDict(
        env_prefix="TRANSCRIBE_",
        env_nested_delimiter="__",
        extra="ignore",
        use_attribute_docstrings=True,
    )

    data_dir: Path = Path("data")
    """Where uploads, the database and the model cache live."""

    database_url: str | None = None
    """SQLAlchemy URL; default: SQLite at ``<data_dir>/transcriber.db``."""

    host: str = "127.0.0.1"
    """Address to listen on; ``0.0.0.0`` to accept other machines (1C on another server)."""

    port: int = Field(8000, ge=1, le=65535)
    """TCP port to listen on."""

    model_cache_dir: Path | None = None
    """Where models are assembled and downloaded; default ``<data_dir>/models``."""

    log_level: str = "info"
    """Log level: debug, info, warning, error."""

    api_keys: SecretStr | None = None
    """API keys, comma-separated (``name:key`` or bare keys, 16+ characters each). When any key is
    configured, every API, export and UI data route requires one."""

    api_keys_file: Path | None = None
    """A file of API keys, one ``name:key`` per line; re-read when it changes (rotation without restart)."""

    cors_origins: list[str] = []
    """Origins allowed to call the API from a browser (CORS); empty: CORS off."""

    allowed_hosts: list[str] = []
    """Host names this service answers to (the ``Host`` header), besides those always allowed: IP
    addresses, ``localhost`` and this machine's own names. Against DNS rebinding a web page could use to
    reach a service without API keys. ``*`` allows any. Checked when no API keys are configured, or
    whenever this list is set. Example: ``["stt.example.local"]``."""

    session_hours: float = Field(12.0, gt=0, le=24 * 30)
    """How long a web UI sign-in lasts (an opaque session in an HttpOnly cookie, ended by logout)."""

    worker: WorkerSettings = WorkerSettings()
    limits: LimitSettings = LimitSettings()
    openai: OpenAISettings = OpenAISettings()
    webhooks: WebhookSettings = WebhookSettings()
    metrics: MetricsSettings = MetricsSettings()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'transcriber.db').resolve()}"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def models_dir(self) -> Path:
        return self.model_cache_dir or self.data_dir / "models"
