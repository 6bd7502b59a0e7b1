"""The organisation commands as an officer runs them: the names residents read, the areas their links record."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.test_cli_storage import audit_actions, env, run

__all__ = ["env"]  # the fixture, shared with the other database commands' tests

HOMES = """\
id: homes
title: Our homes
organisation: ancoats-housing
questions:
  - {id: happy, type: yes_no, label: "Are you happy with your home?"}
"""


def test_an_organisation_a_survey_named_is_given_a_name_and_an_area(
    env: str, write_yaml: Callable[[str, str], Path]
) -> None:
    assert run("survey", "import", str(write_yaml(HOMES, "homes.yaml"))).exit_code == 0
    assert run("org", "list").output == "ancoats-housing  ancoats-housing\n", (
        "named by its slug until an officer names it"
    )
    renamed = run("org", "add", "ancoats-housing", "--name", " Ancoats Housing Co-operative ")
    assert (renamed.exit_code, renamed.output) == (
        0,
        "Organisation ancoats-housing renamed: Ancoats Housing Co-operative.\n",
    )
    added = run("org", "area", "ancoats-housing", "ancoats", "--name", "Ancoats")
    assert added.exit_code == 0, added.output
    assert (
        added.output
        == "Area ancoats of ancoats-housing added: Ancoats. Links such as ?start=SURVEY-ancoats record it.\n"
    )
    assert run("org", "add", "gorton-mutual", "--name", "Gorton Mutual").output.startswith(
        "Organisation gorton-mutual added"
    )
    assert run("org", "list").output == (
        "ancoats-housing  Ancoats Housing Co-operative\n  ancoats  Ancoats  (0 contacts)\ngorton-mutual  Gorton Mutual\n"
    )
    opened = run("wave", "open", "homes", "--area", "ancoats")
    assert opened.exit_code == 0, "a wave can name the area now"
    assert audit_actions(env)[-3:] == ["organisation.name", "area.name", "organisation.name"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["org", "area", "nope", "ancoats", "--name", "Ancoats"],
            "no organisation 'nope': add it with `chorus org add nope --name NAME`",
        ),
        (
            ["org", "add", "Ancoats Housing", "--name", "A"],
            "'Ancoats Housing' cannot name an organisation: use 1 to 64 lower-case",
        ),
        (
            ["org", "add", "ancoats-housing", "--name", "  "],
            "the name of an organisation must be 1 to 200 characters, not 0",
        ),
        (["staff", "invite", "--org", "nope"], "no organisation 'nope': add it with `chorus org add nope --name NAME`"),
    ],
)
def test_a_name_that_cannot_be_used_is_one_line_and_changes_nothing(env: str, args: list[str], message: str) -> None:
    run("org", "add", "ancoats-housing", "--name", "Ancoats Housing")
    result = run(*args)
    assert result.exit_code == 2 and result.stderr.startswith(message), result.output
    assert run("org", "list").output == "ancoats-housing  Ancoats Housing\n"
