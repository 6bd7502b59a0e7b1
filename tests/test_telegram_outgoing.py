"""Stored outbox payloads made into Bot API calls through python-telegram-bot's own HTTP stack, against the fake."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator

import pytest
from telegram.ext import ExtBot

from bot.telegram.outgoing import edit_message, remove_buttons, send, send_message
from bot.telegram.render import Outgoing
from bot.telegram.request import AiohttpRequest
from tests.fake_telegram import TOKEN, FakeTelegram

CHAT = 1001


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram(chat_burst=10)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[ExtBot[None]]:
    bot: ExtBot[None] = ExtBot(TOKEN, base_url=f"http://127.0.0.1:{fake.port}/bot", request=AiohttpRequest())
    await bot.initialize()
    yield bot
    await bot.shutdown()


async def test_stored_payloads_go_out_as_bot_api_calls_without_a_warning_each(
    fake: FakeTelegram, bot: ExtBot[None]
) -> None:
    """Every reply is such a call: a warning raised on each, even one filtered out, cost 1.3% of an answer."""
    keyboard = {"inline_keyboard": [[{"text": "Yes", "callback_data": "v1:a:yes"}]]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await send(bot, str(CHAT), send_message(Outgoing("<b>Is the repair done?</b>", keyboard)))
        [sent] = fake.to(CHAT)
        await send(bot, str(CHAT), edit_message(sent["message_id"], "<b>Is the repair done?</b>\n✓ Yes", None))
        await send(bot, str(CHAT), remove_buttons(sent["message_id"]))
    assert [str(warning.message) for warning in caught] == []
    assert fake.calls["sendMessage"] == 1 and fake.calls["editMessageText"] == 1
    assert fake.calls["editMessageReplyMarkup"] == 1
    edited = fake.messages[(CHAT, sent["message_id"])]
    assert edited["text"] == "Is the repair done?\n✓ Yes" and edited["reply_markup"] is None
