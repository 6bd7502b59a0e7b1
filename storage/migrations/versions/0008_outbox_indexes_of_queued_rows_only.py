"""outbox indexes of queued rows only, and of rows in flight: sent rows are kept, and no longer indexed by status;
and an index of the rows a wave queued, which `chorus wave open --follow` counts every second

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUED = sa.text("status = 'queued'")
SENDING = sa.text("status = 'sending'")
INVITED = sa.text("invitation_id IS NOT NULL")


def upgrade() -> None:
    for name in ("ix_outbox_claim", "ix_outbox_conversation", "ix_outbox_order"):
        op.drop_index(name, table_name="outbox")
    op.create_index("ix_outbox_claim", "outbox", ["id"], sqlite_where=QUEUED, postgresql_where=QUEUED)
    op.create_index("ix_outbox_conversation", "outbox", ["kind", "id"], sqlite_where=QUEUED, postgresql_where=QUEUED)
    op.create_index(
        "ix_outbox_order", "outbox", ["channel", "address", "id"], sqlite_where=QUEUED, postgresql_where=QUEUED
    )
    op.create_index("ix_outbox_in_flight", "outbox", ["id"], sqlite_where=SENDING, postgresql_where=SENDING)
    op.create_index("ix_outbox_invitation", "outbox", ["invitation_id"], sqlite_where=INVITED, postgresql_where=INVITED)


def downgrade() -> None:
    for name in (
        "ix_outbox_invitation",
        "ix_outbox_in_flight",
        "ix_outbox_order",
        "ix_outbox_conversation",
        "ix_outbox_claim",
    ):
        op.drop_index(name, table_name="outbox")
    op.create_index("ix_outbox_claim", "outbox", ["status", "id"])
    op.create_index("ix_outbox_conversation", "outbox", ["status", "kind", "id"])
    op.create_index("ix_outbox_order", "outbox", ["channel", "address", "status", "id"])
