"""A local fake of the Telegram Bot API, spoken over real HTTP, for tests and benchmarks.

The bot under test reaches it only through TELEGRAM_API_BASE_URL and
python-telegram-bot's own HTTP stack. It keeps what the bot sent, lets a test
act as users (type, send a command, press a button, send a sticker or an
album, block the bot) and as groups (talk, remove the bot, become a
supergroup), enforces Telegram's limits (4,096 characters, 1,024 for a
caption and 200 for a button's notification, 64-byte callback data, valid
HTML, about 30 messages/s overall and 1/s per chat with a small burst, 429
with retry_after beyond), takes a method's name in any case as Telegram
does, and delivers updates by getUpdates or by webhook with the secret
header, only of the kinds the bot asked for (allowed_updates).

Usage:
    fake = FakeTelegram()
    base_url = await fake.start()          # e.g. http://127.0.0.1:41234/bot
    await fake.user_sends(1001, "/start tsm")
    messages = await fake.wait_for(1001, count=2)
    await fake.press(1001, messages[-1]["message_id"], "…callback data…")
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import ClientSession, web

from storage import json_codec

TOKEN = "123456:TESTTOKENtesttokenTESTTOKENtest123"
ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "span",
    "blockquote",
}
SENDING = {"sendMessage", "sendPhoto", "sendDocument"}
WEBHOOK_ACTIVE = "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
OTHER_POLLER = "terminated by other getUpdates request; make sure that only one bot instance is running"


class _HTMLCheck(HTMLParser):
    """Telegram's HTML parse mode: only a few tags, properly nested."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.error: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.error = f'Unsupported start tag "{tag}"'
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.error = f'Unexpected end tag "{tag}"'


def html_error(text: str) -> str | None:
    checker = _HTMLCheck()
    checker.feed(text)
    checker.close()
    if checker.error is None and checker.stack:
        checker.error = f'Can\'t find end tag corresponding to start tag "{checker.stack[-1]}"'
    return checker.error


class _PlainText(HTMLParser):
    """A message's text as Telegram keeps it once parsed: the words without their tags, entities unescaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def as_kept(text: str | None, parse_mode: str | None) -> str | None:
    """What a message's text or caption reads as in what Telegram returns, and in a reply to it: plain words."""
    if text is None or parse_mode != "HTML":
        return text
    parser = _PlainText()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


