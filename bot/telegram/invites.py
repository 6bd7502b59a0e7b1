"""The invite and reminder messages: who asks, which survey, and one button that starts or continues it."""

from __future__ import annotations

from typing import Any

from bot import messages as m
from bot.i18n import supported
from bot.telegram.callbacks import InviteButton, encode
from bot.telegram.outgoing import send_message
from bot.telegram.render import Outgoing, html, inline_button, inline_keyboard
from surveys.model import Survey


def invitation_message(
    survey: Survey, organisation: str, language: str | None, invitation_id: int, *, reminder: bool, started: bool
) -> dict[str, Any]:
    """An outbox payload: the invite, a reminder, or 'continue where you left off' for someone who began."""
    return send_message(invitation(survey, organisation, language, invitation_id, reminder=reminder, started=started))


def invitation(
    survey: Survey, organisation: str, language: str | None, invitation_id: int, *, reminder: bool, started: bool
) -> Outgoing:
    speaks = supported(language)
    title = survey.title.get(language or survey.default_language, survey.default_language)
    text = m.REMINDER_STARTED if started else (m.REMINDER if reminder else m.INVITE)
    label = m.CONTINUE_SURVEY if started else m.START_SURVEY
    markup = inline_keyboard([[inline_button(m.say(speaks, label), encode(InviteButton(invitation_id)))]])
    return Outgoing(html(m.say(speaks, text, organisation=organisation, survey=title)), markup)
