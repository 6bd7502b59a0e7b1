"""A copy of the embedded SQLite database, whole and consistent while Chorus runs and writes to it.

Copying chorus.db with cp while the service runs can catch the file in the
middle of a checkpoint, and leaves out whatever is still in chorus.db-wal: the
copy may not open, or may miss the latest answers. SQLite's online backup
copies one snapshot of the database, write-ahead log included, in a single
step, while the service goes on writing (in WAL mode a reader does not hold up
the writer). The copy is then checked with SQLite's own quick_check.

PostgreSQL has pg_dump for this, which Chorus does not wrap.

Usage:
    source = sqlite_file(settings.database_url)   # BackupRefused for PostgreSQL, NotFound if there is no file
    size = backup_sqlite(source, Path("backup.db"))
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url

from storage.database import BUSY_TIMEOUT_MS
from storage.errors import BackupRefused, NotFound

PG_DUMP = "back up PostgreSQL with pg_dump, e.g. pg_dump --format=custom --file=chorus.dump DATABASE"


def sqlite_file(database_url: str) -> Path:
    """The database file a CHORUS_DATABASE_URL names, which must be SQLite's and must exist."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupRefused(f"chorus db backup copies the embedded SQLite database; {PG_DUMP}")
    if not url.database or url.database == ":memory:":
        raise BackupRefused("CHORUS_DATABASE_URL names no database file to back up")
    path = Path(url.database)
    if not path.is_file():
        raise NotFound(f"there is no database at {path} to back up")
    return path


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
