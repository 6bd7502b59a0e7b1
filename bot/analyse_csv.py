"""`chorus analyse` and `chorus themes learn`: what an analyst does with a CSV file of answers.

Rows are read and written in batches, so 100,000 rows need no more memory than a thousand.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

from analysis.errors import InputError
from analysis.learnt import learn_themes
from analysis.sentiment import analyse
from analysis.themes import load_codebook, themes_of
from bot.learnt_store import StoredModel, describe, load_model, now_text, save_model

ADDED = ("sentiment", "polarity", "themes")
BATCH = 1000
Themer = Callable[[list[str]], list[tuple[str, ...]]]


def count_rows(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as file:
        return max(sum(1 for _ in csv.reader(file)) - 1, 0)


def themer(codebook_or_model: str, models_dir: Path) -> Themer:
    """A built-in or file codebook; or a learnt model, whose themes add to its base codebook's."""
    stored = load_model(models_dir, codebook_or_model)
    if stored is None:
        codebook = load_codebook(codebook_or_model)
        return lambda texts: [themes_of(text, codebook) for text in texts]
    base = load_codebook(stored.codebook) if stored.codebook else None

    def combined(texts: list[str]) -> list[tuple[str, ...]]:
        learnt = stored.themes.predict(texts)
        if base is None:
            return learnt
        return [tuple(dict.fromkeys((*themes_of(text, base), *more))) for text, more in zip(texts, learnt, strict=True)]

    return combined


def _rows(source: Path, required: list[str | None]) -> Iterator[tuple[list[str], Iterator[dict[str, str]]]]:
    try:
        with source.open(encoding="utf-8-sig", newline="") as infile:
            reader = csv.DictReader(infile)
            columns = list(reader.fieldnames or [])
            for wanted in required:
                if wanted is not None and wanted not in columns:
                    raise InputError(
                        f"{source.name}: no column '{wanted}'; its columns are {', '.join(columns) or 'none'}"
                    )
            yield columns, iter(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"{source.name}: cannot read this as a UTF-8 CSV file: {error}") from None


def analyse_csv(
    source: Path,
    target: Path,
    text_column: str,
    question_column: str | None,
    themes: Themer,
    progress: Callable[[int], None] = lambda _: None,
) -> int:
    """Copy every row and add sentiment, polarity and themes (separated by ;); returns the rows written."""
    written = 0
    for columns, rows in _rows(source, [text_column, question_column]):
        with target.open("w", encoding="utf-8", newline="") as outfile:
            writer = csv.DictWriter(outfile, [*columns, *(c for c in ADDED if c not in columns)])
            writer.writeheader()
            while batch := list(islice(rows, BATCH)):
                texts = [row.get(text_column) or "" for row in batch]
                for row, text, found in zip(batch, texts, themes(texts), strict=True):
                    sentiment = analyse(text, row.get(question_column) if question_column else None)
                    row.update(sentiment=sentiment.label, polarity=f"{sentiment.polarity:.3f}", themes=";".join(found))
                    writer.writerow(row)
                written += len(batch)
                progress(len(batch))
    return written


def learn_from_csv(
    source: Path, text_column: str, themes_column: str, name: str, models_dir: Path, codebook: str | None
) -> StoredModel:
    """Learn themes from coded rows (themes separated by ;) and store the model under `name`."""
    texts: list[str] = []
    coded: list[tuple[str, ...]] = []
    for _, rows in _rows(source, [text_column, themes_column]):
        for row in rows:
            text = (row.get(text_column) or "").strip()
            if text:
                texts.append(text)
                coded.append(tuple(t.strip() for t in (row.get(themes_column) or "").split(";") if t.strip()))
    if codebook:
        load_codebook(codebook)
    stored = StoredModel(name, learn_themes(texts, coded), codebook, now_text(), describe(source, len(texts)))
    save_model(models_dir, stored)
    return stored
