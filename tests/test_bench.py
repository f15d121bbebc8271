"""The shape of ``bench/``: thin scripts over one library (``bench/kit``), and the results file every run
writes. The benchmarks themselves are not run here (they are not tests)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from bench.kit.report import write_results

BENCH = Path(__file__).resolve().parents[1] / "bench"
KIT = BENCH / "kit"
SCRIPTS = sorted(BENCH.glob("*.py"))
KIT_MODULES = sorted(KIT.rglob("*.py"))


def imported(path: Path) -> list[tuple[int, str]]:
    """(level, module) of every ``import`` and ``from ... import`` in a file; level 0 is absolute."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(0, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module or ""))
    return found


def kit_name(path: Path) -> str:
    """``kit.rows.latency`` for bench/kit/rows/latency.py, ``kit.rows`` for its ``__init__``."""
    parts = path.relative_to(BENCH).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve(path: Path, level: int, module: str) -> str:
    """The absolute kit module a relative import in ``path`` names."""
    package = kit_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, module] if module else base)


def run_all_scripts() -> tuple[str, ...]:
    """The names in ``bench/run_all.py``'s ``SCRIPTS``, read from its source (running it is not needed)."""
    for node in ast.parse((BENCH / "run_all.py").read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "SCRIPTS" for t in node.targets):
            names = ast.literal_eval(node.value)
            assert isinstance(names, tuple)
            assert all(isinstance(n, str) for n in names)
            return names
    raise AssertionError("bench/run_all.py has no SCRIPTS")


def test_run_all_runs_every_script_and_only_scripts() -> None:
    scripts = {path.stem for path in SCRIPTS}
    listed = run_all_scripts()
    assert len(set(listed)) == len(listed), f"a script listed twice: {listed}"
    assert set(listed) <= scripts, f"run_all lists what is not a script: {set(listed) - scripts}"
    missing = scripts - {"run_all"} - set(listed)
    assert not missing, f"scripts run_all does not run: {missing}"


def test_no_script_imports_another_script() -> None:
    scripts = {path.stem for path in SCRIPTS}
    for path in SCRIPTS:
        tops = {module.split(".")[0] for level, module in imported(path) if level == 0}
        assert not tops & scripts, f"{path.name} imports a script: {tops & scripts}"
    for path in KIT_MODULES:
        for level, module in imported(path):
            top = module.split(".")[0]
            assert level > 0 or (top not in scripts and top not in ("kit", "bench")), (path, module)


def test_kit_modules_import_each_other_without_cycles() -> None:
    graph: dict[str, set[str]] = {kit_name(path): set() for path in KIT_MODULES}
    for path in KIT_MODULES:
        for level, module in imported(path):
            if level > 0:
                target = resolve(path, level, module)
                assert target in graph, f"{path.relative_to(BENCH)} imports {target}, not a kit module"
                graph[kit_name(path)].add(target)
    done: set[str] = set()

    def visit(name: str, trail: tuple[str, ...]) -> None:
        assert name not in trail, f"import cycle: {' -> '.join((*trail, name))}"
        if name not in done:
            for target in graph[name]:
                visit(target, (*trail, name))
            done.add(name)

    for name in graph:
        visit(name, ())
    assert graph["kit.rows"] >= {"kit.rows.latency", "kit.rows.upload"}  # the walk saw relative imports


def test_every_bench_module_is_under_400_lines() -> None:
    for path in [*SCRIPTS, *KIT_MODULES]:
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines < 400, f"{path.relative_to(BENCH)} has {lines} lines"


def test_results_file_names_the_benchmark_time_and_commit(tmp_path: Path) -> None:
    path = write_results("demo", {"ratio": 1.05, "verdict": "PASS"}, folder=tmp_path / "results")
    assert path.parent == tmp_path / "results"
    match = re.fullmatch(r"demo-(\d{4}-\d\d-\d\dT\d{6}Z)-(.+)\.json", path.name)
    assert match, path.name
    record = json.loads(path.read_text(encoding="utf-8"))
    assert record["benchmark"] == "demo"
    assert record["figures"] == {"ratio": 1.05, "verdict": "PASS"}
    assert record["date"].startswith(match.group(1)[:10])
    assert record["commit"] is None or match.group(2) == record["commit"].replace("+", "-")
    assert record["machine"]["cpus"] >= 1
    assert isinstance(record["command"], list)
