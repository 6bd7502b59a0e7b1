"""Learnt theme models on disk (CHORUS_MODELS_DIR): written by `chorus themes learn`, read by `chorus analyse`.

A model file is a joblib pickle: load only files this installation wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib

from analysis.errors import InputError
from analysis.learnt import LearntSentiment, LearntThemes
from bot.private_file import cannot_write, private_file

FORMAT = 1


@dataclass(frozen=True)
class StoredModel:
    name: str
    themes: LearntThemes
    codebook: str | None
    trained_at: str
    source: str
    sentiment: LearntSentiment | None = None


def model_path(models_dir: Path, name: str) -> Path:
    return models_dir / f"{name}.joblib"


def save_model(models_dir: Path, stored: StoredModel) -> Path:
    """Whole or not at all (a model cut short by a full disk would fail every later `chorus analyse`), and
    private to its owner: it was learnt from what residents wrote."""
    path = model_path(models_dir, stored.name)
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise cannot_write(path, error) from None
    with private_file(path) as partial:
        joblib.dump({"format": FORMAT, "model": stored}, partial)
    return path


def load_model(models_dir: Path, name: str) -> StoredModel | None:
    """The learnt model called `name`, or None when there is none by that name."""
    path = model_path(models_dir, name)
    if not path.is_file():
        return None
    content: Any = joblib.load(path)
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise InputError(f"{path}: not a Chorus theme model of this version; learn it again with `chorus themes learn`")
    stored = content["model"]
    assert isinstance(stored, StoredModel)
    return stored


def describe(source: Path, rows: int) -> str:
    return f"{source.name}, {rows} coded answers"


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
