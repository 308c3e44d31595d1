"""The layout ARCHITECTURE.md draws, held against the code: a few flat modules at the top,
one package per subsystem, and each backend reached only through its seam."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "monitor"


def modules() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), str(path))


def imported(tree: ast.Module) -> set[str]:
    """Every module an import statement names (anywhere in the file, TYPE_CHECKING too)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_top_of_the_package_holds_at_most_fifteen_modules() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 15, top


def test_only_the_sqlite_backend_imports_sqlite3() -> None:
    backend = PACKAGE / "store" / "sqlite"
    offenders = [
        str(path.relative_to(ROOT))
        for path, tree in modules()
        if "sqlite3" in imported(tree) and backend not in path.parents
    ]
    assert offenders == []


def test_only_the_postgresql_backend_imports_psycopg() -> None:
    backend = PACKAGE / "store" / "postgres"
    offenders = [
        str(path.relative_to(ROOT))
        for path, tree in modules()
        if any(name.split(".")[0] in ("psycopg", "psycopg_pool") for name in imported(tree))
        and backend not in path.parents
    ]
    assert offenders == []


@pytest.mark.parametrize("package", ["sqlite", "postgres"])
def test_a_backend_is_reached_only_through_the_store_registry(package: str) -> None:
    backend, registry = PACKAGE / "store" / package, PACKAGE / "store" / "registry.py"
    offenders = [
        str(path.relative_to(ROOT))
        for path, tree in modules()
        if path != registry
        and backend not in path.parents
        and any(name.startswith(f"monitor.store.{package}") for name in imported(tree))
    ]
    assert offenders == []


FOREIGN = "DESIGN" + ".md"  # the design notes the project was agreed in: not part of it


def test_nothing_refers_to_a_design_file_outside_the_project() -> None:
    suffixes = {".py", ".md", ".toml", ".j2", ".yml", ".json"}
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("monitor", "tests", "bench", "docs", "templates", "deploy", "grafana")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in suffixes and path != Path(__file__).resolve() and FOREIGN in path.read_text("utf-8")
    ]
    offenders += [name for name in ("README.md", "ARCHITECTURE.md", "BENCHMARKS.md") if FOREIGN in _text(name)]
    assert offenders == []


def _text(name: str) -> str:
    path = ROOT / name
    return path.read_text("utf-8") if path.exists() else ""
