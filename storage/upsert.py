"""INSERT ... ON CONFLICT DO NOTHING on both databases: the race-free way to claim a key once."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


async def insert_once(session: AsyncSession, model: type[DeclarativeBase], **values: Any) -> bool:
    """Insert a row unless one with the same unique key exists; True when this call inserted it."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(model).values(**values).on_conflict_do_nothing()
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0))
