"""aiohttp's access log, less a line for each update Telegram delivers and Chorus takes.

At the default log level (INFO) every resident's answer wrote a line
(`POST /telegram/webhook 200`) that said nothing an operator can act on, and
writing it took 8% off the answers a second Chorus could take by typing
(bench/README.md, sixteenth round). Updates taken are counted in /metrics
(chorus_updates_handled) instead. A webhook call refused or failed (403 for
a wrong secret, 400, 500) is still logged, as is every other request.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.web_log import AccessLogger

from bot.telegram.channel import WEBHOOK_PATH


class AccessLog(AccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if response.status == 200 and request.path == WEBHOOK_PATH:
            return
        super().log(request, response, time)
