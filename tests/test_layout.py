"""The package layout's promises: the engine's version guard, and what imports the ML stack."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from transcriber.engine.pipeline import VERIFIED, EngineVersionMismatch, check_version


@pytest.mark.parametrize("installed", ["1.2.1", "1.2.9", "1.2.1+cu12"])
def test_verified_versions_pass(installed: str) -> None:
    check_version(installed)


@pytest.mark.parametrize("installed", ["1.1.1", "1.2.0", "1.3.0", "2.0.0"])
def test_other_versions_fail_loudly(installed: str) -> None:
    with pytest.raises(EngineVersionMismatch, match=rf"faster-whisper {installed} .*requirements\.lock"):
        check_version(installed)


def test_the_pin_is_the_verified_range() -> None:
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    pins = [d for d in project["project"]["dependencies"] if d.startswith("faster-whisper")]
    low, high = (".".join(map(str, v)) for v in VERIFIED)
    assert pins == [f"faster-whisper>={low},<{high[: high.rindex('.')]}"]


@pytest.mark.parametrize("module", ["transcriber.transcription", "transcriber.worker", "transcriber.store"])
def test_naming_the_engine_types_needs_no_ml_stack(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "print(sorted(m for m in ('faster_whisper', 'ctranslate2', 'onnxruntime') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- the package map (docs/development.md) ------------------------------------------------------------

SRC = Path(__file__).parents[1] / "src" / "transcriber"
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    """The transcriber modules ``path`` imports (at module level only, if asked: a function-level
    import is how a lazy dependency avoids a cycle)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    modules = {_module_name(p) for p in SRC.rglob("*.py")}
    return {name for name in found if name in modules}


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def test_no_module_is_over_the_line_limit() -> None:
    long = {
        name: n
        for name, p in MODULES.items()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_no_import_cycles() -> None:
    graph = {name: _imports(path, top_level_only=True) - {name} for name, path in MODULES.items()}
    # A package's __init__ re-exporting its own modules is not a cycle.
    graph = {name: {d for d in deps if not d.startswith(f"{name}.")} for name, deps in graph.items()}
    seen: set[str] = set()
    stack: list[str] = []

    def visit(node: str) -> None:
        if node in stack:
            raise AssertionError("import cycle: " + " -> ".join([*stack[stack.index(node) :], node]))
        if node in seen:
            return
        stack.append(node)
        for dep in graph.get(node, ()):
            visit(dep)
        stack.pop()
        seen.add(node)

    for name in graph:
        visit(name)


FORBIDDEN = {
    # a layer: the layers above it, which it must never import (api -> service -> store/engine/worker)
    "transcriber.domain": ("transcriber.",),
    "transcriber.store": (
        "transcriber.api",
        "transcriber.service",
        "transcriber.worker",
        "transcriber.engine",
    ),
    "transcriber.engine": (
        "transcriber.api",
        "transcriber.service",
        "transcriber.worker",
        "transcriber.store",
    ),
    "transcriber.worker": ("transcriber.api", "transcriber.service"),
    "transcriber.service": ("transcriber.api",),
    "transcriber.transcription": ("transcriber.engine", "transcriber.worker", "transcriber.store"),
}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_point_one_way(layer: str) -> None:
    wrong = {
        name: sorted(d for d in _imports(path, top_level_only=False) if d.startswith(FORBIDDEN[layer]))
        for name, path in MODULES.items()
        if name == layer or name.startswith(f"{layer}.")
    }
    assert {name: deps for name, deps in wrong.items() if deps} == {}
