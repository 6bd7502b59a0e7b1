"""The chorus command as an officer uses it: validate, preview and convert surveys."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from bot.cli import cli
from surveys.loader import survey_from_yaml
from surveys.templates import template_paths
from tests.test_xlsform import CHOICES, SETTINGS, SURVEY

GOOD = """\
id: good
title: Good
questions:
  - {id: q, type: yes_no, label: "Happy?", required: true}
  - {id: why, type: text, label: "Why not?", relevant: "${q} = 'no'"}
"""
BAD = """\
id: bad
title: Bad
questions:
  - {id: q, type: likret, label: Happy}
  - {id: r, type: text, label: R, relevant: "${nope} = 1"}
"""


def test_validate_accepts_good_files_and_prints_a_summary(write_yaml: Callable[[str, str], Path]) -> None:
    result = CliRunner().invoke(
        cli, ["survey", "validate", str(write_yaml(GOOD, "good.yaml")), *map(str, template_paths())]
    )
    assert result.exit_code == 0, result.output
    assert "good.yaml: ok, 2 questions, version " in result.output
    assert "tsm.yaml: ok, 17 questions" in result.output


def test_validate_prints_one_error_a_line_and_exits_2(write_yaml: Callable[[str, str], Path]) -> None:
    result = CliRunner().invoke(
        cli, ["survey", "validate", str(write_yaml(GOOD, "good.yaml")), str(write_yaml(BAD, "bad.yaml"))]
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "bad.yaml:4: question 'q': unknown type 'likret' (did you mean 'likert'?); use one of note, select_one, "
        "select_multiple, likert, rating, yes_no, text, integer, decimal, date, consent",
        "bad.yaml:5: question 'r': relevant refers to ${nope}, which is not a question in this survey",
    ]
    assert "good.yaml: ok" in result.stdout
    assert "Traceback" not in result.output


def test_validate_prints_warnings_but_passes(write_yaml: Callable[[str, str], Path]) -> None:
    path = write_yaml("id: w\ntitle: W\nlanguages: [en, pl]\nquestions:\n  - {id: q, type: text, label: Q}\n", "w.yaml")
    result = CliRunner().invoke(cli, ["survey", "validate", str(path)])
    assert result.exit_code == 0
    assert "warning: w.yaml:2: 'title' has no 'pl' translation; 'en' will be shown instead" in result.stderr


def test_preview_walks_the_skip_logic_in_the_terminal(write_yaml: Callable[[str, str], Path]) -> None:
    result = CliRunner().invoke(
        cli,
        ["survey", "preview", str(write_yaml(GOOD, "good.yaml"))],
        input="maybe\nnot really, the lift is broken\n/back\nn\n/skip\n",
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "1. Happy?" in lines
    assert "! Sorry, \u201cmaybe\u201d is not one of the options. Please choose one of them." in lines
    assert "Thank you, we have kept what you wrote as a comment on this question." in result.output
    assert "! This is the first question, so there is nothing to go back to." in lines
    assert "2. Why not?  (optional)" in lines
    assert lines[-1] == "Thank you for taking part."


def test_preview_stops_cleanly_when_input_ends(write_yaml: Callable[[str, str], Path]) -> None:
    result = CliRunner().invoke(cli, ["survey", "preview", str(write_yaml(GOOD, "good.yaml"))], input="no\n")
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "Stopped. Nothing was saved."


def test_preview_of_a_broken_file_is_one_line(write_yaml: Callable[[str, str], Path]) -> None:
    result = CliRunner().invoke(cli, ["survey", "preview", str(write_yaml("id: x\n", "x.yaml"))])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "x.yaml:1: 'title' is required" in result.stderr


def test_convert_prints_yaml_that_loads_as_the_same_survey(write_xlsform: Callable[..., Path]) -> None:
    path = write_xlsform(survey=SURVEY, choices=CHOICES, settings=SETTINGS)
    result = CliRunner().invoke(cli, ["survey", "convert", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("id: tenant-voice\n")
    from surveys.loader import load_survey

    assert survey_from_yaml(result.stdout) == load_survey(path)


def test_convert_of_a_missing_file_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["survey", "convert", str(tmp_path / "nope.xlsx")])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"{tmp_path / 'nope.xlsx'}: no such file"


def test_the_service_loads_no_library_only_an_officers_command_needs() -> None:
    """`chorus run` stays small: NLTK and scikit-learn (learnt themes, CSV analysis), openpyxl with
    NumPy (XLSForm files) and segno (QR codes) are imported by the commands that use them, not by the service."""
    check = (
        "import sys, bot.cli, bot.service; "
        "print(sorted(m for m in ('nltk', 'sklearn', 'scipy', 'numpy', 'openpyxl', 'textblob', 'segno') "
        "if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
