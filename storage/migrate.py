"""Schema migrations (Alembic, shipped in storage/migrations): upgrade, downgrade, and refusing a newer schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from storage.database import Database
from storage.errors import SchemaTooNew

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


def _refuse_newer(connection: Connection) -> set[str]:
    current = _current(connection)
    known = {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    unknown = sorted(current - known)
    if unknown:
        raise SchemaTooNew(
            f"CHORUS_DATABASE_URL: the database schema ({', '.join(unknown)}) is newer than this version of Chorus; "
            "upgrade Chorus, or restore a backup taken before the upgrade"
        )
    return current


async def current_revisions(db: Database) -> set[str]:
    async with db.writer.connect() as connection:
        return await connection.run_sync(_refuse_newer)


async def upgrade(db: Database, target: str = "head") -> None:
    """Bring the schema up to `target`; refuses a database a newer Chorus has upgraded."""

    def run(connection: Connection) -> None:
        _refuse_newer(connection)
        command.upgrade(alembic_config(connection), target)

    async with db.writer.begin() as connection:
        await connection.run_sync(run)


async def downgrade(db: Database, target: str = "base") -> None:
    def run(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), target)

    async with db.writer.begin() as connection:
        await connection.run_sync(run)


async def is_current(db: Database) -> bool:
    return await current_revisions(db) == head_revisions()
