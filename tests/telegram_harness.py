"""Runs Chorus with its Telegram channel in the test's own event loop, against the fake Bot API."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.admin import import_surveys
from bot.config import Settings, load_settings
from bot.service import serve
from storage.database import Database
from storage.models import Contact
from storage.responses import release_held
from surveys.templates import template_paths
from tests.conftest import SECRET
from tests.fake_telegram import TOKEN, FakeTelegram


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Running:
    fake: FakeTelegram
    settings: Settings
    db: Database

    def keyboard(self, chat_id: int) -> list[dict[str, Any]]:
        """The buttons of the latest message to the chat that has any (edits included)."""
        for sent in reversed(self.fake.sent):
            if sent["chat_id"] == chat_id and sent.get("reply_markup"):
                current = self.fake.messages[(chat_id, sent["message_id"])]
                markup = current.get("reply_markup") or {}
                return [button for row in markup.get("inline_keyboard", []) for button in row]
        raise AssertionError(f"no keyboard was sent to chat {chat_id}")

    def keyboard_message(self, chat_id: int) -> int:
        for sent in reversed(self.fake.sent):
            if sent["chat_id"] == chat_id and sent.get("reply_markup") and sent["method"] == "send":
                return int(sent["message_id"])
        raise AssertionError(f"no keyboard was sent to chat {chat_id}")

    async def press(self, chat_id: int, label: str, replies: int = 1) -> list[dict[str, Any]]:
        """Press the button whose label starts with `label` on the latest keyboard, then wait for replies."""
        buttons = self.keyboard(chat_id)
        matching = [b for b in buttons if b["text"].startswith(label) or b["text"].endswith(label)]
        assert matching, f"no button '{label}' in {[b['text'] for b in buttons]}"
        before = len(self.fake.to(chat_id))
        await self.fake.press(chat_id, self.keyboard_message(chat_id), matching[0]["callback_data"])
        return await self.fake.wait_for(chat_id, before + replies)

    async def tick(self, chat_id: int, *places: int, timeout: float = 5.0) -> None:
        """Tick a multiple choice's boxes by their places on its keyboard, and wait until the message shows them."""
        for place in places:
            await self.fake.press(
                chat_id, self.keyboard_message(chat_id), self.keyboard(chat_id)[place]["callback_data"]
            )
        async with asyncio.timeout(timeout):
            while not all(self.keyboard(chat_id)[place]["text"].startswith("\u2705") for place in places):
                await asyncio.sleep(0.02)

    async def say(self, chat_id: int, text: str, replies: int = 1) -> list[dict[str, Any]]:
        before = len(self.fake.to(chat_id))
        await self.fake.user_sends(chat_id, text)
        return await self.fake.wait_for(chat_id, before + replies)

    async def answer_to_press(self, chat_id: int, message_id: int, data: str, timeout: float = 5.0) -> dict[str, Any]:
        """Press a button and wait for the bot to answer the press: its "text", if any, shows over the chat."""
        answered = len(self.fake.callback_answers)
        await self.fake.press(chat_id, message_id, data)
        async with asyncio.timeout(timeout):
            while len(self.fake.callback_answers) <= answered:
                await asyncio.sleep(0.02)
        return self.fake.callback_answers[answered]

    async def buttons_gone(self, chat_id: int, message_id: int, timeout: float = 5.0) -> bool:
        """Wait until the message has no inline keyboard; whether it has none by then."""
        deadline = time.monotonic() + timeout
        while self.fake.messages[(chat_id, message_id)].get("reply_markup"):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    async def week_ends(self) -> list[str]:
        """Release the anonymous surveys held this week, as `chorus run` does once it has ended; their ids."""
        later = datetime.now(UTC) + timedelta(weeks=1)
        return await self.db.write(lambda session: release_held(session, later, enough=self.settings.min_group_size))

    def last_text(self, chat_id: int) -> str:
        return str(self.fake.to(chat_id)[-1]["text"])

    async def opted_out(self, timeout: float = 5.0) -> Contact:
        """Wait until the (only) contact is opted out, as the sender does after a 403; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            async with self.db.read() as session:
                contact = await session.scalar(select(Contact))
            if contact is not None and contact.opted_out_at is not None:
                return contact
            assert time.monotonic() < deadline, "the contact was never opted out"
            await asyncio.sleep(0.02)


@asynccontextmanager
async def running_chorus(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    webhook: bool = False,
    fake: FakeTelegram | None = None,
    connected: bool = True,
    **settings_env: str,
) -> AsyncIterator[Running]:
    """Chorus serving the fake Bot API; the sender's limits match the fake's unless `settings_env` says otherwise.

    With connected=False it does not wait for the bot to connect (a test of a token the fake refuses, say).
    """
    fake = fake or FakeTelegram(chat_rate=1000, chat_burst=1000, overall_rate=10_000, overall_burst=10_000)
    base_url = await fake.start()
    port = free_port()
    environment = {
        "CHORUS_SECRET_KEY": SECRET,
        "CHORUS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "CHORUS_PORT": str(port),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": base_url,
        "TELEGRAM_CHAT_RATE_LIMIT": str(fake.chat_rate),
        "TELEGRAM_CHAT_BURST": str(int(fake.chat_burst)),
    }
    if webhook:
        environment |= {
            "CHORUS_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "CHORUS_WEBHOOK_SECRET": "webhook-secret-0123456789",
        }
    environment |= settings_env
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(None)
    await import_surveys(settings, template_paths())
    stop = asyncio.Event()
    service = asyncio.create_task(serve(settings, stop))
    deadline = time.monotonic() + 15
    ready = "setWebhook" if webhook else "getUpdates"
    while connected and fake.calls[ready] == 0:
        assert time.monotonic() < deadline, "the bot never started"
        assert not service.done(), service.exception()
        await asyncio.sleep(0.02)
    db = Database.open(settings.database_url)
    try:
        yield Running(fake, settings, db)
    finally:
        stop.set()
        await asyncio.wait_for(service, 30)
        await db.close()
        await fake.stop()
