"""The connection under a session, for statements run through SQLAlchemy Core inside the session's transaction.

Statements that need no ORM objects run on it: through Core, or straight on
the driver's cursor (storage/prepared.py, which the answer path uses).

Usage:
    core_connection(session).execute(STATEMENT, parameters)
"""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.orm import Session


def core_connection(session: Session) -> Connection:
    """The session's connection, with any rows added or changed through the ORM written first.

    Core skips the ORM's autoflush, so without the flush a statement could miss
    rows added earlier in the same transaction. A session bound to a connection
    (the SQLite writer's) runs in that connection's transaction, so the
    connection is returned as it is: asking the session for it cost more than
    some of the statements run on it. Only an object the session holds can
    be changed or deleted; asking an empty session which are was 2.5% of the
    instructions of a typed answer's turn, whose statements hold none.
    """
    if session.new or (session.identity_map and (session.dirty or session.deleted)):
        session.flush()
    if isinstance(session.bind, Connection):
        return session.bind
    return session.connection()
