"""JSON for stored columns and Bot API bodies, through orjson.

Why: with the standard library's json, encoding and decoding took about a
twelfth of the event loop's time on the answer path (an update's body, the
engine state, the outbox payload, the Bot API's call and its reply; bench/README.md,
seventh round). orjson does the same work several times faster. It writes
UTF-8 rather than ASCII escapes and reads what the standard library wrote, so
rows stored before still load.

Usage:
    text = dumps(value)     # str, as SQLAlchemy's json_serializer wants
    body = dump_bytes(value)
    value = loads(text_or_bytes)
"""

from __future__ import annotations

from typing import Any

import orjson

# Dict keys that are not strings (an int, say) become strings, as the standard library's json makes them.
_OPTIONS = orjson.OPT_NON_STR_KEYS
JSONDecodeError = orjson.JSONDecodeError


def loads(text: str | bytes) -> Any:
    """Raises TypeError for what is not text, as json.loads does: SQLAlchemy's SQLite JSON type relies on it
    to pass through a number that SQLite's column affinity has already turned into one."""
    if not isinstance(text, str | bytes):
        raise TypeError(f"JSON is read from text, not {type(text).__name__}")
    return orjson.loads(text)


def dump_bytes(value: Any) -> bytes:
    return orjson.dumps(value, option=_OPTIONS)


def dumps(value: Any) -> str:
    return orjson.dumps(value, option=_OPTIONS).decode()
