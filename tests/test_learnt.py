"""Themes learnt from an analyst's coding, with cross-validated scores, and used by chorus analyse."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.errors import InputError
from analysis.learnt import learn_themes, micro_macro_f1
from bot.cli import cli

CODED = [
    ("The bins were not emptied for weeks", "cleanliness"),
    ("Rubbish piled up by the stairs", "cleanliness"),
    ("Litter everywhere in the courtyard", "cleanliness"),
    ("Fly-tipping behind the garages again", "cleanliness"),
    ("The boiler broke and nobody came", "repairs"),
    ("Heating has not worked since October", "repairs"),
    ("Leaking tap still not repaired", "repairs"),
    ("Window frame rotten and draughty", "repairs"),
    ("The bins were overflowing and the lift broke", "cleanliness;repairs"),
    ("Rubbish in the broken lift", "cleanliness;repairs"),
    ("Lovely neighbours", ""),
    ("Nice place to live", ""),
] * 3


def analyse_with(tmp_path: Path, content: str, model: str, models_dir: Path) -> list[dict[str, str]]:
    """Run chorus analyse on a small CSV with a learnt model and return the rows it wrote."""
    source = tmp_path / "new.csv"
    source.write_text(content)
    output = tmp_path / "out.csv"
    args = ["analyse", str(source), "--text-column", "text", "--codebook", model, "--models-dir", str(models_dir)]
    result = CliRunner().invoke(cli, [*args, "--output", str(output)])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(output.open()))


def test_several_themes_per_answer_with_scores_per_theme() -> None:
    model = learn_themes([t for t, _ in CODED], [tuple(x for x in c.split(";") if x) for t, c in CODED], folds=3)
    assert model.themes == ("cleanliness", "repairs")
    assert [s.theme for s in model.scores] == ["cleanliness", "repairs"]
    assert all(0 <= s.precision <= 1 and 0 <= s.recall <= 1 and s.support > 0 for s in model.scores)
    predicted = model.predict(
        [
            "rubbish and litter by the bins",
            "the heating and boiler broke",
            "rubbish and litter by the bins and the boiler and heating broke",
        ]
    )
    assert predicted[0] == ("cleanliness",) and predicted[1] == ("repairs",)
    assert set(predicted[2]) == {"cleanliness", "repairs"}


def test_micro_and_macro_f1() -> None:
    truth = [("a",), ("a", "b"), ("b",), ()]
    assert micro_macro_f1(truth, truth, ["a", "b"]) == (1.0, 1.0)
    assert micro_macro_f1(truth, [(), (), (), ()], ["a", "b"]) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("coded", "message"),
    [
        ([("a",), ("a",), ("a",), ("b",)], "too few for: b"),
        ([("a",)] * 4, "at least two themes"),
    ],
)
def test_too_little_coding_is_a_clear_error(coded: list[tuple[str, ...]], message: str) -> None:
    with pytest.raises(InputError, match=message):
        learn_themes(["some text"] * len(coded), coded)


def test_learn_then_analyse_from_the_command_line(tmp_path: Path) -> None:
    coded = tmp_path / "coded.csv"
    with coded.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["answer", "codes"])
        writer.writerows(CODED)
    runner = CliRunner()
    learnt = runner.invoke(
        cli,
        [
            "themes",
            "learn",
            str(coded),
            "--text-column",
            "answer",
            "--themes-column",
            "codes",
            "--name",
            "estate",
            "--codebook",
            "council-housing",
            "--models-dir",
            str(tmp_path / "models"),
        ],
    )
    assert learnt.exit_code == 0, learnt.output
    assert "Learnt 'estate' from coded.csv, 36 coded answers" in learnt.output
    assert "cleanliness" in learnt.output and "precision" in learnt.output
    model = tmp_path / "models" / "estate.joblib"
    assert list(model.parent.iterdir()) == [model] and model.stat().st_mode & 0o777 == 0o600
    rows = analyse_with(
        tmp_path, "text\nThe bins are overflowing with rubbish\nDamp in the bedroom\n", "estate", tmp_path / "models"
    )
    assert "cleanliness" in rows[0]["themes"].split(";"), "the learnt theme"
    assert "damp and mould" in rows[1]["themes"].split(";"), "the codebook's rule-based theme"


def test_a_models_dir_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    coded = tmp_path / "coded.csv"
    with coded.open("w", newline="") as file:
        csv.writer(file).writerows([("answer", "codes"), *CODED])
    (tmp_path / "taken").write_text("a file where the folder would go")
    args = ["themes", "learn", str(coded), "--text-column", "answer", "--themes-column", "codes", "--name", "estate"]
    result = CliRunner().invoke(cli, [*args, "--models-dir", str(tmp_path / "taken" / "models")])
    assert result.exit_code == 2
    assert result.stderr == f"cannot write {tmp_path / 'taken' / 'models' / 'estate.joblib'}: Not a directory\n"


def test_sentiment_learnt_with_the_themes_gives_the_label(tmp_path: Path) -> None:
    coded = tmp_path / "coded.csv"
    with coded.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["answer", "codes", "feeling", "asked"])
        for text, codes in CODED:
            feeling = "positive" if text in ("Lovely neighbours", "Nice place to live") else "negative"
            writer.writerow([text, codes, feeling, "Anything else?"])
    runner = CliRunner()
    args = ["themes", "learn", str(coded), "--text-column", "answer", "--themes-column", "codes", "--name", "felt"]
    learnt = runner.invoke(
        cli, [*args, "--sentiment-column", "feeling", "--question-column", "asked", "--models-dir", str(tmp_path / "m")]
    )
    assert learnt.exit_code == 0, learnt.output
    assert "Sentiment, cross-validated: accuracy" in learnt.output
    rows = analyse_with(
        tmp_path, 'text\nLovely neighbours here\n"Bins overflowing, boiler broken"\n', "felt", tmp_path / "m"
    )
    assert [row["sentiment"] for row in rows] == ["positive", "negative"]


def test_learnt_sentiment_refuses_unknown_labels() -> None:
    from analysis.learnt import learn_sentiment

    with pytest.raises(InputError, match="not happy"):
        learn_sentiment(["a", "b", "c"], ["happy", "positive", "negative"], [None, None, None])
