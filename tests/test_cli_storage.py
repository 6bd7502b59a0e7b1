"""The database commands an operator or officer runs: import, list, upgrade, forget, export, backup, restore, purge."""

from __future__ import annotations

import asyncio
import fcntl
import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime, tzinfo
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import make_url

from bot.cli import cli
from bot.leader import in_use, service_stopped
from storage.contacts import get_or_create_contact
from storage.database import Database
from storage.migrate import head_revisions
from storage.models import AuditEntry
from surveys.templates import template_paths
from tests.conftest import NOW, SECRET, on_disk


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("CHORUS_SECRET_KEY", SECRET)
    monkeypatch.setenv("CHORUS_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    return url


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input)


def add_contact(url: str) -> int:
    async def work() -> int:
        db = Database.open(url)
        try:
            contact = await db.write(
                lambda s: get_or_create_contact(
                    s, channel="telegram", address="42", now=NOW, display_name="Sam Quartermaine"
                )
            )
            return contact.id
        finally:
            await db.close()

    return asyncio.run(work())


def audit_actions(url: str) -> list[str]:
    async def work() -> list[str]:
        from sqlalchemy import select

        db = Database.open(url)
        try:
            async with db.read() as session:
                return list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        finally:
            await db.close()

    return asyncio.run(work())


def test_import_then_list_shows_versions_and_counts(env: str) -> None:
    first = run("survey", "import", *map(str, template_paths()))
    assert first.exit_code == 0, first.output
    assert "tsm: imported as version 1" in first.output
    again = run("survey", "import", str(template_paths()[2]))
    assert "tsm: already stored as version 1" in again.output
    listed = run("survey", "list")
    assert listed.exit_code == 0
    assert "tsm  Tenant Satisfaction Survey" in listed.output
    assert "0 responses, 0 completed" in listed.output


def test_import_of_a_broken_file_stores_nothing(env: str, write_yaml: object) -> None:
    bad = Path("bad.yaml")
    bad.write_text("id: bad\ntitle: Bad\nquestions:\n  - {id: q, type: nope, label: Q}\n")
    result = run("survey", "import", str(template_paths()[0]), str(bad))
    assert result.exit_code == 2
    assert "bad.yaml:4: question 'q': unknown type 'nope'" in result.stderr
    assert "No surveys yet" in run("survey", "list").output


def test_db_upgrade_reports_the_revision(env: str) -> None:
    result = run("db", "upgrade")
    assert result.exit_code == 0
    assert result.output == f"The database schema is at revision {', '.join(sorted(head_revisions()))}.\n"


def test_forget_leaves_nothing_of_the_person_in_the_database_files_while_the_service_runs(env: str) -> None:
    """A running service keeps the database open, so SQLite never empties its write-ahead log on its own: the
    erased row would stay readable there."""
    run("db", "upgrade")
    contact_id = add_contact(env)
    with closing(sqlite3.connect(make_url(env).database or "")) as service:
        service.execute("SELECT count(*) FROM contact").fetchall()
        assert b"Quartermaine" in on_disk(env)
        assert run("contact", "forget", str(contact_id), "--yes").exit_code == 0
        assert b"Quartermaine" not in on_disk(env)


def test_forget_asks_first_then_erases_and_audits(env: str) -> None:
    run("db", "upgrade")
    contact_id = add_contact(env)
    declined = run("contact", "forget", str(contact_id), input="n\n")
    assert declined.exit_code == 1
    result = run("contact", "forget", str(contact_id), "--yes")
    assert result.exit_code == 0, result.output
    assert f"Contact {contact_id} erased" in result.output
    missing = run("contact", "forget", str(contact_id), "--yes")
    assert missing.exit_code == 2 and missing.stderr.strip() == f"no contact {contact_id} (it may have been erased)"
    assert audit_actions(env) == ["contact.forget"]


def test_export_writes_json_to_a_private_file(env: str, tmp_path: Path) -> None:
    run("db", "upgrade")
    contact_id = add_contact(env)
    result = run("contact", "export", str(contact_id), "--output", "sam.json")
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "sam.json").read_text())
    assert data["contact"]["display_name"] == "Sam Quartermaine"
    assert (tmp_path / "sam.json").stat().st_mode & 0o777 == 0o600
    assert audit_actions(env) == ["contact.export"]


def test_export_to_a_folder_that_does_not_exist_is_one_line(env: str) -> None:
    run("db", "upgrade")
    result = run("contact", "export", str(add_contact(env)), "--output", "missing/sam.json")
    assert result.exit_code == 2
    assert result.stderr == "cannot write missing/sam.json: No such file or directory\n"


