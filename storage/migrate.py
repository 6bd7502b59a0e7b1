"""Schema migrations (Alembic, shipped in storage/migrations): upgrade, downgrade, and refusing a newer schema."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from storage.database import Database
from storage.errors import SchemaTooNew, StorageError

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def _current(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


def known_revisions() -> set[str]:
    """Every schema revision this Chorus has a migration for."""
    return {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def _refuse_newer(connection: Connection) -> set[str]:
    current = _current(connection)
    unknown = sorted(current - known_revisions())
    if unknown:
        raise SchemaTooNew(
            f"CHORUS_DATABASE_URL: the database schema ({', '.join(unknown)}) is newer than this version of Chorus; "
            "upgrade Chorus, or restore a backup taken before the upgrade"
        )
    return current


async def current_revisions(db: Database) -> set[str]:
    async with db.writer.connect() as connection:
        return await connection.run_sync(_refuse_newer)


def _pragma(connection: Connection, pragma: str) -> None:
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()


def _migrate(connection: Connection, step: Callable[[Config], None]) -> None:
    """Run one Alembic command in one transaction.

    On SQLite, foreign keys are off while it runs: a batch migration rebuilds a
    table by dropping it, and with foreign keys on that drop would cascade and
    delete rows that point at it. They are checked before the commit instead.
    """
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _pragma(connection, "foreign_keys=OFF")
    try:
        with connection.begin():
            step(alembic_config(connection))
            if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                raise StorageError("the migration would leave rows pointing at missing rows; nothing was changed")
    finally:
        if sqlite:
            _pragma(connection, "foreign_keys=ON")


async def upgrade(db: Database, target: str = "head") -> None:
    """Bring the schema up to `target`; refuses a database a newer Chorus has upgraded."""

    def step(config: Config) -> None:
        _refuse_newer(config.attributes["connection"])
        command.upgrade(config, target)

    async with db.writer.connect() as connection:
        await connection.run_sync(_migrate, step)


async def downgrade(db: Database, target: str = "base") -> None:
    async with db.writer.connect() as connection:
        await connection.run_sync(_migrate, lambda config: command.downgrade(config, target))


async def is_current(db: Database) -> bool:
    return await current_revisions(db) == head_revisions()
