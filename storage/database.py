"""The database handle: an async facade with one path for reads and one for writes.

A write is a plain function of a synchronous Session, run in one transaction
and committed: it can safely run again, so a busy database is retried. On
SQLite every write goes through one connection, one transaction at a time,
opened with BEGIN IMMEDIATE, and callers never see "database is locked"; reads
run in parallel on their own connections (WAL lets them). On PostgreSQL both
paths share a pool, a write runs through the session's `run_sync`, and it is
retried on a serialization failure or deadlock.

Why writes are synchronous: on SQLite a resident's answer is a handful of
statements that take microseconds each, and each statement through
SQLAlchemy's asyncio layer cost five times what it costs synchronously (the
greenlet switches, not the database). So the SQLite writer is SQLAlchemy's
own pysqlite engine: a quick write's statements (one update's turn, the
sender's claims) run on the event loop's thread, where handing them to a thread
would cost more than they do, and its commit, which waits for the disk, on the
writer's own thread; any other write runs wholly on the writer's thread, so
opening a 10,000-person wave never holds up webhooks.

Usage:
    db = Database.open("sqlite+aiosqlite:///chorus.db")
    contact_id = await db.write(lambda session: add_contact(session, ...))
    waves = await db.fetch(list_waves)
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.engine import Engine, RootTransaction, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

from storage import json_codec

logger = logging.getLogger(__name__)
T = TypeVar("T")
Work = Callable[[Session], T]

BUSY_TIMEOUT_MS = 5000
# The SQLite writer must not sit on another process's lock while it holds the
# event loop, so it waits briefly and write() backs off with asyncio.sleep.
WRITER_BUSY_TIMEOUT_MS = 20
WRITE_ATTEMPTS = 12  # about 15 s of backing off in all: another process's long write is waited out
# How long VACUUM FULL waits for its table's lock each time: writes to the table queue behind it as it waits.
REWRITE_LOCK_TIMEOUT_MS = 50
LOCK_NOT_AVAILABLE = "55P03"
NOT_OWNER = (
    "%s was not rewritten: only the database user that owns it can, the one that ran chorus db upgrade; "
    "its deleted rows stay in its files"
)
GROUP_COMMIT = 64
RETRYABLE_SQLSTATES = {"40001", "40P01"}
# Every engine's: JSON through orjson; and a statement's values kept out of its errors' messages, which go to the
# logs, beyond the reach of erasure and retention: they are residents' answers, chat ids and addresses.
ENGINE_OPTIONS: dict[str, Any] = {
    "json_serializer": json_codec.dumps,
    "json_deserializer": json_codec.loads,
    "hide_parameters": True,
}


def _sqlite_pragmas(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL, so reads go on beside the writer; synchronous=FULL, so a commit survives a power cut or an OS crash;
    secure_delete, so a deleted row is overwritten, not left readable in the file's free space.

    With NORMAL, WAL's commits since the last checkpoint can be lost that way; a
    reply goes out only after its answer is committed, so a resident would have
    been asked the next question about an answer that was gone. FULL cost no
    measurable throughput in bench/ingest.py (group commit shares each fsync).
    An erased person, or a staff member's held survey once released, must not be
    recoverable from a copy of the file; see Database.empty_wal for the log.
    """

    @event.listens_for(engine, "connect")
    def configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy, not the driver, decides when to BEGIN
        cursor = dbapi_connection.cursor()
        pragmas = ("journal_mode=WAL", "synchronous=FULL", "secure_delete=ON", "foreign_keys=ON")
        for pragma in (*pragmas, f"busy_timeout={busy_timeout_ms}"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()


def _sqlite_begin(engine: Engine, statement: str) -> None:
    """Begin with `statement`: BEGIN IMMEDIATE for writers, so a write takes the lock at once and cannot fail halfway for it."""

    @event.listens_for(engine, "begin")
    def start(connection: Any) -> None:
        connection.exec_driver_sql(statement)


def is_transient(error: BaseException) -> bool:
    """Whether the same write may succeed later: the database busy, locked, unreachable or its connection lost.

    Not a refusal of the write itself (a constraint, bad data, a bug in the
    work): trying that again fails the same way.
    """
    if isinstance(error, OperationalError | InterfaceError):
        return True
    if isinstance(error, DBAPIError):
        return error.connection_invalidated or _retryable(error)
    return isinstance(error, OSError | TimeoutError)


def _retryable(error: DBAPIError) -> bool:
    if isinstance(error, OperationalError) and "database is locked" in str(error.orig):
        return True
    return getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


@dataclass
class _Queued:
    work: Work[Any]
    quick: bool
    future: asyncio.Future[Any]


def _in_turn(works: list[Work[Any]]) -> Work[list[Any]]:
    return lambda session: [_done(session, work) for work in works]


def _done(session: Session, work: Work[T]) -> T:
    """Run a write's work; a coroutine function passed by mistake would otherwise commit having done nothing."""
    result = work(session)
    if inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            result.close()
        raise TypeError(f"a write is a plain function of a Session, and {work!r} returned an awaitable")
    return result


def _run(transaction: RootTransaction, work: Work[T]) -> T:
    """Run the work in the transaction, flushed and ready to commit; rolled back if it fails.

    `close` rolls back a transaction still open and leaves alone one that the
    failure has already ended (a flush that failed, say).
    """
    try:
        with Session(bind=transaction.connection, expire_on_commit=False) as session:
            result = _done(session, work)
            session.flush()
            return result
    except BaseException:
        transaction.close()
        raise


async def _back_off(attempt: int) -> None:
    """Wait before trying again: 0.1 s after the first attempt, doubling up to 2 s (WRITE_ATTEMPTS in about 15 s)."""
    await asyncio.sleep(min(0.05 * 2**attempt, 2.0))


def _truncate_wal(path: str) -> bool:
    """One TRUNCATE checkpoint on a connection of its own, outside any transaction (SQLite refuses one inside).

    It waits only briefly: while it waits for readers, no one can write, and a
    resident's answer must not wait seconds behind a long report.
    """
    timeout = WRITER_BUSY_TIMEOUT_MS / 1000
    with closing(sqlite3.connect(path, timeout=timeout, isolation_level=None)) as connection:
        busy: int = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    return busy == 0


def _commit(transaction: RootTransaction) -> None:
    """Commit, and on failure discard the connection.

    A COMMIT that SQLite refuses (a deferred constraint, a full disk) can leave
    its transaction open where SQLAlchemy takes it as ended; every later write's
    BEGIN would then fail. A fresh connection starts clean.
    """
    try:
        transaction.commit()
    except BaseException:
        transaction.close()
        transaction.connection.invalidate()
        raise


class Database:
    def __init__(
        self,
        url: str,
        writer: AsyncEngine,
        reader: AsyncEngine,
        schema: str | None = None,
        sqlite_writer: Engine | None = None,
    ) -> None:
        """`writer` changes the schema (and, on PostgreSQL, runs every write); `sqlite_writer` runs SQLite's writes."""
        self.url = url
        self.schema = schema
        self.writer = writer
        self.reader = reader
        self.is_sqlite = sqlite_writer is not None
        self._write_sessions = async_sessionmaker(writer, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(reader, expire_on_commit=False)
        self._sqlite_writer = sqlite_writer
        self._sqlite_connection: Connection | None = None
        self._writer_thread = ThreadPoolExecutor(1, thread_name_prefix="chorus-sqlite-writer")
        self._queue: list[_Queued] = []
        self._draining = False

    @classmethod
    def open(cls, url: str, pool_size: int = 10, schema: str | None = None) -> Database:
        """Connect lazily; `schema` puts a PostgreSQL database's tables in that schema (tests use one each)."""
        if url.startswith("sqlite"):
            sqlite_writer = create_engine(
                make_url(url).set(drivername="sqlite+pysqlite"),
                pool_size=1,
                max_overflow=0,
                connect_args={"check_same_thread": False},  # the loop's thread and the writer's, never both at once
                **ENGINE_OPTIONS,
            )
            _sqlite_pragmas(sqlite_writer, WRITER_BUSY_TIMEOUT_MS)
            _sqlite_begin(sqlite_writer, "BEGIN IMMEDIATE")
            writer = create_async_engine(url, pool_size=1, max_overflow=0, **ENGINE_OPTIONS)
            _sqlite_pragmas(writer.sync_engine, BUSY_TIMEOUT_MS)
            _sqlite_begin(writer.sync_engine, "BEGIN IMMEDIATE")
            reader = create_async_engine(url, pool_size=pool_size, max_overflow=0, **ENGINE_OPTIONS)
            _sqlite_pragmas(reader.sync_engine, BUSY_TIMEOUT_MS)
            _sqlite_begin(reader.sync_engine, "BEGIN")
            return cls(url, writer, reader, sqlite_writer=sqlite_writer)
        connect_args = {"server_settings": {"search_path": schema}} if schema else {}
        engine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            connect_args=connect_args,
            **ENGINE_OPTIONS,
        )
        return cls(url, engine, engine, schema)

    async def write(self, work: Work[T], *, quick: bool = False) -> T:
        """Run `work` in one transaction and commit it; retried whole if the database was busy.

        `quick` says the work is a few statements (one update's turn): on SQLite
        they then run on the event loop's thread, and only the commit on the
        writer's. On SQLite, writes that arrive while another is running wait in
        a queue and then commit together (group commit): each work runs in turn
        in one transaction, and each caller hears back only after that commit.
        If any of them fails, the batch is rolled back and every work runs again
        on its own.
        """
        if not self.is_sqlite:
            return await self._retrying(lambda: self._commit_on_postgresql(work))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append(_Queued(work, quick, future))
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

    async def _write_batch(self, batch: list[_Queued]) -> None:
        if len(batch) > 1:
            quick = all(queued.quick for queued in batch)
            try:
                results = await self._write_on_sqlite(_in_turn([queued.work for queued in batch]), quick)
            except Exception:
                logger.debug("a write in a group of %s failed; running each on its own", len(batch))
            else:
                for queued, result in zip(batch, results, strict=True):
                    if not queued.future.done():
                        queued.future.set_result(result)
                return
        for queued in batch:
            try:
                result = await self._write_on_sqlite(queued.work, queued.quick)
            except Exception as error:
                if not queued.future.done():
                    queued.future.set_exception(error)
            else:
                if not queued.future.done():
                    queued.future.set_result(result)

    async def _write_on_sqlite(self, work: Work[T], quick: bool) -> T:
        if quick:
            return await self._retrying(lambda: self._at_once(work))
        loop = asyncio.get_running_loop()
        return await self._retrying(lambda: loop.run_in_executor(self._writer_thread, self._commit_on_sqlite, work))

    async def _at_once(self, work: Work[T]) -> T:
        """Run the work on the loop's thread, then commit on the writer's.

        The commit waits for the disk (an fsync, and now and then a WAL
        checkpoint) with the GIL released; on the writer's thread the loop goes
        on taking webhooks meanwhile, and those queue up for the next group commit.
        """
        transaction = self._connection().begin()
        result = _run(transaction, work)
        await asyncio.get_running_loop().run_in_executor(self._writer_thread, _commit, transaction)
        return result

    def _commit_on_sqlite(self, work: Work[T]) -> T:
        transaction = self._connection().begin()
        result = _run(transaction, work)
        _commit(transaction)
        return result

    def _connection(self) -> Connection:
        """The writer's connection, which stays checked out of its pool.

        Checking it out and back in for every write (and the pool's rollback on
        return) cost about a fifth of a one-statement transaction.
        """
        if self._sqlite_connection is None:
            assert self._sqlite_writer is not None
            self._sqlite_connection = self._sqlite_writer.connect()
        return self._sqlite_connection

    async def _commit_on_postgresql(self, work: Work[T]) -> T:
        async with self._write_sessions() as session, session.begin():
            return await session.run_sync(_done, work)

    async def _retrying(self, attempt: Callable[[], Awaitable[T]]) -> T:
        for number in range(1, WRITE_ATTEMPTS + 1):
            try:
                return await attempt()
            except DBAPIError as error:
                if not _retryable(error) or number == WRITE_ATTEMPTS:
                    raise
                logger.info("database busy, retrying write (attempt %s)", number)
                await _back_off(number)
        raise AssertionError("unreachable")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read_sessions() as session:
            yield session

    async def fetch(self, work: Work[T]) -> T:
        """Run `work` on a reading session (its own connection on SQLite, beside the writer)."""
        async with self.read() as session:
            return await session.run_sync(work)

    async def empty_wal(self) -> bool:
        """Copy SQLite's write-ahead log into the database file and truncate it; False if it could not be done now.

        The log keeps every page as it was before each change, so rows deleted
        an hour ago, an erased person's among them, could be read back from it
        until it is next emptied, which on a busy service may be never (only
        the last connection to close empties it). With secure_delete the file
        then holds nothing of them either. Emptying it needs a moment with no
        write and no read of an older snapshot, so it is tried a few times.
        On PostgreSQL see `rewrite`; its own log is out of Chorus's reach.
        """
        path = make_url(self.url).database
        if not self.is_sqlite or not path or path == ":memory:":
            return True
        for number in range(1, WRITE_ATTEMPTS + 1):
            if await asyncio.to_thread(_truncate_wal, path):
                return True
            logger.info("the write-ahead log is in use; emptying it again shortly (attempt %s)", number)
            await _back_off(number)
        logger.warning("the write-ahead log of %s could not be emptied; deleted rows stay in it for now", path)
        return False

    async def rewrite(self, table: str) -> bool:
        """Rewrite a PostgreSQL table into new files (VACUUM FULL); False if its lock could not be had for long.

        PostgreSQL's VACUUM marks a deleted row's space free but leaves its
        bytes in the page, where a superuser's page-reading tools can find them
        for as long as nothing overwrites them: a released staff survey's held
        row, naming its person, would join them to their answers. VACUUM FULL
        locks the table while it copies the live rows, so it is for small
        tables only, and it waits briefly for the lock each time it tries: a
        write to the table queues behind it meanwhile. On SQLite there is
        nothing to do: secure_delete zeroes deleted rows, and empty_wal takes
        them out of the log.
        """
        if self.is_sqlite:
            return True
        quoted = self.writer.dialect.identifier_preparer.quote(table)
        files = text("SELECT pg_relation_filenode(CAST(:table AS regclass))").bindparams(table=table)
        for number in range(1, WRITE_ATTEMPTS + 1):
            async with self.writer.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.exec_driver_sql(f"SET lock_timeout = {REWRITE_LOCK_TIMEOUT_MS}")
                try:
                    before = await autocommit.scalar(files)
                    await autocommit.exec_driver_sql(f"VACUUM (FULL) {quoted}")
                    rewritten: bool = await autocommit.scalar(files) != before
                    if not rewritten:  # VACUUM skips a table its user does not own, and only warns on the server
                        logger.warning(NOT_OWNER, table)
                    return rewritten
                except DBAPIError as error:
                    if getattr(error.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                        raise
                finally:
                    await autocommit.exec_driver_sql("RESET lock_timeout")
            logger.info("%s is in use; rewriting it again shortly (attempt %s)", table, number)
            await _back_off(number)
        logger.warning("%s could not be rewritten; its deleted rows stay in its files for now", table)
        return False

    async def close(self) -> None:
        self._writer_thread.shutdown(wait=True)
        if self._sqlite_connection is not None:
            self._sqlite_connection.close()
        if self._sqlite_writer is not None:
            self._sqlite_writer.dispose()
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()
