"""text analysis without a time: when a staff member's anonymous free text was analysed, a minute at most after
they finished, would join their answers to the outbox's record of the thanks sent to them

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("text_analysis", schema=None) as batch_op:
        batch_op.drop_column("analysed_at")


def downgrade() -> None:
    """The column comes back empty: the times it held are gone, as they were meant to be."""
    with op.batch_alter_table("text_analysis", schema=None) as batch_op:
        batch_op.add_column(sa.Column("analysed_at", storage.types.UTCDateTime(timezone=True), nullable=True))
