"""Operator tasks behind the CLI: each opens the database, does one thing in one transaction, returns what it did."""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from telegram import Bot
from telegram.error import TelegramError

from bot import outreach
from bot.config import Settings
from bot.errors import ChorusError, OutputError
from bot.leader import service_stopped
from bot.outreach import OpenedWave
from bot.private_file import private_file
from bot.runtime import Runtime, open_runtime
from bot.telegram.links import JOIN_PREFIX, start_link, survey_start
from storage import backup, catalogue, migrate, organisations, outbox, privacy, retention, staff, subscriptions, waves
from storage.errors import BackupRefused, DatabaseUnavailable, StorageError
from surveys.loader import load_survey
from surveys.model import Survey

logger = logging.getLogger(__name__)
TIMED_BACKUP = re.compile(r"chorus-\d{8}-\d{6}\.db")  # chorus-20261207-054929.db: its name sorts by time


@contextmanager
def _reachable() -> Iterator[None]:
    """A database that cannot be reached or opened is one line naming the setting, not a driver traceback."""
    try:
        yield
    except (DBAPIError, OSError) as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise DatabaseUnavailable(f"CHORUS_DATABASE_URL: cannot open the database: {reason}") from None


async def prepare_database(runtime: Runtime) -> None:
    """Bring an embedded SQLite database up to date; on PostgreSQL only check (operators run `chorus db upgrade`)."""
    with _reachable():
        if runtime.db.is_sqlite:
            await migrate.upgrade(runtime.db)
        elif not await migrate.is_current(runtime.db):
            raise StorageError("CHORUS_DATABASE_URL: the database schema is not up to date; run `chorus db upgrade`")


async def database_ok(runtime: Runtime) -> bool:
    try:
        async with runtime.db.read() as session:
            await session.execute(text("SELECT 1"))
    except (DBAPIError, OSError):
        return False
    return True


async def upgrade_database(settings: Settings) -> set[str]:
    """Apply the migrations; returns the revision the database is now at."""
    async with open_runtime(settings) as runtime:
        with _reachable():
            await migrate.upgrade(runtime.db)
            return await migrate.current_revisions(runtime.db)


async def import_surveys(settings: Settings, paths: list[Path]) -> list[catalogue.Imported]:
    """Check every file first, then store them all in one transaction: all or nothing."""
    surveys = [load_survey(path) for path in paths]
    async with open_runtime(settings) as runtime:
        await prepare_database(runtime)
        now = runtime.clock()

        def store(session: Session) -> list[catalogue.Imported]:
            return [_stored(session, survey, now) for survey in surveys]

        return await runtime.db.write(store)


def _stored(session: Session, survey: Survey, now: datetime) -> catalogue.Imported:
    """Store the survey, noting what it names for its scheduled waves that is not added yet."""
    imported = catalogue.import_survey(session, survey, now)
    if survey.metadata.schedule is None:
        return imported
    named: dict[organisations.Kind, str | None] = {"area": survey.metadata.area, "service": survey.metadata.service}
    return replace(imported, unplaced=organisations.unplaced(session, survey.metadata.organisation, named))


async def list_surveys(settings: Settings) -> list[catalogue.SurveyListing]:
    async with open_runtime(settings) as runtime:
        await prepare_database(runtime)
        return await runtime.db.fetch(catalogue.list_surveys)


async def forget_contact(settings: Settings, contact_id: int, actor: str = "cli") -> privacy.Forgotten:
    async with open_runtime(settings) as runtime:
        await prepare_database(runtime)
        now, key = runtime.clock(), runtime.secret_key
        forgotten = await runtime.db.write(
            lambda session: privacy.forget(session, contact_id, secret_key=key, now=now, actor=actor)
        )
        await runtime.db.empty_wal()
        return forgotten


async def export_contact(settings: Settings, contact_id: int, actor: str = "cli") -> dict[str, Any]:
    async with open_runtime(settings) as runtime:
        await prepare_database(runtime)
        now, key = runtime.clock(), runtime.secret_key
        return await runtime.db.write(
            lambda session: privacy.export(session, contact_id, secret_key=key, now=now, actor=actor)
        )


async def purge(runtime: Runtime, actor: str = "retention") -> retention.Purged:
    policy = retention.Retention(runtime.secret_key, runtime.clock(), runtime.settings.retention_days, actor)
    result = await retention.purge(runtime.db, policy)
    logger.info("retention purge: %s", result)
    return result


