"""A copy of the embedded SQLite database, whole and consistent while Chorus runs and writes to it.

Copying chorus.db with cp while the service runs can catch the file in the
middle of a checkpoint, and leaves out whatever is still in chorus.db-wal: the
copy may not open, or may miss the latest answers. SQLite's online backup
copies one snapshot of the database, write-ahead log included, in a single
step, while the service goes on writing (in WAL mode a reader does not hold up
the writer). The copy is then checked with SQLite's own quick_check.

A restore puts such a copy in the database's place, which done by hand has
a trap: a chorus.db-wal left beside it belongs to the database it replaced,
and SQLite would read it into the restored file. So a restore first makes
sure nothing has the database open, which leaves no log beside it.

PostgreSQL has pg_dump and pg_restore for this, which Chorus does not wrap.

Usage:
    source = sqlite_file(settings.database_url)   # BackupRefused for PostgreSQL, NotFound if there is no file
    size = backup_sqlite(source, Path("backup.db"))
    revisions = backup_revisions(Path("backup.db"))   # BackupRefused unless a sound Chorus database
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url

from storage.database import BUSY_TIMEOUT_MS
from storage.errors import BackupRefused, NotFound, SchemaTooNew
from storage.migrate import known_revisions

PG_DUMP = "back up PostgreSQL with pg_dump, e.g. pg_dump --format=custom --file=chorus.dump DATABASE"
PG_RESTORE = "restore PostgreSQL with pg_restore, e.g. pg_restore --clean --dbname=DATABASE chorus.dump"


def sqlite_file(database_url: str) -> Path:
    """The database file a CHORUS_DATABASE_URL names, which must be SQLite's and must exist."""
    path = database_path(database_url, f"chorus db backup copies the embedded SQLite database; {PG_DUMP}")
    if not path.is_file():
        raise NotFound(f"there is no database at {path} to back up")
    return path


def database_path(database_url: str, not_sqlite: str) -> Path:
    """The SQLite file a CHORUS_DATABASE_URL names, existing or not; BackupRefused(not_sqlite) for another database."""
    if make_url(database_url).get_backend_name() != "sqlite":
        raise BackupRefused(not_sqlite)
    path = file_of(database_url)
    if path is None:
        raise BackupRefused("CHORUS_DATABASE_URL names no database file")
    return path


def file_of(database_url: str) -> Path | None:
    """The SQLite file a CHORUS_DATABASE_URL names, existing or not; None for PostgreSQL or a database in memory."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def backup_sqlite(source: Path, destination: Path) -> int:
    """Copy `source` into `destination` (an empty file, or none) and check the copy; its size in bytes."""
    with closing(sqlite3.connect(source)) as live, closing(sqlite3.connect(destination)) as copy:
        live.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        live.backup(copy)
        (verdict,) = copy.execute("PRAGMA quick_check").fetchone()
    if verdict != "ok":
        raise BackupRefused(
            f"the copy of {source} failed SQLite's check ({verdict}); the database itself may be damaged: "
            "run PRAGMA integrity_check on it"
        )
    return destination.stat().st_size


def backup_revisions(backup: Path) -> set[str]:
    """The schema revisions of a backup, which must be a sound Chorus database that this Chorus can run."""
    if not backup.is_file():
        raise NotFound(f"there is no backup at {backup}")
    try:
        with closing(sqlite3.connect(backup)) as copy:
            (verdict,) = copy.execute("PRAGMA quick_check").fetchone()
            revisions = {revision for (revision,) in copy.execute("SELECT version_num FROM alembic_version")}
    except sqlite3.DatabaseError as error:  # not a database at all, or no alembic_version in it
        raise BackupRefused(f"{backup} is not a backup of Chorus's database ({error})") from None
    if verdict != "ok":
        raise BackupRefused(f"{backup} failed SQLite's check ({verdict}); restore another backup")
    if not revisions:
        raise BackupRefused(f"{backup} is not a backup of Chorus's database (it has no schema revision)")
    unknown = sorted(revisions - known_revisions())
    if unknown:
        raise SchemaTooNew(f"{backup} was made by a newer Chorus (schema {', '.join(unknown)}); upgrade Chorus first")
    return revisions


def ensure_unused(database: Path) -> None:
    """Refuse unless no process has the database open; its write-ahead log is then merged into it and gone.

    SQLite's own locks say so: a connection in exclusive locking mode is
    refused while any other has the database open, and the last one to close
    merges the log in and removes it. A log left without its database is
    refused too, as it would be read into the file put in the database's place.
    """
    log = database.with_name(f"{database.name}-wal")
    if not database.exists():
        if log.exists():
            raise BackupRefused(f"{log} is left from a database that is gone; move it away before restoring")
        return
    with closing(sqlite3.connect(database, isolation_level=None, timeout=0)) as connection:
        try:
            connection.execute("PRAGMA locking_mode = EXCLUSIVE")
            connection.execute("BEGIN EXCLUSIVE")
            connection.execute("ROLLBACK")
        except sqlite3.OperationalError:
            raise BackupRefused(f"{database} is open in another process; stop it before restoring") from None
    if log.exists():
        raise BackupRefused(f"{database} is open in another process; stop it before restoring")