def audit_rows(path: Path) -> int:
    with closing(sqlite3.connect(path)) as connection:
        (verdict,) = connection.execute("PRAGMA quick_check").fetchone()
        assert verdict == "ok"
        (count,) = connection.execute("SELECT count(*) FROM audit_log").fetchone()
        return int(count)


def test_backup_is_a_whole_private_copy_taken_while_chorus_writes(
    env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service keeps writing (here: audit rows in WAL mode, as `chorus run` does) while the copy is taken."""
    run("db", "upgrade")
    stop = threading.Event()

    def keep_writing() -> None:
        with closing(sqlite3.connect(tmp_path / "cli.db", isolation_level=None)) as connection:
            connection.execute("PRAGMA busy_timeout = 5000")
            while not stop.is_set():
                connection.execute(
                    "INSERT INTO audit_log (at, actor, action, subject, detail) "
                    "VALUES ('2026-12-07 00:00:00', 'test', 'write', 'row', '{}')"
                )

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        deadline = time.monotonic() + 30
        while audit_rows(tmp_path / "cli.db") < 200:
            assert writer.is_alive() and time.monotonic() < deadline, "the writer stopped"
        result = run("db", "backup", "backup.db")
    finally:
        stop.set()
        writer.join()
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Backed up {tmp_path / 'cli.db'} to backup.db (")
    backed_up = audit_rows(tmp_path / "backup.db")
    assert 200 <= backed_up <= audit_rows(tmp_path / "cli.db"), "a snapshot taken while rows went on arriving"
    assert (tmp_path / "backup.db").stat().st_mode & 0o777 == 0o600
    with closing(sqlite3.connect(tmp_path / "backup.db")) as copy:
        revisions = {revision for (revision,) in copy.execute("SELECT version_num FROM alembic_version")}
    assert revisions == head_revisions(), "the copy is a Chorus database that `chorus run` can open as it is"
    monkeypatch.setenv("CHORUS_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'backup.db'}")
    assert run("survey", "list").exit_code == 0, "restored: put in place of the database, Chorus uses it"
    monkeypatch.setenv("CHORUS_DATABASE_URL", env)
    assert run("db", "backup", "backup.db").exit_code == 0, "a backup replaces an older one of the same name"
    assert audit_rows(tmp_path / "backup.db") == audit_rows(tmp_path / "cli.db")
    left = sorted(path.name for path in tmp_path.iterdir() if "backup" in path.name)
    assert left == ["backup.db", "backup.db.in-use"], "the backup, and the lock `survey list` held it open by"


@pytest.mark.parametrize(
    ("url", "destination", "message"),
    [
        (None, "missing/backup.db", "cannot write missing/backup.db: No such file or directory"),
        ("sqlite+aiosqlite:///{tmp}/none.db", "backup.db", "there is no database at {tmp}/none.db to back up"),
        (
            "postgresql+asyncpg://postgres@127.0.0.1/chorus",
            "backup.db",
            "chorus db backup copies the embedded SQLite database; back up PostgreSQL with pg_dump, "
            "e.g. pg_dump --format=custom --file=chorus.dump DATABASE",
        ),
    ],
)
def test_a_backup_that_cannot_be_made_is_one_line_and_leaves_nothing(
    env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str | None, destination: str, message: str
) -> None:
    run("db", "upgrade")
    if url is not None:
        monkeypatch.setenv("CHORUS_DATABASE_URL", url.format(tmp=tmp_path))
    result = run("db", "backup", destination)
    assert result.exit_code == 2
    assert result.stderr == message.format(tmp=tmp_path) + "\n"
    assert not [path for path in tmp_path.rglob("*") if "backup" in path.name]


def add_audit_rows(path: Path, count: int) -> None:
    """Rows committed by a process that then dies without closing its connection, as a killed `chorus run` does:
    they are left in the database's write-ahead log, not yet in the file."""
    script = (
        "import os, sqlite3, sys\n"
        "connection = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "connection.execute('PRAGMA wal_autocheckpoint = 0')\n"
        "for _ in range(int(sys.argv[2])):\n"
        '    connection.execute("INSERT INTO audit_log (at, actor, action, subject, detail) '
        "VALUES ('2026-12-07 00:00:00', 'test', 'write', 'row', '{}')\")\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path), str(count)], check=True)


def with_a_backup(database: Path, rows_in_it: int = 0, rows_since: int = 0) -> None:
    """A Chorus database with `rows_in_it` audit rows backed up to backup.db, and `rows_since` added after."""
    run("db", "upgrade")
    add_audit_rows(database, rows_in_it)
    assert run("db", "backup", "backup.db").exit_code == 0
    add_audit_rows(database, rows_since)


def test_restore_puts_a_backup_in_place_and_keeps_the_database_it_replaced(
    env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_a_backup(tmp_path / "cli.db", rows_in_it=3, rows_since=5)
    assert (tmp_path / "cli.db-wal").stat().st_size > 0, "the later rows wait in the log of the database replaced"
    (tmp_path / "cli.db").chmod(0o640)
    monkeypatch.setattr("bot.cli.datetime", FixedNow)

    result = run("db", "restore", "backup.db")

    assert result.exit_code == 0, result.output
    kept = tmp_path / "cli.db.before-restore-20261128-103000"
    assert result.output == (
        f"Restored {tmp_path / 'cli.db'} from backup.db (schema revision {', '.join(sorted(head_revisions()))}). "
        f"The database it replaced is kept at {kept}. Start chorus run again: it upgrades the schema of an older "
        "backup as it starts. The backup must have been made with this CHORUS_SECRET_KEY, or nobody's answers in "
        "it can be found for export or erasure.\n"
    )
    assert audit_rows(tmp_path / "cli.db") == 3, "the backup's rows, and none from the replaced database's log"
    assert audit_rows(kept) == 8, "the replaced database whole, its log included"
    assert kept.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "cli.db").stat().st_mode & 0o777 == 0o640, "the database keeps the permissions it had"
    assert run("survey", "list").exit_code == 0, "Chorus runs on the restored database"
    assert audit_rows(tmp_path / "backup.db") == 3, "the backup itself is left as it was"


def test_restore_onto_a_new_machine_makes_the_database(
    env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_a_backup(tmp_path / "cli.db", rows_in_it=2)
    monkeypatch.setenv("CHORUS_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'new.db'}")
    result = run("db", "restore", "backup.db")
    assert result.exit_code == 0, result.output
    assert "kept at" not in result.output
    assert audit_rows(tmp_path / "new.db") == 2
    assert (tmp_path / "new.db").stat().st_mode & 0o777 == 0o600


class FixedNow(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> FixedNow:
        return cls.fromtimestamp(NOW.timestamp(), tz)


@contextmanager
def leading(database: Path) -> Iterator[None]:
    """What a `chorus run` that leads holds: the lead file's lock, with its process id in the file."""
    with (database.with_name(f"{database.name}.leader")).open("ab") as lead:
        fcntl.flock(lead.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        lead.write(b"4242\n")
        lead.flush()
        yield


@pytest.mark.parametrize(
    ("holder", "message"),
    [
        ("leads", "chorus run is running on {database} (process 4242); stop it first"),
        ("uses", "{database} is open in another process; stop it before restoring"),
    ],
)
def test_restore_refuses_while_a_chorus_process_leads_on_or_uses_the_database(
    env: str, tmp_path: Path, holder: str, message: str
) -> None:
    """One that uses it: a second `chorus run` (a follower) or any other command, even one yet to open it."""
    with_a_backup(tmp_path / "cli.db", rows_since=4)
    with leading(tmp_path / "cli.db") if holder == "leads" else in_use(env):
        result = run("db", "restore", "backup.db")
    assert result.exit_code == 2
    assert result.stderr == message.format(database=tmp_path / "cli.db") + "\n"
    assert audit_rows(tmp_path / "cli.db") == 4
    assert not list(tmp_path.glob("*before-restore*"))


def test_a_command_started_while_a_restore_runs_refuses_and_writes_nothing(env: str, tmp_path: Path) -> None:
    """Whatever it wrote would go into the file the restore is replacing, and be lost with it."""
    with_a_backup(tmp_path / "cli.db", rows_since=4)
    with service_stopped(tmp_path / "cli.db"):
        result = run("survey", "import", str(template_paths()[0]))
    assert result.exit_code == 2
    assert result.stderr == f"chorus db restore is replacing {tmp_path / 'cli.db'}; start again when it has finished\n"
    assert audit_rows(tmp_path / "cli.db") == 4
    assert run("survey", "import", str(template_paths()[0])).exit_code == 0, "once the restore is over"


def test_restore_refuses_a_database_another_process_has_open_or_a_log_left_without_one(
    env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_a_backup(tmp_path / "cli.db", rows_since=4)
    with closing(sqlite3.connect(tmp_path / "cli.db")) as other:
        other.execute("SELECT count(*) FROM audit_log").fetchone()
        result = run("db", "restore", "backup.db")
    assert result.exit_code == 2
    assert result.stderr == f"{tmp_path / 'cli.db'} is open in another process; stop it before restoring\n"
    assert audit_rows(tmp_path / "cli.db") == 4

    (tmp_path / "gone.db-wal").write_bytes((tmp_path / "backup.db").read_bytes()[:4096])
    monkeypatch.setenv("CHORUS_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'gone.db'}")
    result = run("db", "restore", "backup.db")
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"{tmp_path / 'gone.db-wal'} is left from a database that is gone; move it away before restoring\n"
    )
    assert not (tmp_path / "gone.db").exists()
    assert not list(tmp_path.glob("*before-restore*"))


def make_sqlite(path: Path, *statements: str) -> None:
    with closing(sqlite3.connect(path)) as connection:
        for statement in statements:
            connection.execute(statement)
        connection.commit()


@pytest.mark.parametrize(
    ("url", "prepare", "source", "message"),
    [
        (None, None, "missing.db", "there is no backup at missing.db"),
        (None, "text", "notes.db", "notes.db is not a backup of Chorus's database (file is not a database)"),
        (None, "other", "other.db", "other.db is not a backup of Chorus's database (no such table: alembic_version)"),
        (None, "newer", "newer.db", "newer.db was made by a newer Chorus (schema ffffffffffff); upgrade Chorus first"),
        (None, None, "cli.db", "cli.db is the database itself; name a backup of it"),
        (
            "postgresql+asyncpg://postgres@127.0.0.1/chorus",
            None,
            "backup.db",
            "chorus db restore replaces the embedded SQLite database; restore PostgreSQL with pg_restore, "
            "e.g. pg_restore --clean --dbname=DATABASE chorus.dump",
        ),
        (
            "sqlite+aiosqlite:///{tmp}/gone/chorus.db",
            None,
            "backup.db",
            "cannot write {tmp}/gone/chorus.db: its folder {tmp}/gone does not exist",
        ),
    ],
)
def test_a_restore_that_cannot_be_made_is_one_line_and_changes_nothing(
    env: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    url: str | None,
    prepare: str | None,
    source: str,
    message: str,
) -> None:
    with_a_backup(tmp_path / "cli.db", rows_since=6)
    if prepare == "text":
        Path(source).write_text("a note, not a database")
    elif prepare == "other":
        make_sqlite(Path(source), "CREATE TABLE things (name TEXT)")
    elif prepare == "newer":
        make_sqlite(
            Path(source),
            "CREATE TABLE alembic_version (version_num TEXT)",
            "INSERT INTO alembic_version VALUES ('ffffffffffff')",
        )
    if url is not None:
        monkeypatch.setenv("CHORUS_DATABASE_URL", url.format(tmp=tmp_path))
    result = run("db", "restore", source)
    assert result.exit_code == 2
    assert result.stderr == message.format(tmp=tmp_path) + "\n"
    assert audit_rows(tmp_path / "cli.db") == 6
    assert not list(tmp_path.rglob("*before-restore*")) and not list(tmp_path.rglob("*.partial"))


def test_purge_reports_what_it_removed(env: str) -> None:
    result = run("db", "purge")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Forgot 0 contacts, de-identified 0 responses, unlinked 0 invitations, deleted 0 drafts, 0 messages "
        "and 0 receipts.\n"
    )


@pytest.mark.parametrize(
    "url", ["postgresql+asyncpg://nobody@127.0.0.1:1/none", "sqlite+aiosqlite:///{tmp}/missing/chorus.db"]
)
def test_an_unreachable_database_is_one_line(
    env: str, url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHORUS_DATABASE_URL", url.format(tmp=tmp_path))
    result = run("survey", "list")
    assert result.exit_code == 2
    assert result.stderr.startswith("CHORUS_DATABASE_URL: cannot open the database:")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.output


def test_staff_invite_prints_one_time_codes(env: str) -> None:
    run("survey", "import", str(template_paths()[1]))
    missing = run("staff", "invite", "--org", "nowhere", "--count", "2")
    assert missing.exit_code == 2 and "no organisation 'nowhere'" in missing.stderr
    assert run("survey", "import", str(Path("org.yaml"))).exit_code == 2
    Path("org.yaml").write_text(
        "id: org-pulse\ntitle: Org\norganisation: northern-care\naudience: staff\nquestions:\n  - {id: q, type: text, label: Q}\n"
    )
    assert run("survey", "import", "org.yaml").exit_code == 0
    result = run("staff", "invite", "--org", "northern-care", "--count", "3")
    assert result.exit_code == 0, result.output
    codes = result.output.split()
    assert len(codes) == 3 and len(set(codes)) == 3 and all(code.startswith("join-") for code in codes)
    assert audit_actions(env)[-1] == "staff.invite", "who made codes that grant staff's surveys is on record"
