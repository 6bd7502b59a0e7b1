"""outbox index for claiming replies before invitations, reminders and summaries

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 22:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_outbox_conversation", "outbox", ["status", "kind", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_conversation", table_name="outbox")
