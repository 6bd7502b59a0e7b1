"""What goes out to Telegram: outbox payloads made from a turn's effects, and the Bot API call that sends each.

A payload is plain JSON so it can wait in the outbox across restarts:

    {"method": "sendMessage", "text": "<b>How satisfied…</b>", "reply_markup": {...}}
    {"method": "editMessageText", "message_id": 41, "text": "…", "reply_markup": null}
    {"method": "answerCallbackQuery", "callback_query_id": "77", "text": null}
    {"method": "sendDocument", "filename": "chorus-my-data.json", "content": "<base64>", "caption": "…"}

Sending maps PTB's errors to SendFailed: 429 waits `retry_after`, network
trouble is retried, 403 means the person blocked the bot (they are opted
out), and any other 400 is final.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot.errors import SendFailed
from bot.telegram.render import Outgoing

SEND_METHODS = {"sendMessage", "sendDocument"}
HARMLESS = ("message is not modified", "query is too old", "query id is invalid")


def send_message(outgoing: Outgoing) -> dict[str, Any]:
    markup = outgoing.keyboard.to_dict() if outgoing.keyboard else None
    return {"method": "sendMessage", "text": outgoing.text, "reply_markup": markup}


def edit_message(message_id: int, text: str, keyboard: InlineKeyboardMarkup | None) -> dict[str, Any]:
    markup = keyboard.to_dict() if keyboard else None
    return {"method": "editMessageText", "message_id": message_id, "text": text, "reply_markup": markup}


def answer_callback(callback_query_id: str, text: str | None) -> dict[str, Any]:
    return {"method": "answerCallbackQuery", "callback_query_id": callback_query_id, "text": text}


def send_document(filename: str, content: bytes, caption: str) -> dict[str, Any]:
    encoded = base64.b64encode(content).decode()
    return {"method": "sendDocument", "filename": filename, "content": encoded, "caption": caption}


def counts_against_limits(payload: dict[str, Any]) -> bool:
    """Telegram's per-chat and overall limits are on messages; button answers and edits are not counted."""
    return payload.get("method") in SEND_METHODS


async def send(bot: ExtBot[None], address: str, payload: dict[str, Any]) -> None:
    """Make the payload's Bot API call; raises SendFailed saying whether to retry."""
    try:
        await _call(bot, int(address), payload)
    except RetryAfter as error:
        wait = error.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        raise SendFailed(f"Telegram asked to wait {seconds:g}s", retryable=True, retry_after=seconds) from None
    except Forbidden as error:
        raise SendFailed(f"blocked: {error.message}", retryable=False, unreachable=True) from None
    except BadRequest as error:
        if any(text in error.message.lower() for text in HARMLESS):
            return
        raise SendFailed(f"refused: {error.message}", retryable=False) from None
    except NetworkError as error:
        raise SendFailed(f"network: {error.message}", retryable=True) from None
    except TelegramError as error:
        raise SendFailed(f"Telegram error: {error.message}", retryable=True) from None


async def _call(bot: ExtBot[None], chat_id: int, payload: dict[str, Any]) -> None:
    method = payload.get("method")
    markup = InlineKeyboardMarkup.de_json(payload["reply_markup"], bot) if payload.get("reply_markup") else None
    if method == "sendMessage":
        await bot.send_message(chat_id, payload["text"], parse_mode=ParseMode.HTML, reply_markup=markup)
    elif method == "editMessageText":
        await bot.edit_message_text(
            payload["text"], chat_id, payload["message_id"], parse_mode=ParseMode.HTML, reply_markup=markup
        )
    elif method == "answerCallbackQuery":
        await bot.answer_callback_query(payload["callback_query_id"], text=payload.get("text"))
    elif method == "sendDocument":
        content = base64.b64decode(payload["content"])
        await bot.send_document(chat_id, content, filename=payload["filename"], caption=payload.get("caption"))
    else:
        raise SendFailed(f"unknown outbox payload method {method!r}", retryable=False)
