"""INSERT ... ON CONFLICT DO NOTHING on both databases: the race-free way to claim a key once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from itertools import islice
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.dml import Insert

from storage.connection import core_connection

BATCH = 200


@cache
def _insert_or_nothing(dialect_name: str, table: Table) -> Insert:
    """Built once per table: every answer claims a receipt and queues a reply, and building it anew cost more than running it."""
    if dialect_name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


async def insert_once(session: AsyncSession, model: type[DeclarativeBase], **values: Any) -> bool:
    """Insert a row unless one with the same unique key exists; True when this call inserted it."""
    return bool((await _insert(session, model, values)).rowcount)


async def insert_many_once(
    session: AsyncSession, model: type[DeclarativeBase], rows: Iterable[Mapping[str, Any]]
) -> None:
    """Insert rows a batch per statement, skipping those whose unique key exists already.

    Between batches the event loop serves others. On SQLite the writer runs on
    the loop's thread, and queueing a 10,000-person wave a statement a row held
    the loop for 2.2 s, with webhooks and /healthz waiting. Rows from a
    generator are built a batch at a time, so building them is interleaved too.
    """
    iterator = iter(rows)
    batch = list(islice(iterator, BATCH))
    while batch:
        await _insert(session, model, batch)
        if batch := list(islice(iterator, BATCH)):
            await asyncio.sleep(0)


async def _insert(
    session: AsyncSession, model: type[DeclarativeBase], values: Mapping[str, Any] | Sequence[Mapping[str, Any]]
) -> CursorResult[Any]:
    connection = await core_connection(session)
    table = model.metadata.tables[model.__tablename__]
    return await connection.execute(_insert_or_nothing(connection.dialect.name, table), values)
