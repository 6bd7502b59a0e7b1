"""The aiohttp application every channel adds its routes to, with the health check operators poll."""

from __future__ import annotations

from aiohttp import web

from bot.config import Settings

SETTINGS = web.AppKey("settings", Settings)


async def healthz(request: web.Request) -> web.Response:
    """200 while the process can serve; load balancers and `make run` users check it."""
    return web.json_response({"status": "ok"})


def build_app(settings: Settings) -> web.Application:
    app = web.Application()
    app[SETTINGS] = settings
    app.router.add_get("/healthz", healthz)
    return app
