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


def upgrade() -> None:
    """Each document is read with this release's words, the ones it was asked with: no release before this
    one changed them. One that cannot be read is left as it was, as unreadable as before."""
    for version_id, version, stored in _versions():
        if is_definition(stored):
            continue
        try:
            survey = survey_from_document(stored)
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


def _versions() -> list[tuple[int, str, dict[str, Any]]]:
    rows = op.get_bind().execute(sa.select(VERSION.c.id, VERSION.c.version, VERSION.c.document))
    return [(version_id, version, stored) for version_id, version, stored in rows if isinstance(stored, dict)]


def _store(version_id: int, document: dict[str, Any]) -> None:
    op.get_bind().execute(sa.update(VERSION).where(VERSION.c.id == version_id).values(document=document))
