"""Stored JSON and the Bot API's replies read and written through orjson, as the standard library would have."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import text
from telegram.error import TelegramError

from bot.telegram.request import AiohttpRequest
from storage import json_codec
from storage.database import Database
from storage.outbox import claim, enqueue, outbox_row
from tests.conftest import NOW

WORDS = "Dziękuję — آپ کا شکریہ 👍 <b>&"


async def test_a_payload_in_any_script_comes_back_as_it_was_queued(db: Database) -> None:
    payload = {"text": WORDS, "reply_markup": {"inline_keyboard": [[{"text": "5", "callback_data": "a:1:5"}]]}, "n": 7}
    await db.write(
        lambda s: enqueue(s, outbox_row(channel="telegram", address="1", payload=payload, dedupe_key="k", now=NOW)),
        quick=True,
    )
    [message] = await db.write(lambda s: claim(s, NOW, 10))
    assert message.payload == payload


async def test_rows_the_standard_library_wrote_still_load(db: Database) -> None:
    """Rows stored before the switch hold ASCII escapes; orjson reads them as the same text."""
    await db.write(
        lambda s: enqueue(s, outbox_row(channel="telegram", address="1", payload={}, dedupe_key="old", now=NOW))
    )
    escaped = '{"text": "Dzi\\u0119kuj\\u0119 \\ud83d\\udc4d"}'
    column = "CAST(:payload AS JSONB)" if not db.is_sqlite else ":payload"
    await db.write(lambda s: s.execute(text(f"UPDATE outbox SET payload = {column}"), {"payload": escaped}))
    [message] = await db.write(lambda s: claim(s, NOW, 10))
    assert message.payload == {"text": "Dziękuję 👍"}


def test_the_bot_api_reply_is_read_as_ptb_reads_it() -> None:
    assert AiohttpRequest.parse_json_payload(f'{{"ok": true, "result": "{WORDS}"}}'.encode()) == {
        "ok": True,
        "result": WORDS,
    }
    # Bytes that are not UTF-8 are replaced, as PTB's own reading does, rather than refused.
    assert AiohttpRequest.parse_json_payload(b'{"ok": true, "result": "a\xffb"}') == {"ok": True, "result": "a\ufffdb"}
    with pytest.raises(TelegramError, match="Invalid server response"):
        AiohttpRequest.parse_json_payload(b"<html>Bad Gateway</html>")


def test_what_orjson_refuses_goes_through_the_standard_library_as_before() -> None:
    assert json_codec.dumps({"n": 10**30}) == '{"n": 1000000000000000000000000000000}'
    assert json_codec.loads(json_codec.dumps({"n": 2**64 - 1})) == {"n": 2**64 - 1}
    assert math.isnan(json_codec.loads("[NaN]")[0])
    assert json_codec.loads("[Infinity, 1e400]") == [math.inf, math.inf]
    with pytest.raises(ValueError):
        json_codec.loads("{not json")


async def test_a_number_beyond_64_bits_is_stored_and_read_as_the_nearest_float(db: Database) -> None:
    payload = {"text": "x", "count": 10**30}
    await db.write(
        lambda s: enqueue(s, outbox_row(channel="telegram", address="1", payload=payload, dedupe_key="k", now=NOW)),
        quick=True,
    )
    [message] = await db.write(lambda s: claim(s, NOW, 10))
    assert message.payload == {"text": "x", "count": 1e30}
