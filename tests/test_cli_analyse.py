"""`chorus analyse` on an analyst's CSV file."""

from __future__ import annotations

import csv
from pathlib import Path

from click.testing import CliRunner

from bot.cli import cli


def test_every_row_is_copied_with_sentiment_polarity_and_themes(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    with source.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["id", "comment", "asked"])
        writer.writerow(["1", "Black mould in the bedroom, still not fixed", "Anything else?"])
        writer.writerow(["2", "Nothing", "What could we improve?"])
        writer.writerow(["3", "Lovely friendly caretaker", "What was good?"])
    result = CliRunner().invoke(
        cli,
        [
            "analyse",
            str(source),
            "--text-column",
            "comment",
            "--question-column",
            "asked",
            "--output",
            str(tmp_path / "out.csv"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Wrote 3 rows" in result.output
    rows = list(csv.DictReader((tmp_path / "out.csv").open()))
    assert [r["id"] for r in rows] == ["1", "2", "3"]
    assert [r["sentiment"] for r in rows] == ["negative", "positive", "positive"]
    assert rows[0]["themes"] == "repairs and maintenance;damp and mould"
    assert float(rows[0]["polarity"]) < 0
    assert (tmp_path / "out.csv").stat().st_mode & 0o777 == 0o600, "what people wrote, private to its owner"


def test_a_missing_column_or_file_is_one_line(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,hello\n")
    result = CliRunner().invoke(
        cli, ["analyse", str(source), "--text-column", "comment", "--output", str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 2 and result.stderr.strip() == "in.csv: no column 'comment'; its columns are id, text"
    missing = CliRunner().invoke(
        cli, ["analyse", str(tmp_path / "nope.csv"), "--text-column", "x", "--output", str(tmp_path / "o.csv")]
    )
    assert missing.exit_code == 2 and "nope.csv: cannot read this as a UTF-8 CSV file" in missing.stderr


def test_a_row_with_stray_values_names_its_line(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,fine\n2,bins, and more\n")
    result = CliRunner().invoke(
        cli, ["analyse", str(source), "--text-column", "text", "--output", str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == "in.csv: line 3: more values than columns; put text with commas in quotes"
    assert list(tmp_path.iterdir()) == [source], "no half-written output"


def test_an_output_folder_that_does_not_exist_is_one_line(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,fine\n")
    output = tmp_path / "missing" / "o.csv"
    result = CliRunner().invoke(cli, ["analyse", str(source), "--text-column", "text", "--output", str(output)])
    assert result.exit_code == 2
    assert result.stderr == f"cannot write {output}: No such file or directory\n"
