"""The speaker-embedding model: CAM++ (3D-Speaker, Apache-2.0) exported to ONNX, run by onnxruntime.

The file ships with the package (``data/speaker/campplus.onnx``, made by
``scripts/export_speaker_model.py``; ``NOTICE.md`` beside it says where it comes from), so voices are
told apart offline from the first start, and no torch is needed: onnxruntime comes with faster-whisper.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime

from transcriber import storage

MODEL_PATH = Path(__file__).resolve().parent.parent / "data" / "speaker" / "campplus.onnx"


def file_sha256(path: Path = MODEL_PATH) -> str:
    """The model file's SHA-256 (hex); ``storage.file_sha256`` with the bundled model as the default."""
    return storage.file_sha256(path)


class SpeakerModel:
    """One onnxruntime session of the model; :meth:`embed` is the ``Embed`` of ``voices.turns``."""

    def __init__(self, path: Path = MODEL_PATH, *, threads: int = 0) -> None:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    def embed(self, features: np.ndarray) -> np.ndarray:
        """(windows, frames, 80) float32 mean-normalised filter banks -> (windows, dim) embeddings."""
        (out,) = self._session.run(None, {self._input: features.astype(np.float32, copy=False)})
        return np.asarray(out, dtype=np.float32)
