"""survey versions stored with every word they ask: stored as YAML documents, they named Chorus's built-in
words (a likert scale, "Other", Yes and No), so a release that mended one would change what an answered
version asks, and its hash, and stop every resident part-way through it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 21:50:00
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from surveys.definition import from_definition, is_definition, to_definition
from surveys.document import to_document
from surveys.errors import SurveyError
from surveys.loader import survey_from_document

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger("alembic.runtime.migration")
VERSION = sa.table("survey_version", sa.column("id"), sa.column("version"), sa.column("document", sa.JSON))
# The one built-in word this release changed: what a document stored before it asked after "Other" when it said
# `other: true`. Every other built-in word is as it was.
OTHER_PROMPT_BEFORE = {"en": "Please say", "pl": "Proszę podać", "ur": "براہ کرم بتائیں"}


def upgrade() -> None:
    """Each document is read with the words it was asked with. One that cannot be read is left as it was, as
    unreadable as before."""
    for version_id, version, stored in _versions():
        if is_definition(stored):
            continue
        try:
            survey = survey_from_document(_as_asked(stored))
        except SurveyError as error:
            logger.warning("survey version %s could not be read, and is left as it was: %s", version_id, error)
            continue
        if survey.version != version:
            logger.warning("survey version %s reads back with a different hash: its words may have changed", version_id)
        _store(version_id, to_definition(survey))


def downgrade() -> None:
    for version_id, _, stored in _versions():
        if is_definition(stored):
            _store(version_id, to_document(from_definition(stored)))


def _as_asked(document: dict[str, Any]) -> dict[str, Any]:
    """The document with `other: true` spelled out as it was then, kept to the survey's languages as
    surveys.scales.only keeps built-in words."""
    languages = list(document.get("languages") or [])
    kept = {language: words for language, words in OTHER_PROMPT_BEFORE.items() if language in languages}
    asked = kept or ({languages[0]: OTHER_PROMPT_BEFORE["en"]} if languages else OTHER_PROMPT_BEFORE["en"])
    return {**document, "questions": [_spelled_out(item, asked) for item in document.get("questions") or []]}


def _spelled_out(item: Any, asked: dict[str, str] | str) -> Any:
    if not isinstance(item, dict):
        return item
    if "group" in item:
        return {**item, "questions": [_spelled_out(inner, asked) for inner in item.get("questions") or []]}
    return {**item, "other": asked} if item.get("other") is True else item


def _versions() -> list[tuple[int, str, dict[str, Any]]]:
    rows = op.get_bind().execute(sa.select(VERSION.c.id, VERSION.c.version, VERSION.c.document))
    return [(version_id, version, stored) for version_id, version, stored in rows if isinstance(stored, dict)]


def _store(version_id: int, document: dict[str, Any]) -> None:
    op.get_bind().execute(sa.update(VERSION).where(VERSION.c.id == version_id).values(document=document))
