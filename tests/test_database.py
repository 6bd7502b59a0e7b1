"""The database facade under load: no lost writes and no "database is locked", on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, event, func, insert, make_url, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from storage.catalogue import import_survey
from storage.connection import core_connection
from storage.database import Database, is_transient
from storage.migrate import upgrade
from storage.models import Answer, InboundReceipt
from storage.prepared import Prepared
from storage.responses import record_answer, start_response
from surveys.engine import start
from tests.conftest import NOW, survey_of

TASKS, ANSWERS = 50, 200
WIDE = survey_of(
    "id: wide\ntitle: Wide\nquestions:\n"
    + "".join(f"  - {{id: q{n}, type: text, label: Q{n}}}\n" for n in range(ANSWERS))
)


PRAGMAS = ("journal_mode", "synchronous", "secure_delete", "foreign_keys", "busy_timeout")


async def test_sqlite_is_configured_for_a_service(tmp_path: Path) -> None:
    """WAL for reads beside the writer; every commit synced to disk (synchronous=FULL is 2), so none is lost to a power
    cut; deleted rows overwritten (Debian's SQLite does so anyway, others' do not)."""
    db = Database.open(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    try:
        async with db.read() as session:
            reading = [(await session.execute(text(f"PRAGMA {name}"))).scalar() for name in PRAGMAS]
        writing = await db.write(lambda session: [session.execute(text(f"PRAGMA {name}")).scalar() for name in PRAGMAS])
    finally:
        await db.close()
    assert reading == ["wal", 2, 1, 1, 5000]
    assert writing == ["wal", 2, 1, 1, 20]


async def test_concurrent_writers_lose_nothing(db: Database) -> None:
    """50 participants answering 200 questions each at once: all 10,000 answers stored, no lock errors."""
    version_id = (await db.write(lambda s: import_survey(s, WIDE, NOW))).version_id
    state, _ = start(WIDE)

    async def participant(number: int) -> None:
        response_id = await db.write(
            lambda s: start_response(
                s, version_id=version_id, participant_key=f"p{number}", channel="web", state=state, now=NOW
            )
        )
        for n in range(ANSWERS):
            await db.write(lambda s, n=n: record_answer(s, response_id, f"q{n}", f"answer {n}"))

    await asyncio.gather(*(participant(n) for n in range(TASKS)))
    async with db.read() as session:
        stored = await session.scalar(select(func.count()).select_from(Answer))
    assert stored == TASKS * ANSWERS


WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import UTC, datetime
    from storage.database import Database, is_transient
    from storage.models import InboundReceipt

    async def main(url, prefix, count):
        db = Database.open(url)
        for n in range(count):
            await db.write(lambda s, n=n: _add(s, f"{prefix}{n}"))
        await db.close()

    def _add(session, key):
        session.add(InboundReceipt(key=key, received_at=datetime.now(UTC)))

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
    """
)


