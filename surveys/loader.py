"""Loads a survey file of either format: the one entry point the CLI, storage and tests use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from surveys.builder import build_survey
from surveys.errors import Location, Problem, SurveyInvalid
from surveys.model import Survey
from surveys.xlsform import read_xlsform
from surveys.yaml_loader import read_yaml

YAML_SUFFIXES = (".yaml", ".yml")
XLSFORM_SUFFIXES = (".xlsx",)


@dataclass(frozen=True)
class Loaded:
    """A survey that loaded, with the warnings an officer should still read (missing translations, ignored columns)."""

    survey: Survey
    warnings: tuple[Problem, ...]


def check_survey(path: Path | str) -> Loaded:
    """Load and check a .yaml or .xlsx survey; raises SurveyInvalid naming file, line or row, and field."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in YAML_SUFFIXES + XLSFORM_SUFFIXES:
        message = "a survey file ends in .yaml, .yml or .xlsx (an XLSForm)"
        raise SurveyInvalid([Problem(Location(path.name), "", message)])
    if not path.is_file():
        raise SurveyInvalid([Problem(Location(str(path)), "", "no such file")])
    if suffix in XLSFORM_SUFFIXES:
        document, warnings = read_xlsform(path)
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise SurveyInvalid([Problem(Location(path.name), "", f"cannot read this file: {error}")]) from None
        document, warnings = read_yaml(text, path.name), []
    survey, more = build_survey(document)
    return Loaded(survey, tuple(warnings + more))


def load_survey(path: Path | str) -> Survey:
    return check_survey(path).survey


def survey_from_yaml(text: str, name: str = "survey.yaml") -> Survey:
    """Build a survey from YAML text, as storage does with a stored version."""
    survey, _ = build_survey(read_yaml(text, name))
    return survey


def survey_from_document(document: dict[str, Any]) -> Survey:
    """Rebuild a survey from a document (surveys.document.to_document): a version stored before migration 0011."""
    return survey_from_yaml(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "stored survey")
