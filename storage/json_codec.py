"""JSON for stored columns and Bot API bodies, through orjson.

Why: with the standard library's json, encoding and decoding took about a
twelfth of the event loop's time on the answer path (an update's body, the
engine state, the outbox payload, the Bot API's call and its reply; bench/README.md,
seventh round). orjson does the same work several times faster. It writes
UTF-8 rather than ASCII escapes and reads what the standard library wrote, so
rows stored before still load. What orjson refuses and the standard library
takes goes through the standard library, so nothing that stored or loaded
before fails now: an integer beyond 64 bits is written exactly, NaN and
Infinity are read. Two differences are left: orjson writes NaN and Infinity as
null, and reads an integer beyond 64 bits as the nearest float. No answer can
be either (numbers are read from at most 15 digits), nor a survey's bound (the
builder refuses them), nor a Telegram id.

Usage:
    text = dumps(value)     # str, as SQLAlchemy's json_serializer wants
    body = dump_bytes(value)
    value = loads(text_or_bytes)
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# Dict keys that are not strings (an int, say) become strings, as the standard library's json makes them.
_OPTIONS = orjson.OPT_NON_STR_KEYS


def loads(text: str | bytes) -> Any:
    """Raises TypeError for what is not text, as json.loads does: SQLAlchemy's SQLite JSON type relies on it
    to pass through a number that SQLite's column affinity has already turned into one."""
    if not isinstance(text, str | bytes):
        raise TypeError(f"JSON is read from text, not {type(text).__name__}")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def dump_bytes(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False).encode()


def dumps(value: Any) -> str:
    return dump_bytes(value).decode()
