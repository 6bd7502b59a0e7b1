"""Compact, versioned callback data for inline buttons (Telegram allows 64 bytes).

An answer button names the survey version and question position it was shown
for, so a press on an old message is recognised as stale, never misapplied.

    a|3f9c2e1b|4|p|2   answer: version 3f9c2e1b, question 4, pick choice 2
    l|pl               language
    f|y                forget: yes
    i|812              invitation 812: start (or continue) its survey
    r|57               answer survey version 57 again, after finishing it
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_BYTES = 64
ACTIONS = {"p": "pick", "t": "toggle", "d": "done", "b": "back", "s": "skip"}


@dataclass(frozen=True)
class AnswerButton:
    version: str
    position: int
    action: str
    choice: int = -1


@dataclass(frozen=True)
class LanguageButton:
    language: str


@dataclass(frozen=True)
class ForgetButton:
    confirmed: bool


@dataclass(frozen=True)
class InviteButton:
    invitation_id: int


@dataclass(frozen=True)
class AgainButton:
    version_id: int


Callback = AnswerButton | LanguageButton | ForgetButton | InviteButton | AgainButton


def encode(callback: Callback) -> str:
    if isinstance(callback, AnswerButton):
        data = f"a|{callback.version[:8]}|{callback.position}|{callback.action}|{callback.choice}"
    elif isinstance(callback, LanguageButton):
        data = f"l|{callback.language}"
    elif isinstance(callback, InviteButton):
        data = f"i|{callback.invitation_id}"
    elif isinstance(callback, AgainButton):
        data = f"r|{callback.version_id}"
    else:
        data = f"f|{'y' if callback.confirmed else 'n'}"
    assert len(data.encode()) <= MAX_BYTES, data
    return data


def decode(data: str) -> Callback | None:
    """The button pressed, or None for data this version of Chorus did not make."""
    parts = data.split("|")
    try:
        if parts[0] == "a" and len(parts) == 5 and parts[3] in ACTIONS:
            return AnswerButton(parts[1], int(parts[2]), parts[3], int(parts[4]))
        if parts[0] == "l" and len(parts) == 2:
            return LanguageButton(parts[1])
        if parts[0] == "i" and len(parts) == 2:
            return InviteButton(int(parts[1]))
        if parts[0] == "r" and len(parts) == 2:
            return AgainButton(int(parts[1]))
        if parts[0] == "f" and len(parts) == 2 and parts[1] in "yn":
            return ForgetButton(parts[1] == "y")
    except ValueError:
        return None
    return None
