"""Runs Chorus as one long-lived process: database, HTTP server and background jobs.

On start an embedded SQLite database is brought up to date (PostgreSQL is
only checked: operators run `chorus db upgrade`). SIGTERM and SIGINT stop it
cleanly: jobs stop, the server finishes what it has, the database closes.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta
from zoneinfo import ZoneInfo

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot import analysis_worker
from bot.admin import prepare_database, purge
from bot.config import Settings
from bot.errors import StartupError
from bot.runtime import Runtime, open_runtime
from bot.server import build_app
from bot.telegram.channel import TelegramChannel

logger = logging.getLogger(__name__)


def start_jobs(runtime: Runtime) -> AsyncIOScheduler:
    """Background work of this process: for now the daily retention purge, first run a minute after start."""
    scheduler = AsyncIOScheduler(timezone=ZoneInfo(runtime.settings.timezone))
    scheduler.add_job(
        purge,
        "interval",
        args=[runtime],
        days=1,
        next_run_time=runtime.clock() + timedelta(minutes=1),
        coalesce=True,
        misfire_grace_time=3600,
        id="retention-purge",
    )
    scheduler.start()
    return scheduler


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Serve until `stop` is set or a stop signal arrives."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with open_runtime(settings) as runtime:
            await prepare_database(runtime)
            app = build_app(runtime)
            telegram = TelegramChannel(runtime) if settings.telegram_bot_token else None
            if telegram is not None:
                telegram.routes(app)
            runner = web.AppRunner(app, handle_signals=False)
            await runner.setup()
            scheduler = start_jobs(runtime)
            starting = asyncio.create_task(telegram.start()) if telegram else None
            analysing = asyncio.create_task(analysis_worker.run(runtime))
            try:
                await _listen(runner, settings)
                logger.info("Chorus is serving on http://%s:%s (health check: /healthz)", settings.host, settings.port)
                if telegram is None:
                    logger.info("Telegram is off: set TELEGRAM_BOT_TOKEN to start the bot")
                await stop.wait()
                logger.info("Stopping")
            finally:
                scheduler.shutdown(wait=False)
                analysing.cancel()
                await asyncio.gather(analysing, return_exceptions=True)
                await runner.cleanup()
                if starting is not None:
                    starting.cancel()
                    await asyncio.gather(starting, return_exceptions=True)
                if telegram is not None:
                    await telegram.stop()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def _listen(runner: web.AppRunner, settings: Settings) -> None:
    try:
        await web.TCPSite(runner, settings.host, settings.port).start()
    except OSError as error:
        raise StartupError(f"CHORUS_PORT: cannot listen on {settings.host}:{settings.port}: {error.strerror}") from None
