"""The connection under a session, for statements run through SQLAlchemy Core inside the session's transaction.

The answer path runs its statements through Core (built once, bound
parameters), but getting at the connection and flushing the ORM's pending
rows first each cross SQLAlchemy's asyncio bridge (a greenlet switch and back).
A button press made eight such crossings, most of them for nothing: no ORM
row pending, and the same connection as the statement before.

Usage:
    connection = await core_connection(session)
    await connection.execute(STATEMENT, parameters)
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

_KEY = "chorus.core_connection"


async def core_connection(session: AsyncSession) -> AsyncConnection:
    """The session's connection, with any rows added or changed through the ORM written first.

    Core skips the ORM's autoflush, so without the flush a statement could miss
    rows added earlier in the same transaction. The connection is kept for the
    rest of the transaction.
    """
    if session.new or session.dirty or session.deleted:
        await session.flush()
    kept: tuple[object, AsyncConnection] | None = session.info.get(_KEY)
    if kept is not None and kept[0] is session.sync_session.get_transaction():
        return kept[1]
    connection = await session.connection()
    session.info[_KEY] = (session.sync_session.get_transaction(), connection)
    return connection
