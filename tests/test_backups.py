"""Backups on a timer (CHORUS_BACKUP_DIR): taken while the service runs, the newest kept, a failure logged."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.admin import scheduled_backup
from bot.config import load_settings
from bot.errors import ConfigError
from bot.runtime import Runtime
from bot.service import start_jobs
from storage.database import Database
from storage.migrate import upgrade
from tests.conftest import NOW, SECRET


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database.open(f"sqlite+aiosqlite:///{tmp_path / 'chorus.db'}")
    await upgrade(db)
    yield db
    await db.close()


def runtime_at(db: Database, monkeypatch: pytest.MonkeyPatch, folder: Path, clock: list[datetime]) -> Runtime:
    monkeypatch.setenv("CHORUS_SECRET_KEY", SECRET)
    monkeypatch.setenv("CHORUS_BACKUP_DIR", str(folder))
    monkeypatch.setenv("CHORUS_BACKUP_KEEP", "2")
    return Runtime(load_settings(None), db, clock=lambda: clock[0])


def opens(path: Path) -> bool:
    with closing(sqlite3.connect(path)) as connection:
        return bool(connection.execute("PRAGMA quick_check").fetchone()[0] == "ok")


async def test_each_backup_is_whole_and_private_and_only_the_newest_are_kept(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "backups"
    clock = [NOW]
    runtime = runtime_at(sqlite_db, monkeypatch, folder, clock)
    folder.mkdir()
    folder.joinpath("notes.txt").write_text("an operator's own file in the folder")
    folder.joinpath("chorus-2026-11-01.db").write_text("a backup made by hand with chorus db backup")
    made = []
    for hour in range(3):
        clock[0] = NOW + timedelta(hours=hour)
        made.append(await scheduled_backup(runtime))
    assert [path.name for path in sorted(folder.iterdir())] == [
        "chorus-2026-11-01.db",
        "chorus-20261128-113000.db",
        "chorus-20261128-123000.db",
        "notes.txt",
    ], "the two newest of the timed backups, and nothing else touched"
    assert made[-1] == folder / "chorus-20261128-123000.db"
    for backup in folder.glob("chorus-2026????-*.db"):
        assert opens(backup) and backup.stat().st_mode & 0o777 == 0o600
    assert await scheduled_backup(runtime_at(sqlite_db, monkeypatch, tmp_path / "new", clock)) is not None
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o700, "a folder it makes is its owner's alone"


async def test_a_backup_that_fails_is_logged_and_the_service_goes_on(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "taken").write_text("a file where the folder would go")
    runtime = runtime_at(sqlite_db, monkeypatch, tmp_path / "taken" / "backups", [NOW])
    assert await scheduled_backup(runtime) is None
    assert f"backup into {tmp_path / 'taken' / 'backups'} failed: " in caplog.text
    assert [r.levelno for r in caplog.records if "backup" in r.getMessage()] == [logging.ERROR]


async def test_the_leader_backs_up_on_the_interval_only_when_asked(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHORUS_BACKUP_HOURS", "6")
    runtime = runtime_at(sqlite_db, monkeypatch, tmp_path / "backups", [NOW])
    scheduler = start_jobs(runtime, lambda: None)
    try:
        job = scheduler.get_job("backup")
        assert job is not None and job.trigger.interval == timedelta(hours=6)
    finally:
        scheduler.shutdown(wait=False)
    monkeypatch.delenv("CHORUS_BACKUP_DIR")
    scheduler = start_jobs(Runtime(load_settings(None), sqlite_db, clock=lambda: NOW), lambda: None)
    try:
        assert scheduler.get_job("backup") is None
    finally:
        scheduler.shutdown(wait=False)


def test_backups_on_a_timer_are_for_sqlite_and_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHORUS_SECRET_KEY", SECRET)
    monkeypatch.setenv("CHORUS_BACKUP_DIR", str(tmp_path))
    monkeypatch.setenv("CHORUS_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1/chorus")
    with pytest.raises(ConfigError, match=r"^CHORUS_BACKUP_DIR: backs up the embedded SQLite database; back up Post"):
        load_settings(None)
    monkeypatch.delenv("CHORUS_DATABASE_URL")
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("CHORUS_BACKUP_DIR", str(tmp_path / "file"))
    with pytest.raises(ConfigError, match=r"is a file, not a folder$"):
        load_settings(None)
