"""Errors raised by surveys/, written for the officer or developer who reads them.

An officer's file can be wrong in many places at once, so loading collects every
problem with its location and raises them together: fixing one error at a time
through a slow edit-and-retry loop is the worst part of writing a survey.
"""

from __future__ import annotations

from dataclasses import dataclass


class SurveyError(Exception):
    """Base class of every error that surveys/ raises on purpose."""


@dataclass(frozen=True)
class Location:
    """Where in an officer's file something was written: a YAML line or an XLSForm row."""

    file: str
    line: int | None = None
    sheet: str | None = None
    row: int | None = None

    def __str__(self) -> str:
        if self.sheet is not None:
            where = f"sheet '{self.sheet}'" + (f" row {self.row}" if self.row else "")
            return f"{self.file}: {where}"
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class Problem:
    """One error or warning about a survey file, e.g. `tsm.yaml:42: question 'q1': unknown choice list 'sat5'`."""

    location: Location
    subject: str
    message: str

    def __str__(self) -> str:
        subject = f"{self.subject}: " if self.subject else ""
        return f"{self.location}: {subject}{self.message}"


class SurveyInvalid(SurveyError):
    """A survey file that cannot be used; `problems` lists every error found, one a line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ExpressionError(SurveyError):
    """An XLSForm expression (relevant or constraint) that cannot be parsed or refers to nothing."""

    def __init__(self, message: str, position: int | None = None) -> None:
        self.message = message
        self.position = position
        at = f" at character {position + 1}" if position is not None else ""
        super().__init__(f"{message}{at}")


class StateError(SurveyError):
    """A saved conversation state that does not belong to this survey version or is damaged."""
