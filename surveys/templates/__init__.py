"""Built-in surveys officers can start from: `chorus survey validate` checks each in the tests."""

from __future__ import annotations

from pathlib import Path

TEMPLATES = Path(__file__).parent


def template_paths() -> list[Path]:
    return sorted(TEMPLATES.glob("*.yaml"))
