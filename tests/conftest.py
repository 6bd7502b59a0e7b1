"""Shared helpers: survey files written into a temporary folder, as an officer would write them."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from surveys.loader import survey_from_yaml
from surveys.model import Survey


def survey_of(text: str) -> Survey:
    """A survey from YAML text written inline in a test."""
    return survey_from_yaml(textwrap.dedent(text), "test.yaml")


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(text: str, name: str = "survey.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def write_xlsform(tmp_path: Path) -> Callable[..., Path]:
    """Build an .xlsx with openpyxl: each sheet is a list of rows, the first row the headers."""

    def write(name: str = "form.xlsx", **sheets: list[list[Any]]) -> Path:
        workbook = Workbook()
        assert workbook.active is not None
        workbook.remove(workbook.active)
        for title, rows in sheets.items():
            sheet = workbook.create_sheet(title)
            for row in rows:
                sheet.append(row)
        path = tmp_path / name
        workbook.save(path)
        return path

    return write