@dataclass(frozen=True)
class Backup:
    source: Path
    size: int  # bytes


def backup_database(database_url: str, destination: Path) -> Backup:
    """Copy the embedded SQLite database to `destination`, safely while `chorus run` writes to it."""
    source = backup.sqlite_file(database_url)
    with private_file(destination) as partial:
        size = backup.backup_sqlite(source, partial)
    return Backup(source, size)


@dataclass(frozen=True)
class Restored:
    database: Path
    revisions: set[str]  # the backup's schema; `chorus run` upgrades an older one as it starts
    kept: Path | None  # a copy of the database the backup replaced, if there was one


def restore_database(database_url: str, source: Path, now: datetime) -> Restored:
    """Put a backup in place of the embedded SQLite database, with `chorus run` stopped.

    Nothing is lost by restoring the wrong file: the database it replaces is
    first copied beside it (chorus.db.before-restore-20261207-081500). The
    restored file keeps the replaced one's owner and permissions, so the
    service's own user can still open it after an operator restored as root.
    """
    database = backup.database_path(
        database_url, f"chorus db restore replaces the embedded SQLite database; {backup.PG_RESTORE}"
    )
    revisions = backup.backup_revisions(source)
    if not database.parent.is_dir():
        raise OutputError(f"cannot write {database}: its folder {database.parent} does not exist")
    if database.exists() and database.samefile(source):
        raise BackupRefused(f"{source} is the database itself; name a backup of it")
    with service_stopped(database):
        backup.ensure_unused(database)
        kept = original = None
        if database.exists():
            original = database.stat()
            kept = database.with_name(f"{database.name}.before-restore-{now:%Y%m%d-%H%M%S}")
            with private_file(kept) as partial:
                backup.backup_sqlite(database, partial)
        with private_file(database) as partial:
            backup.backup_sqlite(source, partial)
            if original is not None:
                _owned_as(partial, original)
    return Restored(database, revisions, kept)


def _owned_as(path: Path, original: os.stat_result) -> None:
    """Give `path` the owner, group and permissions the replaced database had."""
    os.chmod(path, original.st_mode & 0o777)
    if (path.stat().st_uid, path.stat().st_gid) != (original.st_uid, original.st_gid):
        os.chown(path, original.st_uid, original.st_gid)


async def scheduled_backup(runtime: Runtime) -> Path | None:
    """Back up into CHORUS_BACKUP_DIR and keep its newest CHORUS_BACKUP_KEEP backups; None if it failed.

    It runs on a thread, so the service goes on answering while a large
    database is copied. A failure (a full disk, say) is logged as an error
    and the next comes at the next interval: a missed backup must not stop
    the service, and the log is where an operator looks.
    """
    folder = runtime.settings.backup_dir
    assert folder is not None
    destination = folder / runtime.clock().strftime("chorus-%Y%m%d-%H%M%S.db")
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        made = await asyncio.to_thread(backup_database, runtime.db.url, destination)
        removed = _keep_newest(folder, runtime.settings.backup_keep)
    except (ChorusError, StorageError, OSError) as error:
        logger.error("backup into %s failed: %s", folder, error)
        return None
    logger.info("backed up %s to %s (%s bytes); removed %s older backups", made.source, destination, made.size, removed)
    return destination


def _keep_newest(folder: Path, keep: int) -> int:
    """Remove all but the newest `keep` of the timed backups there; how many went.

    Only names such as chorus-20261207-054929.db count, so a backup an operator
    made by hand in the same folder (chorus-2026-12-07.db) is never removed.
    """
    older = sorted(path for path in folder.iterdir() if TIMED_BACKUP.fullmatch(path.name))[:-keep]
    for path in older:
        path.unlink()
    return len(older)


async def purge_database(settings: Settings) -> retention.Purged:
    async with open_runtime(settings) as runtime:
        await prepare_database(runtime)
        return await purge(runtime, actor="cli")


async def invite_staff(settings: Settings, organisation: str, count: int) -> list[str]:
    """One-time join links (or codes, without a bot token) for staff of an organisation."""
    async with open_runtime(settings) as runtime:
        await prepare_database(runtime)
        now = runtime.clock()
        codes = await runtime.db.write(lambda session: staff.create_codes(session, organisation, count, now))
    username = await _bot_username(settings)
    return [start_link(username, f"{JOIN_PREFIX}{code}") for code in codes]


