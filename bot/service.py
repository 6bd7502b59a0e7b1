"""Runs Chorus as one long-lived process: the HTTP server now, channels and background work as they arrive.

SIGTERM and SIGINT stop it cleanly: the server stops taking connections and
finishes what it has before the process exits.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from bot.config import Settings
from bot.errors import StartupError
from bot.server import build_app

logger = logging.getLogger(__name__)


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Serve until `stop` is set or a stop signal arrives."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(build_app(settings), handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        try:
            await site.start()
        except OSError as error:
            raise StartupError(
                f"CHORUS_PORT: cannot listen on {settings.host}:{settings.port}: {error.strerror}"
            ) from None
        logger.info("Chorus is serving on http://%s:%s (health check: /healthz)", settings.host, settings.port)
        await stop.wait()
        logger.info("Stopping")
    finally:
        await runner.cleanup()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
