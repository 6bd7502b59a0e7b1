"""`chorus analyse` and `chorus themes learn`: what an analyst does with a CSV file of answers.

Rows are read and written in batches, so 100,000 rows need no more memory than a thousand.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

from analysis.errors import InputError
from analysis.learnt import learn_sentiment, learn_themes
from analysis.sentiment import Sentiment, analyse
from analysis.themes import load_codebook, themes_of
from bot.learnt_store import StoredModel, describe, load_model, now_text, save_model
from bot.private_file import private_file

ADDED = ("sentiment", "polarity", "themes")
BATCH = 1000
Analyser = Callable[[list[str], list[str | None]], list[tuple[Sentiment, tuple[str, ...]]]]


def count_rows(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as file:
        return max(sum(1 for _ in csv.reader(file)) - 1, 0)


def analyser(codebook_or_model: str, models_dir: Path) -> Analyser:
    """Rules and a codebook (built-in or a file); or a learnt model, whose themes add to its base codebook's
    and whose learnt sentiment, if it has one, gives the label."""
    stored = load_model(models_dir, codebook_or_model)
    base = (
        load_codebook(codebook_or_model)
        if stored is None
        else (load_codebook(stored.codebook) if stored.codebook else None)
    )

    def run(texts: list[str], questions: list[str | None]) -> list[tuple[Sentiment, tuple[str, ...]]]:
        sentiments = [analyse(text, question) for text, question in zip(texts, questions, strict=True)]
        themes = [themes_of(text, base) if base else () for text in texts]
        if stored is not None:
            learnt = stored.themes.predict(texts)
            themes = [tuple(dict.fromkeys((*rules, *more))) for rules, more in zip(themes, learnt, strict=True)]
            if stored.sentiment is not None:
                labels = stored.sentiment.predict(texts, questions)
                sentiments = [Sentiment(label, s.polarity) for label, s in zip(labels, sentiments, strict=True)]
        return list(zip(sentiments, themes, strict=True))

    return run


def _rows(source: Path, required: list[str | None]) -> Iterator[tuple[list[str], Iterator[dict[str, str]]]]:
    """Opens the file and checks its columns; the rows come one at a time, each checked for stray values."""
    try:
        with source.open(encoding="utf-8-sig", newline="") as infile:
            reader = csv.DictReader(infile)
            columns = list(reader.fieldnames or [])
            for wanted in required:
                if wanted is not None and wanted not in columns:
                    raise InputError(
                        f"{source.name}: no column '{wanted}'; its columns are {', '.join(columns) or 'none'}"
                    )
            yield columns, _checked(reader, source)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"{source.name}: cannot read this as a UTF-8 CSV file: {error}") from None


def _checked(reader: csv.DictReader[str], source: Path) -> Iterator[dict[str, str]]:
    for row in reader:
        if None in row:
            raise InputError(
                f"{source.name}: line {reader.line_num}: more values than columns; put text with commas in quotes"
            )
        yield row


def analyse_csv(
    source: Path,
    target: Path,
    text_column: str,
    question_column: str | None,
    analyse_batch: Analyser,
    progress: Callable[[int], None] = lambda _: None,
) -> int:
    """Copy every row and add sentiment, polarity and themes (separated by ;); returns the rows written.

    The output appears only when every row is done: a bad row leaves no half-written file behind. It holds
    what people wrote, so it is private to its owner like a subject access export.
    """
    with private_file(target) as partial:
        return _analyse_into(source, partial, text_column, question_column, analyse_batch, progress)


def _analyse_into(
    source: Path,
    target: Path,
    text_column: str,
    question_column: str | None,
    analyse_batch: Analyser,
    progress: Callable[[int], None],
) -> int:
    written = 0
    for columns, rows in _rows(source, [text_column, question_column]):
        with target.open("w", encoding="utf-8", newline="") as outfile:
            writer = csv.DictWriter(outfile, [*columns, *(c for c in ADDED if c not in columns)])
            writer.writeheader()
            while batch := list(islice(rows, BATCH)):
                texts = [row.get(text_column) or "" for row in batch]
                questions = [row.get(question_column) if question_column else None for row in batch]
                for row, (sentiment, found) in zip(batch, analyse_batch(texts, questions), strict=True):
                    row.update(sentiment=sentiment.label, polarity=f"{sentiment.polarity:.3f}", themes=";".join(found))
                    writer.writerow(row)
                written += len(batch)
                progress(len(batch))
    return written


def learn_from_csv(
    source: Path,
    text_column: str,
    themes_column: str,
    name: str,
    models_dir: Path,
    codebook: str | None,
    question_column: str | None = None,
    sentiment_column: str | None = None,
) -> StoredModel:
    """Learn themes (separated by ;), and sentiment when coded, from rows and store the model under `name`."""
    texts: list[str] = []
    coded: list[tuple[str, ...]] = []
    questions: list[str | None] = []
    feelings: list[str] = []
    for _, rows in _rows(source, [text_column, themes_column, question_column, sentiment_column]):
        for row in rows:
            text = (row.get(text_column) or "").strip()
            if text:
                texts.append(text)
                coded.append(tuple(t.strip() for t in (row.get(themes_column) or "").split(";") if t.strip()))
                questions.append(row.get(question_column) if question_column else None)
                feelings.append((row.get(sentiment_column) or "").strip().lower() if sentiment_column else "")
    if codebook:
        load_codebook(codebook)
    sentiment = learn_sentiment(texts, feelings, questions) if sentiment_column else None
    stored = StoredModel(
        name, learn_themes(texts, coded), codebook, now_text(), describe(source, len(texts)), sentiment
    )
    save_model(models_dir, stored)
    return stored