@dataclass
class Bucket:
    """A token bucket: `rate` per second, up to `burst` at once."""

    rate: float
    burst: float
    tokens: float = -1.0
    stamp: float = field(default_factory=time.monotonic)

    def take(self) -> float:
        """0 if a message may go now, else the seconds to wait."""
        now = time.monotonic()
        if self.tokens < 0:
            self.tokens = self.burst
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class FakeTelegram:
    def __init__(
        self,
        token: str = TOKEN,
        overall_rate: float = 30.0,
        overall_burst: float = 30.0,
        chat_rate: float = 1.0,
        chat_burst: float = 4.0,
        latency: float = 0.0,
    ) -> None:
        self.token = token
        self.overall = Bucket(overall_rate, overall_burst)
        self.chat_rate, self.chat_burst = chat_rate, chat_burst
        self.chats: dict[int, Bucket] = {}
        self.latency = latency
        self.sent: list[dict[str, Any]] = []
        self._sent_to: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.callback_answers: list[dict[str, Any]] = []
        self.calls: defaultdict[str, int] = defaultdict(int)
        self.too_many_requests = 0
        self.blocked: set[int] = set()
        self.missing: set[int] = set()
        self.migrated: dict[int, int] = {}  # group chats that became supergroups: old id -> new id
        self.bad_gateways = 0
        self.poll_refusals: list[tuple[int, str, int | None]] = []  # errors the next getUpdates calls get, in turn
        self.commands: list[dict[str, Any]] = []
        self.descriptions: dict[str, str] = {}  # by language code, "" for every language without one of its own
        self.short_descriptions: dict[str, str] = {}
        self.webhook: dict[str, Any] | None = None
        self.allowed_updates: list[str] | None = None  # as the bot last asked; None: every kind Chorus reads
        self.withheld: list[dict[str, Any]] = []  # updates of kinds the bot did not ask for, never delivered
        self.webhook_responses: list[int] = []
        self.calls_in_responses: list[dict[str, Any]] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._waiters: defaultdict[int, list[asyncio.Future[dict[str, Any]]]] = defaultdict(list)
        self._client: ClientSession | None = None
        self.port = 0

    async def start(self, port: int = 0) -> str:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return f"http://127.0.0.1:{self.port}/bot"

    async def stop(self) -> None:
        async with self._arrived:
            self._closing = True
            self._arrived.notify_all()
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ---- the Bot API -------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        return await self._perform(request.match_info["method"], await self._params(request))

    async def _perform(self, method: str, params: dict[str, Any]) -> web.Response:
        method = _METHODS.get(method.lower(), method)  # as Telegram, any case: counted by the name in its docs
        self.calls[method] += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        handler = getattr(self, f"api_{method}", None)
        if handler is None:
            return self._error(404, "Not Found: method not found")
        if method == "getUpdates":
            if self.webhook is not None:
                return self._error(409, f"Conflict: {WEBHOOK_ACTIVE}")
            if self.poll_refusals:
                code, description, retry_after = self.poll_refusals.pop(0)
                return self._error(code, description, retry_after)
        chat_id = int(params["chat_id"]) if "chat_id" in params else None
        if method in SENDING and chat_id is not None:
            if chat_id in self.blocked:
                why = "bot was kicked from the group chat" if chat_id < 0 else "bot was blocked by the user"
                return self._error(403, f"Forbidden: {why}")
            if chat_id in self.missing:
                return self._error(400, "Bad Request: chat not found")
            if chat_id in self.migrated:
                return self._error(
                    400,
                    "Bad Request: group chat was upgraded to a supergroup chat",
                    migrate_to_chat_id=self.migrated[chat_id],
                )
            if self.bad_gateways:
                self.bad_gateways -= 1
                return self._error(502, "Bad Gateway")
            wait = max(self.overall.take(), self._chat_bucket(chat_id).take())
            if wait > 0:
                self.too_many_requests += 1
                return self._error(
                    429, f"Too Many Requests: retry after {max(1, round(wait))}", retry_after=max(1, round(wait))
                )
        try:
            result = await handler(params)
        except BadRequest as error:
            return self._error(400, f"Bad Request: {error}")
        return _json_response({"ok": True, "result": result})

    def _chat_bucket(self, chat_id: int) -> Bucket:
        if chat_id not in self.chats:
            self.chats[chat_id] = Bucket(self.chat_rate, self.chat_burst)
        return self.chats[chat_id]

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return dict(await request.json(loads=json_codec.loads))
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if isinstance(value, web.FileField):
                params[key] = {"filename": value.filename, "content": value.file.read()}
            else:
                params[key] = value
        return params

    @staticmethod
    def _error(code: int, description: str, retry_after: int | None = None, **parameters: int) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if parameters:
            body["parameters"] = parameters
        return _json_response(body, status=code)

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": int(self.token.split(":")[0]),
            "is_bot": True,
            "first_name": "Chorus",
            "username": "chorus_test_bot",
        }

    async def api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user(),
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset", 0) or 0)
        limit = int(params.get("limit", 100) or 100)
        timeout = float(params.get("timeout", 0) or 0)
        self._allow(params)
        async with self._arrived:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if not self._updates and timeout and not self._closing:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):  # not wait_for: on 3.11 it can swallow a cancel
                        await self._arrived.wait()
            return [u for u in self._updates if u["update_id"] >= offset][:limit]

    async def api_setWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {"url": params["url"], "secret": params.get("secret_token")}
        self._allow(params)
        return True

    def _allow(self, params: dict[str, Any]) -> None:
        """Keep the kinds of update the bot asks for; as Telegram does, a call that names none keeps the last setting."""
        allowed = params.get("allowed_updates")
        if isinstance(allowed, str):  # a form-encoded call sends the list as JSON
            allowed = json_codec.loads(allowed)
        if allowed is not None:
            self.allowed_updates = list(allowed) or None

    async def api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    async def api_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def api_setMyCommands(self, params: dict[str, Any]) -> bool:
        self.commands.append({"commands": _json(params["commands"]), "language_code": params.get("language_code")})
        return True

    async def api_getMyDescription(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"description": self.descriptions.get(params.get("language_code") or "", "")}

    async def api_setMyDescription(self, params: dict[str, Any]) -> bool:
        self.descriptions[params.get("language_code") or ""] = str(params.get("description") or "")
        return True

    async def api_getMyShortDescription(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"short_description": self.short_descriptions.get(params.get("language_code") or "", "")}

    async def api_setMyShortDescription(self, params: dict[str, Any]) -> bool:
        self.short_descriptions[params.get("language_code") or ""] = str(params.get("short_description") or "")
        return True

    async def api_sendChatAction(self, params: dict[str, Any]) -> bool:
        return True

    async def api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text = str(params.get("text", ""))
        if not text.strip():
            raise BadRequest("message text is empty")
        if len(text) > 4096:
            raise BadRequest("message is too long")
        return self._store(params, text=text)

    async def api_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        document = params.get("document")
        if not isinstance(document, dict):
            raise BadRequest("there is no document in the request")
        if len(str(params.get("caption") or "")) > 1024:
            raise BadRequest("message caption is too long")
        message = self._store(params, caption=params.get("caption"))
        message["document"] = {
            "file_id": f"doc{message['message_id']}",
            "file_unique_id": "u",
            "file_name": document["filename"],
        }
        self.sent[-1]["document"] = document
        return message

    async def api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._store(params, caption=params.get("caption"))
        message["photo"] = [{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}]
        return message

    async def api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        text = str(params.get("text", ""))
        if len(text) > 4096:
            raise BadRequest("message is too long")
        message = self._find(params)
        markup = self._check(params, text)
        message.update(text=as_kept(text, params.get("parse_mode")), reply_markup=markup)
        self.sent.append(
            {
                "method": "editMessageText",
                "chat_id": message["chat"]["id"],
                "message_id": message["message_id"],
                "text": text,
                "reply_markup": markup,
            }
        )
        return message

    async def api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._find(params)
        markup = self._check(params, None)
        if markup == message.get("reply_markup"):
            raise BadRequest(
                "message is not modified: specified new message content and reply markup are exactly the same"
            )
        message["reply_markup"] = markup
        self.sent.append(
            {
                "method": "editMessageReplyMarkup",
                "chat_id": message["chat"]["id"],
                "message_id": message["message_id"],
                "reply_markup": markup,
            }
        )
        return message

    async def api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        if len(params.get("text") or "") > 200:  # the notification's limit
            raise BadRequest("MESSAGE_TOO_LONG")
        self.callback_answers.append(params)
        return True

    def _find(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self.messages:
            raise BadRequest("message to edit not found")
        return self.messages[key]

    def _check(self, params: dict[str, Any], text: str | None) -> dict[str, Any] | None:
        if text is not None and params.get("parse_mode") == "HTML":
            error = html_error(text)
            if error:
                raise BadRequest(f"can't parse entities: {error}")
        markup = _json(params["reply_markup"]) if params.get("reply_markup") else None
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                if len(str(button.get("callback_data", "")).encode()) > 64:
                    raise BadRequest("BUTTON_DATA_INVALID")
        return markup

    def _store(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        markup = self._check(params, content.get("text") or content.get("caption"))
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": self.bot_user(),
            **{k: as_kept(v, params.get("parse_mode")) for k, v in content.items() if v is not None},
        }
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self.messages[(chat_id, message["message_id"])] = message
        for waiter in self._waiters.pop(chat_id, []):
            if not waiter.done():
                waiter.set_result(message)
        record = {
            "method": "send",
            "chat_id": chat_id,
            "message_id": message["message_id"],
            "text": content.get("text"),
            "reply_markup": markup,
            "parse_mode": params.get("parse_mode"),
            "at": time.monotonic(),
        }
        self.sent.append(record)
        self._sent_to[chat_id].append(record)
        return message

    # ---- acting as users ---------------------------------------------------------------------

    @staticmethod
    def user(chat_id: int, language: str = "en") -> dict[str, Any]:
        return {"id": chat_id, "is_bot": False, "first_name": f"Resident{chat_id}", "language_code": language}

    async def user_sends(
        self, chat_id: int, text: str, language: str = "en", chat_type: str = "private", reply_to: int | None = None
    ) -> dict[str, Any]:
        """`reply_to` is a message of the bot's the person swiped to reply to: Telegram sends it whole, as it is now."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {
                "id": chat_id,
                "type": chat_type,
                **({"first_name": "R"} if chat_type == "private" else {"title": "G"}),
            },
            "from": self.user(chat_id if chat_type == "private" else 77, language),
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if reply_to is not None:
            message["reply_to_message"] = dict(self.messages[(chat_id, reply_to)])
        return await self.deliver({"message": message})

    async def user_sends_photo(
        self, chat_id: int, caption: str | None = None, album: str | None = None
    ) -> dict[str, Any]:
        """A photo, with the words typed under it as its caption, and in an album when `album` names one."""
        message_id = next(self._message_ids)
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": self.user(chat_id),
            "photo": [{"file_id": f"p{message_id}", "file_unique_id": f"p{message_id}", "width": 90, "height": 90}],
            **({"caption": caption} if caption is not None else {}),
            **({"media_group_id": album} if album is not None else {}),
        }
        return await self.deliver({"message": message})

    async def user_sends_album(self, chat_id: int, photos: int, caption: str | None = None) -> list[dict[str, Any]]:
        """Photos sent together: Telegram delivers each as its own message, sharing a media_group_id; a caption
        typed for the album comes with the first."""
        album = str(next(self._message_ids) + 900_000)
        return [await self.user_sends_photo(chat_id, caption if n == 0 else None, album=album) for n in range(photos)]

    async def user_sends_sticker(self, chat_id: int) -> dict[str, Any]:
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": self.user(chat_id),
            "sticker": {
                "file_id": "s",
                "file_unique_id": "s",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
            },
        }
        return await self.deliver({"message": message})

    async def in_group(self, chat_id: int, chat_type: str = "group", **fields: Any) -> dict[str, Any]:
        """Something happens in a group the bot is in, as all its members' bots hear it: a message such as
        `text="..."`, or a service message such as `new_chat_members=[...]` or `migrate_to_chat_id=...`."""
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type, "title": "Commissioners"},
            "from": self.user(77),
            **fields,
        }
        return await self.deliver({"message": message})

    async def group_removes_bot(self, chat_id: int, status: str = "left") -> dict[str, Any]:
        """A member removes the bot from a group (or, with status="kicked", bans it): sends to the group fail from
        now, and the bot hears of it in a my_chat_member update."""
        self.blocked.add(chat_id)
        change = {
            "chat": {"id": chat_id, "type": "group", "title": "Commissioners"},
            "from": self.user(77),
            "date": int(time.time()),
            "old_chat_member": {"user": self.bot_user(), "status": "member"},
            "new_chat_member": {"user": self.bot_user(), "status": status},
        }
        return await self.deliver({"my_chat_member": change})

    async def group_becomes_supergroup(self, old: int, new: int) -> None:
        """Telegram upgrades a group: sends to the old id fail from now on, and the bot hears of the move in a
        service message in the old group and another in the new supergroup."""
        self.migrated[old] = new
        await self.in_group(old, migrate_to_chat_id=new)
        await self.in_group(new, chat_type="supergroup", migrate_from_chat_id=old)

    async def user_forwards(self, chat_id: int, text: str) -> dict[str, Any]:
        """The person forwards someone else's message to the bot."""
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "R"},
            "from": self.user(chat_id),
            "forward_origin": {"type": "user", "date": int(time.time()) - 60, "sender_user": self.user(chat_id + 1)},
            "text": text,
        }
        return await self.deliver({"message": message})

    async def user_edits(self, chat_id: int, text: str) -> dict[str, Any]:
        message = {
            "message_id": 1,
            "date": int(time.time()),
            "edit_date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": self.user(chat_id),
            "text": text,
        }
        return await self.deliver({"edited_message": message})

    async def user_blocks(self, chat_id: int, blocked: bool = True) -> dict[str, Any]:
        """The person blocks the bot (or, with blocked=False, unblocks it): sends to them fail from now, and the
        bot hears of it in a my_chat_member update, as from Telegram."""
        if blocked:
            self.blocked.add(chat_id)
        else:
            self.blocked.discard(chat_id)
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        change = {
            "chat": {"id": chat_id, "type": "private", "first_name": "R"},
            "from": self.user(chat_id),
            "date": int(time.time()),
            "old_chat_member": {"user": self.bot_user(), "status": old},
            "new_chat_member": {"user": self.bot_user(), "status": new, **({"until_date": 0} if blocked else {})},
        }
        return await self.deliver({"my_chat_member": change})

    async def press(self, chat_id: int, message_id: int, data: str) -> dict[str, Any]:
        message = self.messages[(chat_id, message_id)]
        query = {
            "id": str(next(self._update_ids) + 10_000),
            "from": self.user(chat_id),
            "message": message,
            "chat_instance": str(chat_id),
            "data": data,
        }
        return await self.deliver({"callback_query": query})

    async def deliver(self, body: dict[str, Any], update_id: int | None = None) -> dict[str, Any]:
        """Queue an update for getUpdates, or POST it to the webhook with the secret header; as Telegram, withhold
        one of a kind the bot did not ask for."""
        update = {"update_id": update_id if update_id is not None else next(self._update_ids), **body}
        if self.allowed_updates is not None and not set(body) & set(self.allowed_updates):
            self.withheld.append(update)
            return update
        if self.webhook is not None:
            await self.post_webhook(update, self.webhook.get("secret"))
            return update
        async with self._arrived:
            self._updates.append(update)
            self._arrived.notify_all()
        return update

    async def post_webhook(self, update: dict[str, Any], secret: str | None) -> int:
        assert self.webhook is not None
        if self._client is None:
            self._client = ClientSession()
        headers = {"Content-Type": "application/json"}
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        async with self._client.post(
            self.webhook["url"], data=json_codec.dump_bytes(update), headers=headers
        ) as response:
            self.webhook_responses.append(response.status)
            if response.status == 200 and response.content_type == "application/json":
                call = await response.json(loads=json_codec.loads)
                if isinstance(call, dict) and "method" in call:  # PTB's own webhook server answers `null`
                    await self._perform_from_response(call)
            return response.status

    async def _perform_from_response(self, call: dict[str, Any]) -> None:
        """Make the Bot API call a webhook answered with, as Telegram does; like Telegram, tell no one the outcome."""
        self.calls_in_responses.append(call)
        await self._perform(str(call.get("method")), {k: v for k, v in call.items() if k != "method"})

    # ---- reading what the bot did --------------------------------------------------------------

    def next_message(self, chat_id: int) -> asyncio.Future[dict[str, Any]]:
        """A future for the next message the bot sends to this chat (benchmarks time replies with it)."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters[chat_id].append(future)
        return future

    @property
    def unconfirmed(self) -> list[dict[str, Any]]:
        """Updates getUpdates has not yet been told (by a later offset) that the bot has handled."""
        return list(self._updates)

    def to(self, chat_id: int) -> list[dict[str, Any]]:
        """The messages sent to one chat, in order; kept per chat, since a benchmark asks after every answer."""
        return list(self._sent_to.get(chat_id, ()))

    async def wait_for(self, chat_id: int, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Wait until the chat has received `count` messages in all; returns them all."""
        deadline = time.monotonic() + timeout
        while len(self.to(chat_id)) < count:
            if time.monotonic() > deadline:
                texts = [m["text"] for m in self.to(chat_id)]
                raise AssertionError(f"chat {chat_id} got {len(texts)} messages, wanted {count}: {texts}")
            await asyncio.sleep(0.01)
        return self.to(chat_id)

    async def wait_for_text(self, chat_id: int, fragment: str, after: int, timeout: float = 15.0) -> dict[str, Any]:
        """Wait for a message containing `fragment` among those after the first `after`; returns it.

        For tests across a crash, where a reply in flight at the kill may
        rightly arrive twice, so counting messages would not say which is which.
        """
        deadline = time.monotonic() + timeout
        while True:
            for message in self.to(chat_id)[after:]:
                if fragment in (message.get("text") or ""):
                    return message
            if time.monotonic() > deadline:
                texts = [m["text"] for m in self.to(chat_id)[after:]]
                raise AssertionError(f"chat {chat_id} never got '{fragment}' after message {after}: {texts}")
            await asyncio.sleep(0.01)


class BadRequest(Exception):
    pass


_METHODS = {
    name.removeprefix("api_").lower(): name.removeprefix("api_")
    for name in dir(FakeTelegram)
    if name.startswith("api_")
}


def _json_response(body: dict[str, Any], status: int = 200) -> web.Response:
    """Encoded by orjson: the standard library's json took a sixth of the fake's time in bench/ingest.py."""
    return web.Response(body=json_codec.dump_bytes(body), status=status, content_type="application/json")


def _json(value: Any) -> Any:
    return json_codec.loads(value) if isinstance(value, str) else value
