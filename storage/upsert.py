"""INSERT ... ON CONFLICT DO NOTHING on both databases: the race-free way to claim a key once."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.dml import Insert


@cache
def _insert_or_nothing(dialect_name: str, table: Table) -> Insert:
    """Built once per table: every answer claims a receipt and queues a reply, and building it anew cost more than running it."""
    if dialect_name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


async def insert_once(session: AsyncSession, model: type[DeclarativeBase], **values: Any) -> bool:
    """Insert a row unless one with the same unique key exists; True when this call inserted it."""
    await session.flush()  # Core skips the ORM's autoflush: rows added earlier in the transaction go first
    connection = await session.connection()
    table = model.metadata.tables[model.__tablename__]
    result = await connection.execute(_insert_or_nothing(connection.dialect.name, table), values)
    return bool(result.rowcount)
