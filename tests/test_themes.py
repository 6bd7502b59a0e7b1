"""Themes from the shipped codebooks, several per answer, and clear errors for a broken codebook."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.errors import CodebookError
from analysis.themes import builtin_codebooks, load_codebook, themes_of

HOUSING = load_codebook("council-housing")
STAFF = load_codebook("staff-mutual")


def test_the_shipped_codebooks_have_the_themes_commissioners_expect() -> None:
    assert builtin_codebooks() == ["council-housing", "staff-mutual"]
    assert len(HOUSING.themes) == 14 and len(STAFF.themes) == 8
    assert "damp and mould" in [t.name for t in HOUSING.themes]
    assert "voice and influence" in [t.name for t in STAFF.themes]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Black mould in the kids' bedroom", ("damp and mould",)),
        ("The boiler has been broken for weeks", ("repairs and maintenance", "access and waiting times")),
        (
            "Nobody listens to residents and the caretaker is rude",
            ("staff attitude and respect", "being listened to and influence"),
        ),
        ("Rent keeps going up and the service charge too", ("cost of living",)),
        ("Lovely sunny day", ()),
    ],
)
def test_housing_themes(text: str, expected: tuple[str, ...]) -> None:
    assert themes_of(text, HOUSING) == expected


def test_staff_themes() -> None:
    assert themes_of("Too much paperwork and my manager never listens", STAFF) == (
        "workload",
        "leadership",
        "voice and influence",
    )


def test_a_codebook_of_your_own(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nthemes:\n  - {name: lifts, patterns: [lift*, elevator]}\n")
    assert themes_of("The lifts are out again", load_codebook(str(path))) == ("lifts",)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("themes: [\n", "not valid YAML"),
        ("name: x\n", "a codebook needs a name and a list of themes"),
        ("themes:\n  - {name: lifts}\n", "theme 1 needs a name and a list of patterns"),
    ],
)
def test_a_broken_codebook_is_one_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(content)
    with pytest.raises(CodebookError, match=message):
        load_codebook(str(path))


def test_an_unknown_codebook_names_the_built_in_ones() -> None:
    with pytest.raises(CodebookError, match="not a built-in one \\(council-housing, staff-mutual\\)"):
        load_codebook("no-such-codebook")