async def survey_link(
    settings: Settings, survey: str, kind: organisations.Kind | None = None, place: str | None = None
) -> str:
    """The link a leaflet or QR code carries to the survey, recording an area or a service (`kind`): checked
    before it is printed."""
    payload = survey_start(survey, place)
    async with open_runtime(settings) as runtime:
        await prepare_database(runtime)
        await runtime.db.fetch(lambda session: organisations.check_link(session, survey, kind, place))
    return start_link(await _bot_username(settings), payload)


async def name_organisation(settings: Settings, slug: str, name: str) -> bool:
    async with open_runtime(settings) as runtime:
        await prepare_database(runtime)
        now = runtime.clock()
        return await runtime.db.write(lambda session: organisations.name_organisation(session, slug, name, now))


async def add_place(settings: Settings, kind: organisations.Kind, organisation: str, slug: str, name: str) -> bool:
    async with open_runtime(settings) as runtime:
        await prepare_database(runtime)
        now = runtime.clock()
        return await runtime.db.write(
            lambda session: organisations.add_place(session, kind, organisation, slug, name, now)
        )


async def list_organisations(settings: Settings) -> list[organisations.OrganisationListing]:
    async with open_runtime(settings) as runtime:
        await prepare_database(runtime)
        return await runtime.db.fetch(organisations.list_organisations)


async def open_wave(settings: Settings, slug: str, audience: waves.Audience, name: str | None) -> OpenedWave:
    async with open_runtime(settings) as runtime:
        await prepare_database(runtime)
        opened = await outreach.open_wave(runtime, slug, audience, name=name)
        assert opened is not None, "only a scheduled slot can have opened already"
        return opened


async def close_wave(settings: Settings, wave_id: int) -> int:
    async with open_runtime(settings) as runtime:
        await prepare_database(runtime)
        return await outreach.close(runtime, wave_id)


async def list_waves(settings: Settings) -> list[waves.WaveListing]:
    async with open_runtime(settings) as runtime:
        await prepare_database(runtime)
        return await runtime.db.fetch(waves.list_waves)


async def follow_wave(settings: Settings, wave_id: int, progress: Callable[[dict[str, int]], bool]) -> None:
    """Report the wave's invites by status every second, until `progress` returns False."""
    async with open_runtime(settings) as runtime:
        while True:
            counts = await runtime.db.fetch(lambda session: waves.wave_sends(session, wave_id))
            if not progress(counts):
                return
            await asyncio.sleep(1)


async def outbox_status(settings: Settings) -> outbox.OutboxStatus:
    async with open_runtime(settings) as runtime:
        await prepare_database(runtime)
        now = runtime.clock()
        return await runtime.db.fetch(lambda session: outbox.outbox_status(session, now))


@dataclass(frozen=True)
class Subscriber:
    id: int
    channel: str
    address: str
    survey: str | None


async def subscribe(settings: Settings, channel: str, address: str, survey: str | None) -> Subscriber:
    """Add a weekly summary subscriber (or find the same one)."""
    async with open_runtime(settings) as runtime:
        await prepare_database(runtime)
        now = runtime.clock()

        def work(session: Session) -> Subscriber:
            row = subscriptions.subscribe(session, channel, address, survey, now)
            return Subscriber(row.id, row.channel, row.address, row.survey)

        return await runtime.db.write(work)


async def unsubscribe(settings: Settings, subscription_id: int) -> None:
    async with open_runtime(settings) as runtime:
        await prepare_database(runtime)
        now = runtime.clock()
        await runtime.db.write(lambda session: subscriptions.unsubscribe(session, subscription_id, now))


async def list_subscribers(settings: Settings) -> list[Subscriber]:
    async with open_runtime(settings) as runtime:
        await prepare_database(runtime)
        rows = await runtime.db.fetch(subscriptions.subscriptions)
        return [Subscriber(row.id, row.channel, row.address, row.survey) for row in rows]


async def _bot_username(settings: Settings) -> str | None:
    if settings.telegram_bot_token is None:
        return None
    bot = Bot(settings.telegram_bot_token.get_secret_value(), base_url=settings.telegram_api_base_url)
    try:
        async with bot:
            return bot.username
    except TelegramError as error:
        logger.warning("could not ask Telegram for the bot's name (%s); printing what follows ?start= alone", error)
        return None
