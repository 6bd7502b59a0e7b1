"""`chorus analyse`: sentiment and themes for every row of a CSV file an analyst brings.

Reads and writes one row at a time, so 100,000 rows need no more memory than ten.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from analysis.errors import InputError
from analysis.sentiment import analyse
from analysis.themes import load_codebook, themes_of

ADDED = ("sentiment", "polarity", "themes")


def count_rows(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as file:
        return max(sum(1 for _ in csv.reader(file)) - 1, 0)


def analyse_csv(
    source: Path,
    target: Path,
    text_column: str,
    question_column: str | None = None,
    codebook_name: str = "council-housing",
    progress: Callable[[int], None] = lambda _: None,
) -> int:
    """Copy every row and add sentiment, polarity and themes (separated by ;); returns the rows written."""
    codebook = load_codebook(codebook_name)
    try:
        with source.open(encoding="utf-8-sig", newline="") as infile:
            reader = csv.DictReader(infile)
            columns = list(reader.fieldnames or [])
            for wanted in (text_column, question_column):
                if wanted is not None and wanted not in columns:
                    raise InputError(
                        f"{source.name}: no column '{wanted}'; its columns are {', '.join(columns) or 'none'}"
                    )
            with target.open("w", encoding="utf-8", newline="") as outfile:
                writer = csv.DictWriter(outfile, [*columns, *(c for c in ADDED if c not in columns)])
                writer.writeheader()
                written = 0
                for row in reader:
                    text = row.get(text_column) or ""
                    sentiment = analyse(text, row.get(question_column) if question_column else None)
                    row.update(
                        sentiment=sentiment.label,
                        polarity=f"{sentiment.polarity:.3f}",
                        themes=";".join(themes_of(text, codebook)),
                    )
                    writer.writerow(row)
                    written += 1
                    progress(1)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"{source.name}: cannot read this as a UTF-8 CSV file: {error}") from None
    return written
