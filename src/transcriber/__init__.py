"""Self-hosted speech-to-text service on faster-whisper, with a durable queue and a 1C-friendly API."""

__version__ = "0.1.0"
