"""Syntax check of the 1C:Enterprise (BSL) sources with tree-sitter-bsl.

Parses every ``.bsl`` file under the given paths (default: ``integrations/``) and prints
``file:line:col: error: ...`` for every ERROR or MISSING node; exits 1 if there are any.
Lines and columns are 1-based; the column counts characters, not bytes.

What it proves: the files are well-formed BSL (blocks closed, strings quoted the 1C way with ``""``,
statements separated). What it does not: names of platform types and methods, types of values,
or whether the code compiles in a 1C platform.

tree-sitter-bsl 0.1.6 also rejects some valid BSL; write around it:
a parenthesised sub-expression ``(А + Б) * 2`` (use an intermediate variable), ``;`` after the
``КонецЦикла`` of a ``Пока`` loop (use ``Для Каждого`` or ``Для ... По``), member access on
``Новый Тип(...)``, and a bare ``ВызватьИсключение;``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import tree_sitter
import tree_sitter_bsl

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PATHS = (ROOT / "integrations",)
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class SyntaxProblem:
    path: Path
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{_shown(self.path)}:{self.line}:{self.column}: error: {self.message}"


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def new_parser() -> tree_sitter.Parser:
    return tree_sitter.Parser(tree_sitter_bsl.Language())


def _bad_nodes(root: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    """ERROR and MISSING nodes, outermost first; the inside of an ERROR node is not reported again."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            yield node
            continue
        if node.has_error:
            stack.extend(reversed(node.children))


def _describe(node: tree_sitter.Node, source: bytes) -> str:
    if node.is_missing:
        return f"missing {node.type}"
    text = source[node.start_byte : node.end_byte].decode("utf-8", errors="replace")
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    if len(first_line) > 60:
        first_line = first_line[:57] + "..."
    return f"syntax error at `{first_line}`" if first_line else "syntax error"


def check_source(source: bytes, path: Path, parser: tree_sitter.Parser | None = None) -> list[SyntaxProblem]:
    """Problems in one BSL text (UTF-8, with or without a BOM)."""
    if source.startswith(BOM):
        source = source[len(BOM) :]
    try:
        source.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = source[: exc.start].count(b"\n") + 1
        return [SyntaxProblem(path, line, 1, "the file is not valid UTF-8")]
    tree = (parser or new_parser()).parse(source)
    lines = source.split(b"\n")
    problems = []
    for node in _bad_nodes(tree.root_node):
        row, byte_col = node.start_point
        column = len(lines[row][:byte_col].decode("utf-8", errors="replace")) + 1
        problems.append(SyntaxProblem(path, row + 1, column, _describe(node, source)))
    return sorted(problems, key=lambda p: (p.line, p.column))


def check_file(path: Path, parser: tree_sitter.Parser | None = None) -> list[SyntaxProblem]:
    return check_source(path.read_bytes(), path, parser)


def bsl_files(paths: Iterable[Path]) -> list[Path]:
    """The ``.bsl`` files among ``paths`` and under the directories among them, sorted."""
    found: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found.update(p for p in path.rglob("*.bsl") if p.is_file())
        elif path.suffix.lower() == ".bsl" and path.is_file():
            found.add(path)
    return sorted(found)


def check_paths(paths: Iterable[Path]) -> tuple[list[Path], list[SyntaxProblem]]:
    """The files checked and every problem in them."""
    files = bsl_files(paths)
    parser = new_parser()
    problems = [problem for path in files for problem in check_file(path, parser)]
    return files, problems


def main(argv: Sequence[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("paths", nargs="*", type=Path, help="files or directories (default: integrations/)")
    options = args.parse_args(argv)
    paths = options.paths or list(DEFAULT_PATHS)
    files, problems = check_paths(paths)
    for problem in problems:
        print(problem)
    if not files:
        print(f"check_bsl: no .bsl files under {', '.join(_shown(p) for p in paths)}", file=sys.stderr)
        return 1
    print(f"check_bsl: {len(files)} files checked, {len(problems)} errors")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