async def test_two_processes_writing_one_sqlite_file_never_see_a_lock_error(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    db = Database.open(url)
    await upgrade(db)
    others = [
        subprocess.Popen([sys.executable, "-c", WRITER, url, f"p{n}-", "300"], stderr=subprocess.PIPE, text=True)
        for n in range(2)
    ]
    for n in range(300):
        await db.write(lambda s, n=n: _receipt(s, f"main-{n}"))
    errors = [process.communicate(timeout=120)[1] for process in others]
    async with db.read() as session:
        stored = await session.scalar(select(func.count()).select_from(InboundReceipt))
    await db.close()
    assert [process.returncode for process in others] == [0, 0], errors
    assert stored == 900


async def test_a_write_waits_out_another_process_holding_the_lock_and_is_not_lost(tmp_path: Path) -> None:
    """Longer than the writer's 20 ms busy timeout: BEGIN IMMEDIATE fails, and the write is tried again."""
    path = tmp_path / "held.db"
    db = Database.open(f"sqlite+aiosqlite:///{path}")
    await upgrade(db)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    writing = asyncio.create_task(db.write(lambda s: _receipt(s, "after-the-lock")))
    await asyncio.sleep(0.3)
    assert not writing.done(), "the write waits while the lock is held"
    other.execute("ROLLBACK")
    other.close()
    await asyncio.wait_for(writing, 15)
    async with db.read() as session:
        stored = await session.scalar(select(func.count()).select_from(InboundReceipt))
    await db.close()
    assert stored == 1


async def test_the_log_is_emptied_once_a_report_reading_an_older_snapshot_ends(tmp_path: Path) -> None:
    """Emptying the write-ahead log waits for every reader to be on the latest snapshot; it tries again rather than
    give up, and answers are written meanwhile."""
    path = tmp_path / "log.db"
    db = Database.open(f"sqlite+aiosqlite:///{path}")
    await upgrade(db)
    await db.write(lambda s: _receipt(s, "before-the-report"))
    report = sqlite3.connect(path, isolation_level=None)
    report.execute("BEGIN")
    report.execute("SELECT count(*) FROM inbound_receipt").fetchall()
    await db.write(lambda s: _receipt(s, "after-it-began"))
    emptying = asyncio.create_task(db.empty_wal())
    await asyncio.sleep(0.3)
    assert not emptying.done() and (tmp_path / "log.db-wal").stat().st_size > 0
    await asyncio.wait_for(db.write(lambda s: _receipt(s, "meanwhile")), 5)
    report.execute("COMMIT")
    report.close()
    assert await asyncio.wait_for(emptying, 15)
    assert (tmp_path / "log.db-wal").stat().st_size == 0
    await db.close()


async def test_a_table_is_rewritten_once_a_report_reading_it_ends(db: Database) -> None:
    """VACUUM FULL needs the table to itself: it tries again rather than give up, writes to the table go through
    while it waits, and the connection it used goes back to the pool without its short lock timeout."""
    if db.is_sqlite:
        pytest.skip("SQLite's deleted rows are zeroed as they go (secure_delete)")
    async with db.writer.connect() as report:
        await report.execute(text("SELECT count(*) FROM inbound_receipt"))
        rewriting = asyncio.create_task(db.rewrite("inbound_receipt"))
        await asyncio.sleep(0.3)
        assert not rewriting.done()
        await asyncio.wait_for(db.write(lambda s: _receipt(s, "meanwhile")), 5)
        await report.commit()
    assert await asyncio.wait_for(rewriting, 15)
    async with AsyncExitStack() as stack:  # more at once than the test has used: every one the pool holds
        pooled = [await stack.enter_async_context(db.writer.connect()) for _ in range(4)]
        assert [await connection.scalar(text("SHOW lock_timeout")) for connection in pooled] == ["0"] * 4


async def test_a_table_its_user_does_not_own_is_named_as_not_rewritten(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """VACUUM skips a table its user does not own and only warns the server; a council's DBA may well run
    `chorus db upgrade` as one user and `chorus run` as another."""
    if db.is_sqlite:
        pytest.skip("SQLite's deleted rows are zeroed as they go (secure_delete)")
    role = f"chorus_runtime_{uuid.uuid4().hex[:8]}"
    async with db.writer.begin() as connection:
        await connection.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        await connection.execute(text(f'GRANT USAGE ON SCHEMA "{db.schema}" TO "{role}"'))
        await connection.execute(text(f'GRANT SELECT, INSERT, DELETE ON inbound_receipt TO "{role}"'))
    runtime_db = Database.open(make_url(db.url).set(username=role).render_as_string(False), schema=db.schema)
    try:
        await runtime_db.write(lambda s: _receipt(s, "written by the runtime's user"))
        with caplog.at_level(logging.WARNING, logger="storage.database"):
            assert await runtime_db.rewrite("inbound_receipt") is False
        assert "inbound_receipt was not rewritten: only the database user that owns it can" in caplog.text
        assert await db.rewrite("inbound_receipt"), "its owner can"
    finally:
        await runtime_db.close()
        async with db.writer.begin() as connection:
            await connection.execute(text(f'DROP OWNED BY "{role}"'))
            await connection.execute(text(f'DROP ROLE "{role}"'))


RECEIPT_INSERT = Prepared(insert(InboundReceipt))


@pytest.mark.parametrize("through", ["session", "prepared"])
async def test_a_statement_that_fails_keeps_its_values_out_of_the_error(db: Database, through: str) -> None:
    """A database error's message goes to the logs, which erasure and retention do not reach; the values of its
    statement are what residents said and where they can be reached."""
    await db.write(lambda s: _receipt(s, "telegram:900100200"))

    def again(session: Session) -> None:
        values = {"key": "telegram:900100200", "received_at": NOW}
        if through == "session":
            session.execute(insert(InboundReceipt).values(**values))
        else:
            RECEIPT_INSERT.execute(session, values)

    with pytest.raises(IntegrityError) as refused:
        await db.write(again)
    assert "INSERT INTO inbound_receipt" in str(refused.value) and "900100200" not in str(refused.value)


def _receipt(session: Session, key: str) -> None:
    session.add(InboundReceipt(key=key, received_at=NOW))


async def test_writes_that_arrive_together_commit_together_and_one_failure_spoils_none(db: Database) -> None:
    """Group commit: each caller gets its own result or its own error, and only the failed write is missing."""

    def add(session: Session, key: str, fail: bool) -> str:
        session.add(InboundReceipt(key=key, received_at=NOW))
        if fail:
            raise ValueError(f"refused {key}")
        return key

    results = await asyncio.gather(
        *(db.write(lambda s, n=n: add(s, f"k{n}", fail=n == 7)) for n in range(20)), return_exceptions=True
    )
    assert next(r for r in results if isinstance(r, Exception)).args == ("refused k7",)
    assert [r for r in results if not isinstance(r, Exception)] == [f"k{n}" for n in range(20) if n != 7]
    async with db.read() as session:
        stored = set(await session.scalars(select(InboundReceipt.key)))
    assert stored == {f"k{n}" for n in range(20) if n != 7}


async def test_core_statements_see_rows_the_orm_added_earlier_in_the_transaction(db: Database) -> None:
    def work(session: Session, write: int) -> tuple[int, int]:
        session.add(InboundReceipt(key=f"added-through-the-orm-{write}", received_at=NOW))
        counted = core_connection(session).scalar(select(func.count()).select_from(InboundReceipt))
        session.add(InboundReceipt(key=f"and-another-{write}", received_at=NOW))
        again = core_connection(session).scalar(select(func.count()).select_from(InboundReceipt))
        return int(counted or 0), int(again or 0)

    assert await db.write(lambda session: work(session, 1)) == (1, 2)
    assert await db.write(lambda session: work(session, 2)) == (3, 4)


async def test_core_statements_see_rows_the_orm_changed_or_deleted_earlier_in_the_transaction(db: Database) -> None:
    await db.write(lambda session: session.add_all(InboundReceipt(key=k, received_at=NOW) for k in ("old", "gone")))

    def work(session: Session) -> list[str]:
        session.get_one(InboundReceipt, "old").key = "renamed"
        session.delete(session.get_one(InboundReceipt, "gone"))
        return list(core_connection(session).scalars(select(InboundReceipt.key)))

    assert await db.write(work) == ["renamed"]


async def test_a_coroutine_passed_as_a_write_is_refused_and_commits_nothing(db: Database) -> None:
    """A write is a plain function: an async one would return a coroutine unrun, and the commit would keep nothing."""

    async def by_mistake(session: Session) -> None:
        session.add(InboundReceipt(key="never", received_at=NOW))

    with pytest.raises(TypeError, match="plain function of a Session"):
        await db.write(by_mistake)  # type: ignore[unused-coroutine]
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(InboundReceipt)) == 0


async def test_a_long_write_runs_off_the_event_loop_and_a_quick_one_on_it(tmp_path: Path) -> None:
    """On SQLite a write not marked quick runs on the writer's thread: webhooks go on being served meanwhile."""
    db = Database.open(f"sqlite+aiosqlite:///{tmp_path / 'long.db'}")
    await upgrade(db)
    started = threading.Event()

    def long_write(session: Session) -> str:
        started.set()
        time.sleep(0.5)  # a wave of thousands being written
        session.add(InboundReceipt(key="long", received_at=NOW))
        return threading.current_thread().name

    writing = asyncio.create_task(db.write(long_write))
    turns = 0
    while not writing.done():
        await asyncio.sleep(0.01)
        turns += started.is_set()
    quick_thread = await db.write(lambda s: threading.current_thread().name, quick=True)
    await db.close()
    assert turns >= 20, f"the event loop had {turns} turns in the 0.5 s the write took"
    assert writing.result() != quick_thread == threading.main_thread().name


async def test_a_quick_write_waits_for_the_disk_off_the_event_loop(tmp_path: Path) -> None:
    """A commit's fsync (and now and then a WAL checkpoint) can take a while on a busy disk: webhooks are served meanwhile."""
    db = Database.open(f"sqlite+aiosqlite:///{tmp_path / 'slow-disk.db'}")
    await upgrade(db)

    def slow_disk(_connection: Connection) -> None:
        time.sleep(0.5)

    event.listen(Engine, "commit", slow_disk)
    try:
        writing = asyncio.create_task(
            db.write(lambda s: s.add(InboundReceipt(key="answer", received_at=NOW)), quick=True)
        )
        turns = 0
        while not writing.done():
            await asyncio.sleep(0.01)
            turns += 1
    finally:
        event.remove(Engine, "commit", slow_disk)
    async with db.read() as session:
        stored = list(await session.scalars(select(InboundReceipt.key)))
    await db.close()
    assert turns >= 20, f"the event loop had {turns} turns in the 0.5 s the commit took"
    assert stored == ["answer"]


async def test_a_write_whose_commit_fails_is_rolled_back_and_the_next_is_kept(db: Database) -> None:
    """A deferred constraint is checked at COMMIT: the writer must come out of that failure ready for the next write."""
    await db.write(
        lambda s: [
            s.execute(text(statement))
            for statement in (
                "CREATE TABLE parent (id INTEGER PRIMARY KEY)",
                "CREATE TABLE child (id INTEGER PRIMARY KEY, "
                "parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)",
            )
        ]
    )

    def orphan(session: Session) -> None:
        session.execute(text("INSERT INTO child (id, parent_id) VALUES (1, 99)"))

    with pytest.raises(IntegrityError):
        await db.write(orphan, quick=True)
    await db.write(lambda s: s.execute(text("INSERT INTO parent (id) VALUES (7)")), quick=True)
    await db.write(lambda s: s.execute(text("INSERT INTO child (id, parent_id) VALUES (2, 7)")))
    async with db.read() as session:
        children = (await session.execute(text("SELECT id, parent_id FROM child"))).all()
    assert [tuple(row) for row in children] == [(2, 7)]


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (OperationalError("COMMIT", {}, sqlite3.OperationalError("disk I/O error")), True),
        (OperationalError("BEGIN", {}, sqlite3.OperationalError("database is locked")), True),
        (ConnectionRefusedError(111, "Connection refused"), True),
        (IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed")), False),
        (ValueError("a bug"), False),
    ],
    ids=["disk", "locked", "unreachable", "constraint", "bug"],
)
def test_only_a_fault_of_the_database_itself_is_worth_trying_again(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient
