"""outreach: wave reminder settings, scheduled runs, outbox kinds, contacts' services

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 13:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scheduled_run",
        sa.Column("job", sa.String(length=128), nullable=False),
        sa.Column("slot", sa.String(length=32), nullable=False),
        sa.Column("ran_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job", "slot", name=op.f("pk_scheduled_run")),
    )
    with op.batch_alter_table("wave", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminders_max", sa.Integer(), nullable=False, server_default="2"))
        batch_op.add_column(sa.Column("reminder_every_days", sa.Integer(), nullable=False, server_default="3"))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="reply"))
        batch_op.add_column(sa.Column("invitation_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_invitation_id_invitation"),
            "invitation",
            ["invitation_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("service_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_contact_service_id_service"), "service", ["service_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_contact_service_id_service"), type_="foreignkey")
        batch_op.drop_column("service_id")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_outbox_invitation_id_invitation"), type_="foreignkey")
        batch_op.drop_column("invitation_id")
        batch_op.drop_column("kind")
    with op.batch_alter_table("wave", schema=None) as batch_op:
        batch_op.drop_column("reminder_every_days")
        batch_op.drop_column("reminders_max")
    op.drop_table("scheduled_run")
