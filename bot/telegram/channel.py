"""The Telegram channel inside `chorus run`: polling or webhook in, one chat at a time; replies go by the outbox.

Usage (bot/service.py does this when TELEGRAM_BOT_TOKEN is set):
    channel = TelegramChannel(runtime, on_queued=sender.wake, sender=sender)
    channel.routes(app)
    await channel.start()           # webhook when CHORUS_PUBLIC_URL is set, long polling otherwise
    ...                             # the outbox sender sends through channel.transport
    await channel.stop()
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from weakref import WeakValueDictionary

from aiohttp import web
from telegram import BotCommand
from telegram.error import Conflict, EndPointNotFound, InvalidToken, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot import messages as m
from bot.errors import NotAnUpdate, SendFailed
from bot.i18n import languages
from bot.outbox_sender import OutboxSender
from bot.runtime import Runtime
from bot.telegram import outgoing
from bot.telegram.conversation import apologise, handle_update
from bot.telegram.request import AiohttpRequest
from bot.telegram.updates import Inbound, read_update
from storage import json_codec
from storage.database import is_transient
from storage.outbox import Message, Settlement, settle

logger = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
POLL_SECONDS = 25
CONNECT_WAIT_SECONDS = 10  # how long a message waits for the bot's first connection before it is queued again
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]


def make_bot(runtime: Runtime) -> ExtBot[None]:
    settings = runtime.settings
    assert settings.telegram_bot_token is not None
    outgoing.quiet_typed_method_advice()
    return ExtBot(
        settings.telegram_bot_token.get_secret_value(),
        base_url=settings.telegram_api_base_url,
        request=AiohttpRequest(),
        get_updates_request=AiohttpRequest(connection_limit=1, read_timeout=POLL_SECONDS + 10),
    )


@dataclass(frozen=True)
class Outcome:
    """What became of an update: taken (applied, or skipped for good) or to come again; the call to answer it with."""

    taken: bool
    in_response: dict[str, Any] | None = None


class TelegramChannel:
    def __init__(
        self,
        runtime: Runtime,
        on_queued: Callable[[], None],
        bot: ExtBot[None] | None = None,
        sender: OutboxSender | None = None,
    ) -> None:
        """`sender`, this process's outbox sender, takes replies as they are committed while it sends (OutboxSender.take)."""
        self.runtime = runtime
        self.on_queued = on_queued
        self.sender = sender
        self.bot = bot or make_bot(runtime)
        self._locks: WeakValueDictionary[int, asyncio.Lock] = WeakValueDictionary()
        self._tasks: set[asyncio.Task[bool]] = set()
        self._poller: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._me: str | None = None  # the bot's username, once connected

    @property
    def webhook_mode(self) -> bool:
        return bool(self.runtime.settings.public_url)

    def routes(self, app: web.Application) -> None:
        app.router.add_post(WEBHOOK_PATH, self.webhook)

    async def start(self) -> None:
        """Connect to the Bot API, retrying until it takes the token, then take updates.

        Chorus goes on serving meanwhile: webhooks, the scheduler and email do
        not wait for Telegram, and Telegram messages wait in the outbox.
        """
        delay = 1.0
        while True:
            try:
                await self._connect()
                break
            except InvalidToken:  # not logged as it is: PTB's message quotes the token
                logger.error(
                    "Telegram refused TELEGRAM_BOT_TOKEN: check it against @BotFather's; retrying in %.0fs", delay
                )
            except TelegramError as error:
                logger.warning("could not connect the bot to Telegram (%s); retrying in %.0fs", error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60)
        self._connected.set()
        if not self.webhook_mode:
            self._poller = asyncio.create_task(self._poll())

    async def _connect(self) -> None:
        await self.bot.initialize()
        self._me = self.bot.username
        await self._set_commands()
        await self._describe()
        if self.webhook_mode:
            url = f"{self.runtime.settings.public_url}{WEBHOOK_PATH}".replace("//telegram", "/telegram")
            secret = self.runtime.settings.webhook_secret
            assert secret is not None
            await self.bot.set_webhook(url, secret_token=secret.get_secret_value(), allowed_updates=ALLOWED_UPDATES)
            logger.info("Telegram: webhook at %s as @%s", url, self.bot.username)
        else:
            await self.bot.delete_webhook()
            logger.info("Telegram: long polling as @%s", self.bot.username)

    async def _set_commands(self) -> None:
        for language in languages():
            commands = [BotCommand(name, m.say(language, description)) for name, description in m.COMMANDS.items()]
            await self.bot.set_my_commands(commands, language_code=None if language == "en" else language)

    async def _describe(self) -> None:
        """What Telegram shows someone who opens the bot before their first /start, and on its profile, in each
        language Chorus speaks; written only where @BotFather's are empty, so a council's own words stay.

        A Bot API server that cannot say (an older self-hosted one) is logged, and the bot connects all the same.
        """
        try:
            described = (await self.bot.get_my_description()).description
            about = (await self.bot.get_my_short_description()).short_description
            if described or about:
                return
            for language in languages():
                code = None if language == "en" else language
                await self.bot.set_my_description(m.say(language, m.WELCOME), language_code=code)
                await self.bot.set_my_short_description(m.say(language, m.ABOUT), language_code=code)
        except TelegramError as error:
            logger.warning("Telegram: could not set the bot's description (%s); it stays as @BotFather has it", error)

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.bot.shutdown()

    async def _poll(self) -> None:
        """Long polling: an update is confirmed to Telegram only after it has been handled.

        Whatever getUpdates meets, polling goes on: a 429 is waited out, and any
        other failure (the network, another process polling with the same
        token, a webhook set from elsewhere) is logged and tried again later.
        """
        offset = 0
        delay = 1.0
        while True:
            try:
                updates = await self.bot.do_api_request(
                    "getUpdates", {"offset": offset, "timeout": POLL_SECONDS, "allowed_updates": ALLOWED_UPDATES}
                )
                delay = 1.0
            except RetryAfter as error:
                await asyncio.sleep(outgoing.retry_seconds(error))
                continue
            except Exception as error:  # polling must outlive anything one call meets
                logger.warning("getUpdates failed (%s); retrying in %.0fs", _poll_failure(error), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60)
                continue
            if not isinstance(updates, list) or not updates:
                continue
            again = await self._handle_batch(updates)
            if again is not None:  # confirm what came before it; it and what came after are asked for again
                offset = again
                await asyncio.sleep(delay)
                continue
            ids = list(_update_ids(updates))
            if not ids:  # nothing to confirm them by: asking at once would only get the same again
                await asyncio.sleep(delay)
                continue
            offset = max(ids) + 1

    async def _handle_batch(self, updates: Iterable[object]) -> int | None:
        """Chats are handled side by side; each chat's updates in order.

        Returns the first update the database may take later, if any: a chat's
        updates after it wait for it, and any that were applied meanwhile are
        recognised when they come again.
        """
        by_chat: dict[int, list[Inbound]] = {}
        for update in updates:
            try:
                inbound = read_update(update, self._me)
            except NotAnUpdate as error:
                logger.warning("getUpdates returned something that is not a Telegram update (%s)", error)
                continue
            if inbound is not None:
                by_chat.setdefault(inbound.chat_id, []).append(inbound)

        async def in_order(chat_updates: list[Inbound]) -> int | None:
            for inbound in chat_updates:
                if not await self.process(inbound):
                    return inbound.update_id
            return None

        again = await asyncio.gather(*(in_order(chat_updates) for chat_updates in by_chat.values()))
        return min((update_id for update_id in again if update_id is not None), default=None)

    async def webhook(self, request: web.Request) -> web.Response:
        """Telegram's webhook: 403 without the secret; 200 once the update is durably applied (or skipped for
        good); 500 when the database may take it later, so Telegram delivers it again.

        A 200 may carry a Bot API call for Telegram to make (a button press's answer, see conversation.py).
        """
        secret = self.runtime.settings.webhook_secret
        given = request.headers.get(SECRET_HEADER, "")
        if secret is None or not hmac.compare_digest(given.encode(), secret.get_secret_value().encode()):
            return web.Response(status=403, text="forbidden")
        try:
            inbound = read_update(await request.json(loads=json_codec.loads), self._me)
        except (ValueError, NotAnUpdate) as error:
            logger.warning("webhook: a request with the right secret is not a Telegram update (%s)", error)
            return web.Response(status=400, text="not a Telegram update")
        if inbound is None:
            return web.Response(status=200)
        committed: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self.process(inbound, committed))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        outcome = await committed
        if not outcome.taken:
            return web.Response(status=500, text="try again")
        call = outcome.in_response
        if call is None:
            return web.Response(status=200)
        return web.json_response(
            {name: value for name, value in call.items() if value is not None}, dumps=json_codec.dumps
        )

    def _lock(self, chat_id: int) -> asyncio.Lock:
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[chat_id] = lock
        return lock

    async def process(self, inbound: Inbound, committed: asyncio.Future[Outcome] | None = None) -> bool:
        """Apply one update and wake the sender for its replies; never raises for one bad update.

        False when the database may take the update later, so it should come
        again. An update that fails any other way fails the same way every
        time: it is logged and skipped, since Telegram holds back a chat's
        later updates until the one before them is taken, and the person is
        told it was not recorded. Under a webhook, `committed` hears the
        outcome, with the call to answer the update with.
        """
        async with self._lock(inbound.chat_id):
            try:
                handled = await handle_update(
                    self.runtime,
                    inbound,
                    answer_in_response=committed is not None,
                    take=self.sender is not None and self.sender.running,
                )
            except Exception as error:
                outcome = Outcome(taken=not _again(inbound, error))
                if outcome.taken:
                    await self._apologise(inbound)
            else:
                outcome = Outcome(taken=True, in_response=handled.in_response)
                if handled.taken:
                    await self._hand_over(handled.taken)
                if handled.queued:
                    self.on_queued()
            if committed is not None and not committed.done():
                committed.set_result(outcome)
            return outcome.taken

    async def _hand_over(self, taken: list[Message]) -> None:
        """Give the sender the replies taken for it; if it stopped meanwhile (the lead was lost), queue them again."""
        assert self.sender is not None
        if self.sender.take(taken):
            return
        now = self.runtime.clock()
        released = Settlement(released=[message.id for message in taken])
        await self.runtime.db.write(lambda session: settle(session, now, released), quick=True)
        self.on_queued()

    async def _apologise(self, inbound: Inbound) -> None:
        try:
            if await apologise(self.runtime, inbound):
                self.on_queued()
        except Exception:
            logger.exception("update %s: could not queue the apology either", inbound.update_id)

    async def transport(self, address: str, payload: dict[str, Any]) -> None:
        """The outbox sender's way out to Telegram; until the bot has connected, the message waits its turn again."""
        if not self._connected.is_set():
            try:
                async with asyncio.timeout(CONNECT_WAIT_SECONDS):
                    await self._connected.wait()
            except TimeoutError:
                raise SendFailed("not connected to the Telegram Bot API yet", retryable=True) from None
        await outgoing.send(self.bot, address, payload)


