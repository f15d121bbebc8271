"""What every row of the service benchmark (``bench/service.py``) shares: its sizes (``Options``) and a
``Context`` with the scratch folder, the warm model cache, the servers it starts and the speech it uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..paths import AUDIO_DIR
from ..server import Server
from ..speech import build_audio


@dataclass(frozen=True)
class Options:
    """Sizes of the rows (``bench/service.py`` fills them from the command line)."""

    rate: float = 50.0
    seconds: float = 20.0
    latency_minutes: float = 15.0
    upload_mib: int = 1024
    tasks: int = 10_000
    requests: int = 200
    eta_minutes: float = 12.0  # batches of 8 chunks: progress steps every ~4 min of audio
    eta_runs: int = 3


@dataclass
class Context:
    """What every row shares: a scratch folder, the warm model cache, the options."""

    work: Path
    models_dir: Path
    model: str
    options: Options
    recordings: dict[float, Path] = field(default_factory=dict)

    def server(self, name: str, env: dict[str, str] | None = None) -> Server:
        return Server(self.work / name, self.model, self.models_dir, env)

    def speech(self, minutes: float) -> Path:
        """About ``minutes`` of real speech as a WAV (the shared recordings, or espeak-ng), built once."""
        if minutes not in self.recordings:
            folder = self.work / "audio"
            folder.mkdir(exist_ok=True)
            self.recordings[minutes] = build_audio(minutes, folder)[0]
        return self.recordings[minutes]

    def short_speech(self) -> Path:
        """A few seconds of speech: ``jfk.flac`` (11 s) if present, else a 15-second recording."""
        jfk = AUDIO_DIR / "jfk.flac"
        return jfk if jfk.is_file() else self.speech(0.25)
