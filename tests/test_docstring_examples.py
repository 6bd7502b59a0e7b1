"""The worked examples in analysis/ and surveys/ docstrings stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "analysis.sentiment",
    "analysis.themes",
    "analysis.redaction",
    "analysis.metrics",
    "analysis.privacy",
    "surveys.text",
    "surveys.answers",
    "surveys.cron",
    "bot.schedule",
    "bot.weekly_summary",
]


@pytest.mark.parametrize("name", MODULES)
def test_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
