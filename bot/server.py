"""The aiohttp application every channel adds its routes to, with the health check operators poll."""

from __future__ import annotations

from aiohttp import web

from bot.admin import database_ok
from bot.metrics import metrics
from bot.runtime import Runtime

RUNTIME = web.AppKey("runtime", Runtime)


async def healthz(request: web.Request) -> web.Response:
    """200 while the process can serve and reach its database; 503 otherwise, for load balancers."""
    if not await database_ok(request.app[RUNTIME]):
        return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    return web.json_response({"status": "ok"})


def build_app(runtime: Runtime) -> web.Application:
    app = web.Application()
    app[RUNTIME] = runtime
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app
