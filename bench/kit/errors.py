"""The errors that stop a benchmark; their messages are printed as they are, and the script exits 2."""

from __future__ import annotations


class BenchError(Exception):
    """An error that stops the benchmark; its message is printed as is."""


class SpeechError(BenchError):
    """Audio or a synthesiser the benchmark needs is missing (a ``BenchError`` too)."""