def _again(inbound: Inbound, error: Exception) -> bool:
    """Log why the update could not be applied; True when the database may take it later."""
    if is_transient(error):
        logger.warning("update %s could not be applied (%s); it will come again", inbound.update_id, error)
        return True
    logger.error("update %s could not be applied; skipped", inbound.update_id, exc_info=error)
    return False


def _poll_failure(error: Exception) -> str:
    """What went wrong with getUpdates, with what to do where Telegram's words alone would puzzle an operator."""
    if isinstance(error, InvalidToken | EndPointNotFound):  # PTB reports a 401 on an initialised bot as the latter
        return "Telegram refused TELEGRAM_BOT_TOKEN: was it revoked or changed with @BotFather?"
    if isinstance(error, Conflict):
        return (
            f"{error.message}: another process is taking this bot's updates, or a webhook is set; run one "
            "`chorus run` per bot token, or set CHORUS_PUBLIC_URL on every process to use a webhook"
        )
    if isinstance(error, TelegramError):
        return error.message
    return f"{error.__class__.__name__}: {error}"


def _update_ids(updates: list[object]) -> Iterable[int]:
    """The updates' ids, to confirm them to Telegram; those that could not be read are confirmed too."""
    for update in updates:
        if isinstance(update, dict) and isinstance(update.get("update_id"), int):
            yield update["update_id"]
