"""The floor for bench/ingest.py: the least any aiohttp bot can do for an answer, with nothing stored.

It takes each update from the webhook and makes the Bot API calls an answer
needs, straight through one aiohttp ClientSession, with no survey, no state
and no database: a typed answer gets one sendMessage (with the scale's buttons, as every question); a press is answered in
the webhook's response, its question edited and the next question sent, as
Chorus does. What it costs per answer is what the harness's HTTP alone costs
a bot here, so a ratio against the baseline can be read against it.

Usage:
    python bench/floor_bot.py  # with TOKEN, BASE_URL and PORT set in the environment
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from typing import Any

import aiohttp
from aiohttp import web

SCALE = {"inline_keyboard": [[{"text": label, "callback_data": label} for label in "12345"]]}


async def main() -> None:
    api = f"{os.environ['BASE_URL']}{os.environ['TOKEN']}"
    port = int(os.environ["PORT"])
    session = aiohttp.ClientSession()
    pending: set[asyncio.Task[None]] = set()

    async def call(method: str, **params: Any) -> None:
        async with session.post(f"{api}/{method}", json=params) as response:
            await response.read()

    async def reply(update: dict[str, Any]) -> None:
        press = update.get("callback_query")
        if press is None:
            await call("sendMessage", chat_id=update["message"]["chat"]["id"], text="Question", reply_markup=SCALE)
            return
        chat = press["message"]["chat"]["id"]
        await call("editMessageText", chat_id=chat, message_id=press["message"]["message_id"], text="Answered")
        await call("sendMessage", chat_id=chat, text="Question", reply_markup=SCALE)

    async def webhook(request: web.Request) -> web.Response:
        update = json.loads(await request.read())
        task = asyncio.create_task(reply(update))
        pending.add(task)
        task.add_done_callback(pending.discard)
        press = update.get("callback_query")
        if press is None:
            return web.Response()
        return web.json_response({"method": "answerCallbackQuery", "callback_query_id": press["id"]})

    app = web.Application()
    app.router.add_post("/telegram", webhook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await call("setWebhook", url=f"http://127.0.0.1:{port}/telegram")
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()
    await session.close()


if __name__ == "__main__":
    asyncio.run(main())
