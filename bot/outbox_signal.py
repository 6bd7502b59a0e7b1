"""Waking the leader's outbox sender from whichever process queued a message.

On PostgreSQL a reply may be queued by any process serving webhooks, while
only the leader sends; without a signal the reply would wait for the
sender's next poll (up to half a second). The queuing process sends a
NOTIFY after its commit and the leader LISTENs on a connection of its own.
On SQLite one process does everything and its sender is woken directly.

Usage:
    await announce(runtime.db)                    # after committing outbox rows, in a follower
    async with listening(runtime.db, sender.wake):
        ...                                       # the leader, while it sends
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text

from bot.leader import lock_key
from storage.database import Database

logger = logging.getLogger(__name__)


def channel_name(db: Database) -> str:
    """One channel per database and schema, as for the leader lock."""
    return f"chorus_outbox_{lock_key(db)}"


async def announce(db: Database) -> None:
    """Tell the leader there is something to send; a no-op on SQLite. Never raises: the poll is the fallback."""
    if db.is_sqlite:
        return
    try:
        async with db.writer.connect() as connection:
            await connection.execute(text(f"NOTIFY {channel_name(db)}"))
            await connection.commit()
    except Exception as error:
        logger.warning("could not signal the outbox sender (%s); it will find the message on its next poll", error)


@asynccontextmanager
async def listening(db: Database, wake: Callable[[], None]) -> AsyncIterator[None]:
    """Call `wake` whenever another process announces queued messages; nothing to listen for on SQLite."""
    if db.is_sqlite:
        yield
        return
    connection = await db.writer.connect()
    driver: Any = (await connection.get_raw_connection()).driver_connection
    name = channel_name(db)

    def notified(*_: object) -> None:
        wake()

    await driver.add_listener(name, notified)
    try:
        yield
    finally:
        try:
            await driver.remove_listener(name, notified)
        except Exception:
            logger.debug("the listening connection was already gone")
        await connection.invalidate()
        await connection.close()
