"""running tallies of choice answers per week

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 05:53:58.800565
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "answer_tally",
        sa.Column("survey_version_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["survey_version_id"],
            ["survey_version.id"],
            name=op.f("fk_answer_tally_survey_version_id_survey_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("survey_version_id", "period", "question_id", "value", name=op.f("pk_answer_tally")),
    )
    _backfill()


def downgrade() -> None:
    op.drop_table("answer_tally")


def _backfill() -> None:
    """Tally the choice answers of responses completed before this migration."""
    connection = op.get_bind()
    answer = sa.table(
        "answer", sa.column("response_id"), sa.column("question_id"), sa.column("value", sa.JSON), sa.column("text")
    )
    response = sa.table(
        "response", sa.column("id"), sa.column("survey_version_id"), sa.column("period"), sa.column("status")
    )
    rows = connection.execute(
        sa.select(response.c.survey_version_id, response.c.period, answer.c.question_id, answer.c.value)
        .join(response, response.c.id == answer.c.response_id)
        .where(response.c.status == "completed", answer.c.text.is_(None), answer.c.value.is_not(None))
    )
    counts: dict[tuple[int, str, str, str], int] = {}
    for version_id, period, question_id, value in rows:
        for item in value if isinstance(value, list) else [value]:
            key = (version_id, period, question_id, str(item))
            counts[key] = counts.get(key, 0) + 1
    tally = sa.table(
        "answer_tally",
        sa.column("survey_version_id"),
        sa.column("period"),
        sa.column("question_id"),
        sa.column("value"),
        sa.column("count"),
    )
    if counts:
        op.bulk_insert(
            tally,
            [
                {"survey_version_id": k[0], "period": k[1], "question_id": k[2], "value": k[3], "count": n}
                for k, n in counts.items()
            ],
        )
