"""surveys/ is pure and analysis/ and storage/ never reach up into bot/: checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IMPURE_MODULES = {
    "telegram",
    "aiohttp",
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "httpx",
    "requests",
    "socket",
    "random",
    "secrets",
    "time",
    "bot",
    "storage",
    "analysis",
    "os",
    "subprocess",
}
CLOCK_CALLS = {"now", "today", "utcnow", "time", "monotonic"}


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", python_files("surveys"), ids=lambda p: str(p.relative_to(ROOT)))
def test_surveys_touches_no_network_database_or_clock(path: Path) -> None:
    assert not imported_roots(path) & IMPURE_MODULES
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in CLOCK_CALLS, f"{path.name}:{node.lineno} reads the clock"
        if isinstance(node, ast.Name):
            assert node.id not in ("eval", "exec", "open", "print", "input"), (
                f"{path.name}:{node.lineno} uses {node.id}"
            )


@pytest.mark.parametrize("package", ["analysis", "storage", "surveys"])
def test_nothing_imports_bot(package: str) -> None:
    for path in python_files(package):
        assert "bot" not in imported_roots(path), path


def test_storage_and_analysis_do_not_import_each_other() -> None:
    for path in python_files("storage"):
        assert "analysis" not in imported_roots(path), path
    for path in python_files("analysis"):
        assert "storage" not in imported_roots(path), path
