"""The links on leaflets, QR codes and staff's join messages: `t.me/BOT?start=PAYLOAD`.

A survey's payload is its id, with an area's or a service's slug after a hyphen
(`tsm-ancoats`, `tsm-repairs`: see _Turn.resolve in conversation.py); a member of staff's is `join-` and their one-time
code. Telegram carries at most 64 letters, digits, _ and - there.
"""

from __future__ import annotations

from bot.errors import LinkError

JOIN_PREFIX = "join-"
LONGEST_START = 64  # Telegram's limit on a start link's parameter


def survey_start(survey_id: str, place: str | None) -> str:
    payload = f"{survey_id}-{place}" if place else survey_id
    if len(payload) > LONGEST_START:
        raise LinkError(
            f"'{payload}' is {len(payload)} characters, and a Telegram link carries {LONGEST_START} at most: "
            "give the survey, the area or the service a shorter slug"
        )
    return payload


def start_link(username: str | None, payload: str) -> str:
    """The whole link when the bot's name is known, else what follows it, for the officer to complete."""
    return f"https://t.me/{username}?start={payload}" if username else payload
