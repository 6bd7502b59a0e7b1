"""anonymous surveys held until their week ends, then released together: released as each finished, on
PostgreSQL their keyless rows carried the id of the transaction that marked the person's invitation done

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Rows already released carry the transaction of the person who gave them; written again, they carry this one.
RESTAMPED = (
    "UPDATE response SET period = period WHERE participant_key IS NULL",
    "UPDATE answer SET text = text WHERE response_id IN (SELECT id FROM response WHERE participant_key IS NULL)",
    "UPDATE text_analysis SET sentiment = sentiment "
    "WHERE response_id IN (SELECT id FROM response WHERE participant_key IS NULL)",
    "UPDATE answer_tally SET count = count",
)


def upgrade() -> None:
    op.create_table(
        "anonymous_held",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("survey_version_id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column(
            "state", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_anonymous_held_contact_id_contact"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["survey_version_id"],
            ["survey_version.id"],
            name=op.f("fk_anonymous_held_survey_version_id_survey_version"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["wave_id"], ["wave.id"], name=op.f("fk_anonymous_held_wave_id_wave"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_anonymous_held_organisation_id_organisation"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["area_id"], ["area.id"], name=op.f("fk_anonymous_held_area_id_area"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anonymous_held")),
    )
    op.create_index(op.f("ix_anonymous_held_contact_id"), "anonymous_held", ["contact_id"])
    op.create_index(op.f("ix_anonymous_held_period"), "anonymous_held", ["period"])
    if op.get_bind().dialect.name == "postgresql":
        for statement in RESTAMPED:
            op.execute(statement)


def downgrade() -> None:
    op.drop_index(op.f("ix_anonymous_held_period"), table_name="anonymous_held")
    op.drop_index(op.f("ix_anonymous_held_contact_id"), table_name="anonymous_held")
    op.drop_table("anonymous_held")
