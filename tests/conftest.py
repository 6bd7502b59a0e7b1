"""Shared helpers: survey files written into a temporary folder, as an officer would write them."""

from __future__ import annotations

import os
import textwrap
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import Session

from bot.config import load_settings
from bot.event_loop import loop_factory
from bot.runtime import Runtime
from storage.contacts import get_or_create_contact
from storage.database import Database
from storage.migrate import upgrade
from storage.responses import hold_anonymous, release_held
from surveys.loader import survey_from_yaml
from surveys.model import Survey
from surveys.state import State


def survey_of(text: str) -> Survey:
    """A survey from YAML text written inline in a test."""
    return survey_from_yaml(textwrap.dedent(text), "test.yaml")


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(text: str, name: str = "survey.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def write_xlsform(tmp_path: Path) -> Callable[..., Path]:
    """Build an .xlsx with openpyxl: each sheet is a list of rows, the first row the headers."""

    def write(name: str = "form.xlsx", **sheets: list[list[Any]]) -> Path:
        workbook = Workbook()
        assert workbook.active is not None
        workbook.remove(workbook.active)
        for title, rows in sheets.items():
            sheet = workbook.create_sheet(title)
            for row in rows:
                sheet.append(row)
        path = tmp_path / name
        workbook.save(path)
        return path

    return write


POSTGRES_URL = os.environ.get("CHORUS_TEST_POSTGRES_URL")
SECRET = "test-secret-key-" + "x" * 32
NOW = datetime(2026, 11, 28, 10, 30, tzinfo=UTC)


def held_for(session: Session, address: str, version_id: int, state: State, channel: str = "telegram") -> int:
    """A member of staff at `address` who finished an anonymous survey at NOW, held until it is released; their
    contact's id."""
    contact = get_or_create_contact(session, channel=channel, address=address, now=NOW, role="staff")
    hold_anonymous(session, contact_id=contact.id, version_id=version_id, channel=channel, state=state, now=NOW)
    return contact.id


def on_disk(url: str) -> bytes:
    """What a copy of a SQLite database's files would hold, deleted rows and all: the file and its write-ahead log."""
    path = Path(make_url(url).database or "")
    return b"".join(part.read_bytes() for part in (path, path.with_name(f"{path.name}-wal")) if part.exists())


async def in_pages(db: Database, table: str) -> bytes:
    """What a PostgreSQL superuser reads in a table's pages and its TOAST table's, dead rows and all (pageinspect)."""
    every_page = text(
        "SELECT public.get_raw_page(CAST(:relation AS text), n) FROM generate_series(0,"
        " pg_relation_size(CAST(:relation AS regclass)) / current_setting('block_size')::int - 1) AS n"
    )
    async with db.writer.begin() as connection:
        await connection.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect SCHEMA public"))
        toast = await connection.scalar(
            text("SELECT CAST(reltoastrelid AS regclass)::text FROM pg_class WHERE oid = CAST(:table AS regclass)"),
            {"table": table},
        )
        relations = [table] if toast == "-" else [table, toast]  # "-": the table has no TOAST table
        pages = [
            page for relation in relations for page in await connection.scalars(every_page, {"relation": relation})
        ]
    return b"".join(pages)


def released_anonymously(session: Session, **held: Any) -> str:
    """A finished anonymous survey held (`hold_anonymous`'s arguments), then released a week on, as `chorus run`
    releases it once its week has ended; the keyless response's id."""
    hold_anonymous(session, **held)
    [response_id] = release_held(session, held["now"] + timedelta(weeks=1), enough=10)
    return response_id


async def _postgres_schema(schema: str, drop: bool = False) -> None:
    assert POSTGRES_URL is not None
    engine = create_async_engine(POSTGRES_URL)
    try:
        async with engine.begin() as connection:
            statement = f'DROP SCHEMA IF EXISTS "{schema}" CASCADE' if drop else f'CREATE SCHEMA "{schema}"'
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[str, str | None]]:
    """A database URL and schema on each engine: SQLite always, PostgreSQL when CHORUS_TEST_POSTGRES_URL is set."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'chorus.db'}", None
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need CHORUS_TEST_POSTGRES_URL (.ci/run sets it)")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    try:
        await _postgres_schema(schema)
    except (OSError, DBAPIError) as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL at CHORUS_TEST_POSTGRES_URL is not reachable: {error}")
    yield POSTGRES_URL, schema
    await _postgres_schema(schema, drop=True)


@pytest.fixture
async def empty_db(database_url: tuple[str, str | None]) -> AsyncIterator[Database]:
    """A database with no schema yet, on each engine."""
    url, schema = database_url
    database = Database.open(url, schema=schema)
    yield database
    await database.close()


@pytest.fixture
async def db(empty_db: Database) -> Database:
    """A migrated, empty database on each engine."""
    await upgrade(empty_db)
    return empty_db


@pytest.fixture
def runtime(db: Database, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    """The service's runtime on the test database, its clock stopped at NOW."""
    monkeypatch.setenv("CHORUS_SECRET_KEY", SECRET)
    return Runtime(load_settings(None), db, clock=lambda: NOW)


# A survey and its version as raw SQL rows, for tests that fill an older schema before migrating it.
RAW_SURVEY_VERSION = (
    "INSERT INTO survey (id, slug, title, created_at) VALUES (1, 's', 'S', '2026-01-01 00:00:00')",
    "INSERT INTO survey_version (id, survey_id, version, number, document, anonymous, keep_anonymised, created_at) "
    "VALUES (1, 1, 'v', 1, '{}', false, false, '2026-01-01 00:00:00')",
)


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Callable[[], Any]] | None:
    """The tests run on the event loop `chorus run` uses (uvloop where it installs)."""
    factory = loop_factory()
    return None if factory is None else {"uvloop": factory}
