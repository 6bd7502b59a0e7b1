"""The database handle: an async facade with one path for reads and one for writes.

On SQLite every write goes through one connection, one at a time, opened with
BEGIN IMMEDIATE, and is retried if another process holds the lock, so callers
never see "database is locked"; reads run in parallel on their own connections
(WAL lets them). On PostgreSQL both paths share a pool, and a write is retried
on a serialization failure or deadlock. A write is a function of a session, so
it can safely run again.

Usage:
    db = Database.open("sqlite+aiosqlite:///chorus.db")
    contact_id = await db.write(lambda session: add_contact(session, ...))
    async with db.read() as session: ...
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage import inline_sqlite

logger = logging.getLogger(__name__)
T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000
WRITE_ATTEMPTS = 12  # about 15 s of backing off in all: another process's long write is waited out
GROUP_COMMIT = 64
RETRYABLE_SQLSTATES = {"40001", "40P01"}


def _sqlite_pragmas(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy, not the driver, decides when to BEGIN
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", f"busy_timeout={busy_timeout_ms}"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()


def _begin_reading(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def start(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")


def _begin_writing(engine: Engine) -> None:
    """Every write transaction takes the write lock at once (BEGIN IMMEDIATE), so it cannot fail halfway for a lock.

    The writer's driver is sqlite3 on this thread (storage/inline_sqlite.py), so
    BEGIN goes to it directly: through exec_driver_sql it cost a fifth of an
    empty transaction. Its error is raised as SQLAlchemy's, as exec_driver_sql
    would, so a busy database is retried like any other write.
    """

    @event.listens_for(engine, "begin")
    def start(connection: Any) -> None:
        try:
            connection.connection.driver_connection.begin_immediate()
        except sqlite3.OperationalError as error:
            raise OperationalError("BEGIN IMMEDIATE", None, error) from error


async def _in_turn(session: AsyncSession, works: list[Callable[[AsyncSession], Awaitable[Any]]]) -> list[Any]:
    return [await work(session) for work in works]


def _retryable(error: DBAPIError) -> bool:
    if isinstance(error, OperationalError) and "database is locked" in str(error.orig):
        return True
    return getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


class Database:
    def __init__(self, url: str, writer: AsyncEngine, reader: AsyncEngine, schema: str | None = None) -> None:
        self.url = url
        self.schema = schema
        self.writer = writer
        self.reader = reader
        self.is_sqlite = writer.dialect.name == "sqlite"
        self._write_sessions = async_sessionmaker(writer, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(reader, expire_on_commit=False)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._queue: list[tuple[Callable[[AsyncSession], Awaitable[Any]], asyncio.Future[Any]]] = []
        self._draining = False

    @classmethod
    def open(cls, url: str, pool_size: int = 10, schema: str | None = None) -> Database:
        """Connect lazily; `schema` puts a PostgreSQL database's tables in that schema (tests use one each)."""
        if url.startswith("sqlite"):
            path = make_url(url).database or ""
            writer = create_async_engine(
                url, pool_size=1, max_overflow=0, async_creator=lambda: inline_sqlite.connect(path)
            )
            reader = create_async_engine(url, pool_size=pool_size, max_overflow=0)
            _sqlite_pragmas(writer.sync_engine, inline_sqlite.BUSY_TIMEOUT_MS)
            _begin_writing(writer.sync_engine)
            _sqlite_pragmas(reader.sync_engine, BUSY_TIMEOUT_MS)
            _begin_reading(reader.sync_engine)
            return cls(url, writer, reader)
        connect_args = {"server_settings": {"search_path": schema}} if schema else {}
        engine = create_async_engine(
            url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, connect_args=connect_args
        )
        return cls(url, engine, engine, schema)

    async def write(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work` in one transaction and commit it; retried whole if the database was busy.

        On SQLite, writes that arrive while another is running wait in a queue and
        then commit together (group commit): each work runs in turn in one
        transaction, and each caller hears back only after that commit. If any of
        them fails, the batch is rolled back and every work runs again on its own.
        """
        if self._write_lock is None:
            return await self._write_alone(work)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((work, future))
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future  # type: ignore[no-any-return]

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[:GROUP_COMMIT], self._queue[GROUP_COMMIT:]
                await self._write_batch(batch)
        finally:
            self._draining = False

    async def _write_batch(
        self, batch: list[tuple[Callable[[AsyncSession], Awaitable[Any]], asyncio.Future[Any]]]
    ) -> None:
        if len(batch) > 1:
            try:
                results = await self._write_alone(lambda session: _in_turn(session, [work for work, _ in batch]))
            except Exception:
                logger.debug("a write in a group of %s failed; running each on its own", len(batch))
            else:
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
                return
        for work, future in batch:
            try:
                result = await self._write_alone(work)
            except Exception as error:
                if not future.done():
                    future.set_exception(error)
            else:
                if not future.done():
                    future.set_result(result)

    async def _write_alone(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                if self._write_lock is None:
                    return await self._write_once(work)
                async with self._write_lock:
                    return await self._write_once(work)
            except DBAPIError as error:
                if not _retryable(error) or attempt == WRITE_ATTEMPTS:
                    raise
                logger.info("database busy, retrying write (attempt %s)", attempt)
                await asyncio.sleep(min(0.05 * 2**attempt, 2.0))
        raise AssertionError("unreachable")

    async def _write_once(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with self._write_sessions() as session, session.begin():
            return await work(session)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read_sessions() as session:
            yield session

    async def close(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()
