"""Runs Chorus as one long-lived process: database, HTTP server, channels, and (in the leader) jobs and the sender.

On start an embedded SQLite database is brought up to date (PostgreSQL is
only checked: operators run `chorus db upgrade`). SIGTERM and SIGINT stop it
cleanly: jobs stop, the server finishes what it has, the database closes.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot import analysis_worker, anonymous_release, metrics, outreach, weekly_summary
from bot.access_log import AccessLog
from bot.admin import prepare_database, purge, scheduled_backup
from bot.config import Settings
from bot.errors import StartupError
from bot.leader import Leadership
from bot.mail import EmailTransport
from bot.outbox_sender import OutboxSender, Transport
from bot.outbox_signal import announce, listening
from bot.rate_limit import SendLimits
from bot.runtime import Runtime, open_runtime
from bot.server import build_app
from bot.telegram.channel import TelegramChannel
from bot.telegram.outgoing import counts_against_limits

logger = logging.getLogger(__name__)


def start_jobs(runtime: Runtime, wake: Callable[[], None]) -> AsyncIOScheduler:
    """The leader's timed work: outreach, weekly summaries and the release of anonymous surveys every minute,
    the daily retention purge, and backups when CHORUS_BACKUP_DIR is set.

    The jobs themselves keep no state: whether a wave's slot has opened or a
    reminder has gone is in the database, so a restart neither skips nor
    repeats one. A tick that comes late still runs (no misfire grace limit).
    """
    scheduler = AsyncIOScheduler(timezone=ZoneInfo(runtime.settings.timezone))
    now = runtime.clock()
    common: dict[str, Any] = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
    for name, tick in (("outreach", outreach.tick), ("weekly-summary", weekly_summary.tick)):
        scheduler.add_job(
            tick,
            "interval",
            args=[runtime, wake],
            minutes=1,
            next_run_time=now + timedelta(seconds=5),
            id=name,
            **common,
        )
    scheduler.add_job(
        anonymous_release.release,
        "interval",
        args=[runtime],
        minutes=1,
        next_run_time=now + timedelta(seconds=5),
        id="anonymous-release",
        **common,
    )
    scheduler.add_job(
        purge,
        "interval",
        args=[runtime],
        days=1,
        next_run_time=now + timedelta(minutes=1),
        id="retention-purge",
        **common,
    )
    if runtime.settings.backup_dir is not None:
        scheduler.add_job(
            scheduled_backup,
            "interval",
            args=[runtime],
            hours=runtime.settings.backup_hours,
            next_run_time=now + timedelta(minutes=2),
            id="backup",
            **common,
        )
    scheduler.start()
    return scheduler


async def lead(runtime: Runtime, sender: OutboxSender) -> None:
    """Whenever this process holds the lead, run the scheduler and the outbox sender; give them up if it is lost."""
    async with Leadership(runtime.db) as leadership:
        while True:
            await leadership.acquired()
            metrics.LEADER.set(1)
            scheduler = start_jobs(runtime, sender.wake)
            sending = asyncio.create_task(sender.run())
            lost = asyncio.create_task(leadership.lost())
            try:
                async with listening(runtime.db, lambda: sender.wake(reply=True)):
                    await asyncio.wait({sending, lost}, return_when=asyncio.FIRST_COMPLETED)
                if sending.done() and sending.exception() is not None:
                    logger.error("the outbox sender stopped", exc_info=sending.exception())
                    await leadership.release()
                    await asyncio.sleep(5)
            finally:
                metrics.LEADER.set(0)
                scheduler.shutdown(wait=False)
                for task in (sending, lost):
                    task.cancel()
                await asyncio.gather(sending, lost, return_exceptions=True)


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Serve until `stop` is set or a stop signal arrives."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with open_runtime(settings) as runtime:
            await prepare_database(runtime)
            await _serve(runtime, stop)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def _serve(runtime: Runtime, stop: asyncio.Event) -> None:
    settings = runtime.settings
    app = build_app(runtime)
    transports: dict[str, Transport] = {}
    limits = SendLimits(
        settings.telegram_rate_limit,
        settings.telegram_chat_rate_limit,
        settings.telegram_chat_burst,
        settings.telegram_group_rate_per_minute,
    )
    sender = OutboxSender(runtime, transports, limits, counted=counts_against_limits)
    signals: set[asyncio.Task[None]] = set()

    def queued() -> None:
        """Wake the sender here if this process leads; else tell the leader's."""
        if sender.running or runtime.db.is_sqlite:
            sender.wake(reply=True)
            return
        task = asyncio.create_task(announce(runtime.db))
        signals.add(task)
        task.add_done_callback(signals.discard)

    if settings.smtp_host:
        transports["email"] = EmailTransport(settings)
    telegram = TelegramChannel(runtime, on_queued=queued, sender=sender) if settings.telegram_bot_token else None
    if telegram is not None:
        telegram.routes(app)
        transports["telegram"] = telegram.transport
    runner = web.AppRunner(app, handle_signals=False, access_log_class=AccessLog)
    await runner.setup()
    try:
        await _listen(runner, settings)
    except StartupError:
        await runner.cleanup()
        raise
    starting = asyncio.create_task(telegram.start()) if telegram else None
    leading = asyncio.create_task(lead(runtime, sender))
    analysing = asyncio.create_task(analysis_worker.run(runtime))
    try:
        logger.info("Chorus is serving on http://%s:%s (health check: /healthz)", settings.host, settings.port)
        if telegram is None:
            logger.info("Telegram is off: set TELEGRAM_BOT_TOKEN to start the bot")
        await stop.wait()
        logger.info("Stopping")
    finally:
        background = [task for task in (leading, analysing, starting) if task is not None]
        for task in (leading, analysing):
            task.cancel()
        await asyncio.gather(leading, analysing, *signals, return_exceptions=True)
        await runner.cleanup()
        if starting is not None:
            starting.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        if telegram is not None:
            await telegram.stop()


async def _listen(runner: web.AppRunner, settings: Settings) -> None:
    """Listen before any background work starts: a taken port then stops the service with nothing half-begun.

    The analysis worker, started first, could be opening a database connection
    on aiosqlite's thread when a taken port stopped the service; the thread then
    reported to a closed event loop, and a traceback followed the one-line error.
    """
    try:
        await web.TCPSite(runner, settings.host, settings.port).start()
    except OSError as error:
        unknown_host = isinstance(error, socket.gaierror) or error.errno == errno.EADDRNOTAVAIL
        setting = "CHORUS_HOST" if unknown_host else "CHORUS_PORT"
        raise StartupError(f"{setting}: cannot listen on {settings.host}:{settings.port}: {error.strerror}") from None
