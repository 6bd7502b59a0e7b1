"""Statements run on the driver's cursor store and read the same values SQLAlchemy would, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    Table,
    bindparam,
    create_engine,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.database import Database
from storage.models import Outbox
from storage.outbox import outbox_row
from storage.prepared import Prepared
from tests.conftest import NOW

OUTBOX = Outbox.metadata.tables["outbox"]
INSERT = Prepared(insert(OUTBOX))
BY_KEY = Prepared(
    select(OUTBOX.c.id, OUTBOX.c.payload, OUTBOX.c.created_at, OUTBOX.c.kind).where(
        OUTBOX.c.dedupe_key == bindparam("key"), OUTBOX.c.status == "queued"
    )
)
SET_STATUS = Prepared(update(OUTBOX).where(OUTBOX.c.dedupe_key == bindparam("key")))


def row(key: str, **changes: object) -> dict[str, object]:
    return (
        outbox_row(channel="telegram", address="1", payload={"text": "Dziękuję", "n": [1, 2]}, dedupe_key=key, now=NOW)
        | changes
    )


async def test_values_go_in_and_come_out_as_the_orm_stores_and_reads_them(db: Database) -> None:
    await db.write(lambda session: INSERT.execute_many(session, [row("a"), row("b")]))

    found = await db.fetch(lambda session: BY_KEY.first(session, {"key": "a"}))
    async with db.read() as session:
        stored = await session.scalar(select(Outbox).where(Outbox.dedupe_key == "a"))
    assert stored is not None and found is not None
    assert (found.id, found.payload, found.created_at, found.kind) == (
        stored.id,
        stored.payload,
        stored.created_at,
        stored.kind,
    )
    assert found.payload == {"text": "Dziękuję", "n": [1, 2]}
    assert found.created_at == NOW and found.created_at.tzinfo is not None


async def test_a_literal_in_the_statement_is_bound_and_the_changed_rows_counted(db: Database) -> None:
    await db.write(lambda session: INSERT.execute_many(session, [row("a"), row("b", status="sent")]))

    assert await db.fetch(lambda session: BY_KEY.first(session, {"key": "b"})) is None
    changed = await db.write(lambda session: SET_STATUS.execute(session, {"key": "a", "status": "sent"}))
    unchanged = await db.write(lambda session: SET_STATUS.execute(session, {"key": "nobody", "status": "sent"}))
    assert (changed, unchanged) == (1, 0)
    assert await db.fetch(lambda session: BY_KEY.first(session, {"key": "a"})) is None


async def test_a_constant_default_is_filled_in_for_a_value_left_out(db: Database) -> None:
    without_kind = {name: value for name, value in row("a").items() if name != "kind"}
    await db.write(lambda session: INSERT.execute(session, without_kind))

    found = await db.fetch(lambda session: BY_KEY.first(session, {"key": "a"}))
    assert found is not None and found.kind == "reply"


async def test_a_driver_error_is_sqlalchemys_and_nothing_of_the_transaction_stays(db: Database) -> None:
    def twice(session: Session) -> None:
        INSERT.execute(session, row("a"))
        INSERT.execute(session, row("b") | {"id": session.scalar(select(func.max(Outbox.id)))})

    with pytest.raises(IntegrityError):
        await db.write(twice)
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Outbox)) == 0


def test_a_statement_that_needs_a_computed_default_is_refused() -> None:
    table = Table(
        "stamped", MetaData(), Column("id", Integer, primary_key=True), Column("at", DateTime, default=func.now)
    )
    with Session(create_engine("sqlite://")) as session, pytest.raises(TypeError, match=r"stamped\.at needs"):
        Prepared(insert(table)).execute(session, {"id": 1})


async def test_the_same_statement_serves_different_sets_of_values(db: Database) -> None:
    await db.write(lambda session: INSERT.execute(session, row("a")))

    later = NOW + timedelta(days=1)
    await db.write(lambda session: SET_STATUS.execute(session, {"key": "a", "not_before": later}))
    await db.write(lambda session: SET_STATUS.execute(session, {"key": "a", "attempts": 2, "last_error": "429"}))
    async with db.read() as session:
        stored = await session.scalar(select(Outbox).where(Outbox.dedupe_key == "a"))
    assert stored is not None
    assert (stored.not_before, stored.attempts, stored.last_error, stored.status) == (later, 2, "429", "queued")


def test_a_value_computed_when_run_is_refused() -> None:
    statement = select(OUTBOX.c.id).where(OUTBOX.c.attempts == bindparam("attempts", callable_=lambda: 1))
    with Session(create_engine("sqlite://")) as session, pytest.raises(TypeError, match="computed when run"):
        Prepared(statement).first(session, {})
