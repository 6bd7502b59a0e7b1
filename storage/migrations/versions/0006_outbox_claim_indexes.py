"""outbox indexes for claiming in id order without sorting the queue (replacing status, not_before)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.create_index("ix_outbox_claim", "outbox", ["status", "id"], unique=False)
    op.create_index("ix_outbox_order", "outbox", ["channel", "address", "status", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_order", table_name="outbox")
    op.drop_index("ix_outbox_claim", table_name="outbox")
    op.create_index("ix_outbox_due", "outbox", ["status", "not_before"], unique=False)
