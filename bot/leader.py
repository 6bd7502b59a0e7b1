"""Which process leads: the one that runs the scheduler and the outbox sender. Every process serves requests.

On PostgreSQL the leader holds a session advisory lock on a connection of its
own; when the process dies its connection closes, the server frees the lock,
and a follower (trying every CHECK_SECONDS) takes over. On SQLite an exclusive
flock on a file beside the database does the same for processes on one machine.

On SQLite every Chorus process also holds a shared flock on a second file
beside the database while it may open it (`in_use`), and a restore holds it
exclusively (`service_stopped`): a restore replaces the file whole, and a
process that opened the old one meanwhile, a follower or a command started
while the restore ran, would write into the replaced file, where it is lost.

Usage:
    async with Leadership(runtime.db) as leadership:
        await leadership.acquired()      # waits until this process leads
        await leadership.lost()          # returns if the lead is lost (the database connection broke)
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import IO

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.errors import RestoreRunning, ServiceRunning
from storage.backup import file_of
from storage.database import Database
from storage.errors import DatabaseUnavailable

logger = logging.getLogger(__name__)
CHECK_SECONDS = 1.0


def lock_key(db: Database) -> int:
    """A stable 32-bit key per database and schema, so test schemas in one database do not share a leader."""
    return zlib.crc32(f"chorus-leader:{db.schema or ''}".encode()) & 0x7FFFFFFF


def lead_file(database: Path) -> Path:
    """The file beside an SQLite database whose exclusive flock is the lead."""
    return database.with_name(f"{database.name}.leader")


def in_use_file(database: Path) -> Path:
    """The file beside an SQLite database that each process using it holds a shared flock on."""
    return database.with_name(f"{database.name}.in-use")


@contextmanager
def service_stopped(database: Path) -> Iterator[None]:
    """Hold an SQLite database against every other Chorus process, for a command that replaces it (a restore).

    Raises ServiceRunning while a `chorus run` leads on it, as one does from
    its start until it stops, or while any Chorus process may open it (a
    second `chorus run`, which follows, or any other command).
    """
    with lead_file(database).open("ab") as lead, in_use_file(database).open("ab") as users:
        try:
            fcntl.flock(lead.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = lead_file(database).read_text().strip() or "unknown"
            raise ServiceRunning(f"chorus run is running on {database} (process {pid}); stop it first") from None
        try:
            fcntl.flock(users.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ServiceRunning(f"{database} is open in another process; stop it before restoring") from None
        yield


@contextmanager
def in_use(database_url: str) -> Iterator[None]:
    """Say, for as long as this process may open the database, that a restore must not replace it.

    Raises RestoreRunning while a restore is replacing it, and DatabaseUnavailable
    when no file can be made beside it (its folder is missing, say). Nothing
    for PostgreSQL, whose restores (pg_restore) are the server's business.
    """
    database = file_of(database_url)
    if database is None:
        yield
        return
    try:
        handle = in_use_file(database).open("ab")
    except OSError as error:
        raise DatabaseUnavailable(
            f"CHORUS_DATABASE_URL: cannot open the database: cannot make a file beside {database} ({error.strerror})"
        ) from None
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RestoreRunning(
                f"chorus db restore is replacing {database}; start again when it has finished"
            ) from None
        yield


class Leadership:
    def __init__(self, db: Database, check_seconds: float = CHECK_SECONDS) -> None:
        self.db = db
        self.check_seconds = check_seconds
        self._connection: AsyncConnection | None = None
        self._file: IO[bytes] | None = None

    async def __aenter__(self) -> Leadership:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.release()

    async def acquired(self) -> None:
        """Return once this process holds the lead."""
        while not await self._try():
            await asyncio.sleep(self.check_seconds)
        logger.info("this process now leads: it runs the scheduler and the outbox sender")

    async def lost(self) -> None:
        """Return when the lead is lost; on SQLite a held flock is never lost while the process lives."""
        while True:
            await asyncio.sleep(self.check_seconds)
            if self._connection is None:
                continue
            try:
                await self._connection.execute(text("SELECT 1"))
            except Exception as error:
                logger.warning("lost the database connection that held the lead (%s)", error)
                await self.release()
                return

    async def _try(self) -> bool:
        if self.db.is_sqlite:
            return self._try_file()
        try:
            connection = await self.db.writer.connect()
        except Exception as error:
            logger.warning("cannot reach the database to take the lead (%s)", error)
            return False
        key = lock_key(self.db)
        try:
            held = bool(await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
            await connection.commit()
        except Exception:
            await connection.close()
            raise
        if held:
            self._connection = connection
        else:
            await connection.close()
        return held

    def _try_file(self) -> bool:
        handle = lead_file(Path(make_url(self.db.url).database or "chorus.db")).open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        self._file = handle
        return True

    async def release(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            try:
                await connection.invalidate()  # closed, not pooled: a pooled connection would keep the lock
                await connection.close()
            except Exception:
                logger.debug("the leader's connection was already gone")
        if self._file is not None:
            self._file.close()
            self._file = None
