"""Handles one Telegram update: commands, typed answers, button presses and blocks, applied exactly once.

Everything an update changes (its receipt, the contact, the engine state, the
answers, consent) and the replies it causes (outbox rows) are written in one
transaction; the outbox sender sends them once it has committed.

One reply can skip the outbox: under a webhook, a button press is answered
(answerCallbackQuery) in the webhook's own response, which Telegram performs
as it would the call. The spinner on the button stops as soon as the answer is
committed, even while the outbox waits out a 429, and a press costs one Bot
API call fewer. Telegram does not say whether that call worked; if it did
not, the spinner stops on its own after a few seconds.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy.orm import Session

from bot import messages as m
from bot import metrics
from bot.i18n import languages as bot_languages
from bot.i18n import supported
from bot.outreach import EVERYONE, join_open_waves, who_asks
from bot.participation import (
    Place,
    advance,
    begin,
    current_place,
    finished,
    latest_version,
    survey_slugs,
    version_to_answer,
)
from bot.runtime import Runtime
from bot.telegram import outgoing
from bot.telegram.callbacks import (
    AgainButton,
    AnswerButton,
    ForgetButton,
    InviteButton,
    LanguageButton,
    decode,
    encode,
)
from bot.telegram.invites import invitation
from bot.telegram.links import JOIN_PREFIX
from bot.telegram.my_data import readable
from bot.telegram.render import (
    LIMIT,
    Keyboard,
    Outgoing,
    html,
    inline_button,
    inline_keyboard,
    keyboard,
    messages,
    question_text,
    render,
)
from bot.telegram.updates import Inbound
from storage import privacy
from storage.catalogue import load_version
from storage.chats import follow, lost
from storage.contacts import ContactRow, change_contact, get_or_create_contact, opt_out
from storage.errors import UnknownVersion
from storage.inbound import AlreadyApplied, claim, first
from storage.models import Invitation, Wave
from storage.organisations import PLACES, find_place
from storage.outbox import ERASURE, REPLY, Message, enqueue_many, enqueue_taken, outbox_row
from storage.staff import redeem
from surveys.answers import as_shown, names_a_choice, normalise
from surveys.engine import prompt
from surveys.inputs import Back, ChangeLanguage, Done, Input, Pick, Reply, Skip, Toggle
from surveys.model import Audience, Kind, Survey, other_follow_up
from surveys.outputs import AskQuestion, Output, Reason, Rejected
from surveys.state import State

logger = logging.getLogger(__name__)
CHANNEL = "telegram"


@dataclass
class Effects:
    """What to do in Telegram once the update's transaction has committed; queued in the outbox as payloads."""

    chat_id: int
    send: list[Outgoing] = field(default_factory=list)
    callback_id: str | None = None
    callback_text: str | None = None
    edit: tuple[int, str, Keyboard | None] | None = None
    unbutton: int | None = None  # a message whose buttons are stale, to take them away
    document: tuple[str, bytes, str] | None = None
    erasure: bool = False

    def take_callback_answer(self) -> dict[str, Any] | None:
        """The button's answer as a Bot API call, taken out of what will be queued."""
        if self.callback_id is None:
            return None
        answer = outgoing.answer_callback(self.callback_id, self.callback_text)
        self.callback_id = None
        return answer

    def payloads(self) -> list[dict[str, Any]]:
        """In the order a person should see them: the button answered, the question edited, then new messages."""
        payloads = []
        if self.callback_id is not None:
            payloads.append(outgoing.answer_callback(self.callback_id, self.callback_text))
        if self.unbutton is not None:
            payloads.append(outgoing.remove_buttons(self.unbutton))
        if self.edit is not None:
            payloads.append(outgoing.edit_message(*self.edit))
        payloads += [outgoing.send_message(message) for message in self.send]
        if self.document is not None:
            payloads.append(outgoing.send_document(*self.document))
        return payloads

    def queue(self, session: Session, update_id: int, now: datetime, take: bool = False) -> Handled:
        """Queue the payloads in the caller's transaction.

        With `take`, replies are queued as claimed by this process's sender,
        to be handed to it after the commit (storage.outbox.enqueue_taken); an
        erasure's confirmation never is, since the sender deletes it as it
        claims it.
        """
        kind = ERASURE if self.erasure else REPLY
        payloads = self.payloads()
        rows = [
            outbox_row(
                channel=CHANNEL,
                address=str(self.chat_id),
                payload=payload,
                dedupe_key=f"telegram:{update_id}:{n}",
                now=now,
                kind=kind,
            )
            for n, payload in enumerate(payloads)
        ]
        metrics.QUEUED.labels(kind).inc(len(payloads))
        if take and rows and kind == REPLY:
            taken = enqueue_taken(session, rows)  # or queued behind an earlier reply, and none taken
            return Handled(taken=taken) if taken else Handled(queued=len(payloads))
        enqueue_many(session, rows)
        return Handled(queued=len(payloads))


@dataclass(frozen=True)
class Handled:
    """What applying an update led to: replies queued, or taken for this process's sender, and the call to make in the webhook's response."""

    queued: int = 0
    taken: list[Message] = field(default_factory=list)
    in_response: dict[str, Any] | None = None


async def handle_update(
    runtime: Runtime, inbound: Inbound, answer_in_response: bool = False, take: bool = False
) -> Handled:
    """Apply the update once and queue its replies (nothing for a repeat).

    With `answer_in_response` (webhook mode), a button press's answer is
    returned instead of queued; with `take`, its replies are taken for this
    process's sender (Effects.queue).
    """
    try:
        handled = await runtime.db.write(
            lambda session: _apply(runtime, session, inbound, answer_in_response, take), quick=True
        )
    except AlreadyApplied:
        logger.info("update %s was already applied; nothing changes", inbound.update_id)
        return Handled()
    metrics.UPDATES.labels(CHANNEL).inc()
    replies = handled.queued + len(handled.taken) + (handled.in_response is not None)
    logger.debug("update %s applied: %s Bot API calls to make", inbound.update_id, replies)
    return handled


async def apologise(runtime: Runtime, inbound: Inbound) -> bool:
    """After an update failed for good, tell the person it was not taken, rather than leave them waiting.

    The update's receipt is recorded with the apology, so if it comes again
    (polling asks again from an earlier update) it is not apologised for twice.
    True when the apology was queued.
    """
    if not inbound.private or inbound.blocked:
        return False

    def work(session: Session) -> int:
        now = runtime.clock()
        _receipt(session, inbound, now)
        sorry = Effects(inbound.chat_id, messages(html(m.say(supported(inbound.language_code), m.SORRY))))
        return sorry.queue(session, inbound.update_id, now).queued

    try:
        return bool(await runtime.db.write(work, quick=True))
    except AlreadyApplied:
        return False


def _apply(runtime: Runtime, session: Session, inbound: Inbound, answer_in_response: bool, take: bool) -> Handled:
    now = runtime.clock()
    if inbound.blocked:
        _blocked(session, inbound, now)
        return Handled()
    if inbound.private:
        effects = _Turn(runtime, session, inbound, now).run()
    elif inbound.moved_to is not None:
        _receipt(session, inbound, now)
        _moved(session, inbound.chat_id, inbound.moved_to, now)
        return Handled()
    else:
        logger.info("update %s: a command in a group chat; only private chats are served", inbound.update_id)
        _receipt(session, inbound, now)
        effects = Effects(inbound.chat_id, messages(html(m.say(supported(inbound.language_code), m.PRIVATE_ONLY))))
    in_response = effects.take_callback_answer() if answer_in_response else None
    return replace(effects.queue(session, inbound.update_id, now, take), in_response=in_response)


def _receipt(session: Session, inbound: Inbound, now: datetime) -> None:
    """Record that the update is applied, in its transaction; raises AlreadyApplied for a repeat."""
    claim(session, f"telegram:{inbound.update_id}", now)


def _moved(session: Session, old: int, new: int, now: datetime) -> None:
    """The group became a supergroup: its waiting messages and its subscriptions go to the new chat from now."""
    messages_moved, subscriptions_moved = follow(session, CHANNEL, str(old), str(new), now)
    logger.info(
        "group chat %s is now supergroup %s: %s waiting messages and %s subscriptions follow it",
        old,
        new,
        messages_moved,
        subscriptions_moved,
    )


def _blocked(session: Session, inbound: Inbound, now: datetime) -> None:
    """A person blocked the bot, or a group removed it: no more messages from now, not even what was queued, and
    no more summaries; a person's /start brings them back.

    Without this, the next message (a reminder, say) would be refused with a
    403 before they were opted out. Someone Chorus never knew stays unknown.
    """
    _receipt(session, inbound, now)
    ended = lost(session, CHANNEL, str(inbound.chat_id), now)
    logger.info("update %s: the bot was blocked or removed: %s", inbound.update_id, ended)


class _Turn:
    """One update's work inside its transaction."""

    def __init__(self, runtime: Runtime, session: Session, inbound: Inbound, now: datetime) -> None:
        self.runtime = runtime
        self.session = session
        self.inbound = inbound
        self.now = now
        self.effects = Effects(inbound.chat_id, callback_id=inbound.callback_id)
        self.contact: ContactRow
        self.language = supported(inbound.language_code)

    def say(self, message: str, **details: Any) -> None:
        self.effects.send += messages(html(m.say(self.language, message, **details)))

    def run(self) -> Effects:
        _receipt(self.session, self.inbound, self.now)
        self.contact = get_or_create_contact(
            self.session, channel=CHANNEL, address=str(self.inbound.chat_id), now=self.now, language=self.language
        )
        self.language = self.contact.language or self.language
        if self.inbound.callback_data is not None:
            self.button(self.inbound.callback_data)
        elif self.inbound.edited:
            self.say(m.EDIT_NOT_READ)
        elif self.inbound.forwarded:
            self.say(m.FORWARDED)
        elif self.inbound.text is None:
            self.not_text(m.NOT_TEXT)
        else:
            if self.inbound.attached:
                self.not_text(m.ATTACHMENT_NOT_KEPT)
            if self.inbound.text.startswith("/"):
                self.command(self.inbound.text)
            else:
                self.answer(Reply(self.inbound.text))
        return self.effects

    def not_text(self, message: str) -> None:
        """Say once that only text is read, even for an album, which comes as a message for each photo.

        The words sent with a photo are read as if typed (they were lost
        before, often a resident's whole answer: "the damp in my kitchen"),
        and the resident is told the photo itself is not kept.
        """
        album = self.inbound.album
        if album is None or first(self.session, f"telegram-album:{album}", self.now):
            self.say(message)

    def place(self) -> Place | None:
        place = current_place(self.session, self.runtime.secret_key, self.contact)
        if place is None:
            self.say(m.NO_SURVEY)
        elif place.closed:
            self.say(m.CLOSED)
            change_contact(self.session, self.contact, current_version_id=None)
            return None
        return place

    def answer(self, given: Input) -> None:
        if self.stopped():
            self.say(m.PAUSED)
            return
        place = self.place()
        if place is None:
            return
        typed = isinstance(given, Reply)
        if typed and self.replies_to_another(place):
            self.say(m.REPLIED_TO_EARLIER)
            return
        if isinstance(given, Reply):
            given = _button_typed(place, given.text, self.language) or given
        before = place.state
        state, outputs = advance(self.session, self.runtime.secret_key, place, given, CHANNEL, self.now)
        rendered = render(place.survey, outputs, self.language)
        if typed:
            rendered = _read_back(place, before, state, rendered)
        self.effects.send += rendered

    def replies_to_another(self, place: Place) -> bool:
        """Whether they swiped to reply to an earlier question's message: what they typed answers that question,
        and taken for the latest one it would be stored against the wrong question.

        A question still showing its buttons is named by them; one answered
        by a press has lost them, and is known by its words above the answer,
        in any of the survey's languages. A message whose words are no
        question's (the language chosen, say) is no question's reply.
        """
        data = self.inbound.replied_button
        replied = decode(data) if data else None
        if isinstance(replied, AnswerButton):
            return not _asks_now(place, replied)
        asked = self.inbound.replied_question
        if asked is None:
            return False
        named = [step.question.id for step in place.survey.steps if asked in step.question.label.translations.values()]
        return bool(named) and place.state.current not in named

    def command(self, text: str) -> None:
        name, _, argument = text.partition(" ")
        name = name[1:].split("@")[0].lower()
        argument = argument.strip()
        handlers = {
            "start": self.start,
            "help": self.help,
            "stop": self.stop,
            "language": self.choose_language,
            "back": lambda _: self.answer(Back()),
            "skip": lambda _: self.answer(Skip()),
            "mydata": self.my_data,
            "forget": self.ask_forget,
        }
        handler = handlers.get(name)
        if handler is None:
            self.say(m.UNKNOWN_COMMAND)
        else:
            handler(argument)

    def help(self, _: str) -> None:
        self.say(m.HELP)

    def stop(self, _: str) -> None:
        """No more messages, at once; their place is kept, so /start carries on from it, as after unblocking the bot."""
        opt_out(self.session, self.contact.id, self.now)
        self.say(m.STOPPED)

    def stopped(self) -> bool:
        """After /stop (or blocking the bot), answers wait for /start: an answer now may not be meant as one."""
        return self.contact.opted_out_at is not None

    def start(self, payload: str) -> None:
        change_contact(self.session, self.contact, opted_out_at=None)
        if payload.startswith(JOIN_PREFIX):
            self.join_staff(payload.removeprefix(JOIN_PREFIX))
            return
        if not payload:
            place = current_place(self.session, self.runtime.secret_key, self.contact)
            if place is None:
                self.say(m.WELCOME)
            else:
                self.enter(place.version.id)
            return
        slug, named = self.resolve(payload)
        version_id = version_to_answer(self.session, self.runtime.secret_key, self.contact, slug) if slug else None
        if version_id is None:
            self.say(m.UNKNOWN_SURVEY)
            return
        _, survey = load_version(self.session, version_id)
        if not self.may_answer(survey):
            return
        if named:
            self.place_in(named, survey.metadata.organisation)
        if finished(self.session, self.runtime.secret_key, self.contact, version_id):
            self.already_answered(survey, version_id)
            return
        self.enter(version_id)

    def already_answered(self, survey: Survey, version_id: int) -> None:
        """Thank them, offering to answer again unless the survey is anonymous: a second anonymous answer in
        the same wave could not be told from a colleague's, so it would count twice for good."""
        again = inline_button(m.say(self.language, m.ANSWER_AGAIN), encode(AgainButton(version_id)))
        offer = None if survey.metadata.anonymous else inline_keyboard([[again]])
        self.effects.send += messages(html(m.say(self.language, m.ALREADY_DONE)), offer)

    def enter(self, version_id: int) -> None:
        """Ask the survey's next question: after its introduction when starting, after a word of welcome back
        when carrying on (the introduction again, at every scan of a leaflet, buried where they had got to)."""
        place, outputs = begin(self.session, self.runtime.secret_key, self.contact, version_id, CHANNEL, self.now)
        if not place.resumed:
            self.introduce(place.survey)
        elif place.state.history:
            self.say(m.WELCOME_BACK)
        self.show(place, outputs)

    def may_answer(self, survey: Survey) -> bool:
        if survey.metadata.audience is Audience.STAFF and self.contact.role != "staff":
            self.say(m.STAFF_ONLY)
            return False
        return True

    def answer_again(self, version_id: int) -> None:
        """After 'already answered': a new response to the survey's latest version, the earlier one kept."""
        if self.inbound.message_id is not None:
            self.effects.edit = (self.inbound.message_id, html(m.say(self.language, m.ALREADY_DONE)), None)
        try:
            _, earlier = load_version(self.session, version_id)
        except UnknownVersion:
            self.effects.callback_text = m.say(self.language, m.REFUSALS[Reason.STALE])
            return
        latest = latest_version(self.session, earlier.id) or version_id
        _, survey = load_version(self.session, latest)
        if not self.may_answer(survey):
            return
        if survey.metadata.anonymous:  # never offered (see already_answered)
            self.already_answered(survey, latest)
            return
        change_contact(self.session, self.contact, opted_out_at=None)
        self.enter(latest)

    def show(self, place: Place, outputs: tuple[Output, ...]) -> None:
        """The survey's words come in the survey's language; Chorus's own in the participant's."""
        self.effects.send += render(place.survey, outputs, self.language)

    def resolve(self, payload: str) -> tuple[str | None, str | None]:
        """`tsm-ancoats` names survey `tsm` and area (or service) `ancoats`: the longest survey slug that starts
        the payload.

        Slugs are lower-case, and a link an officer typed as `?start=TSM-Ancoats` means the same.
        """
        payload = payload.lower()
        for slug in sorted(survey_slugs(self.session), key=len, reverse=True):
            if payload == slug or payload.startswith(f"{slug}-"):
                return slug, payload[len(slug) + 1 :] or None
        return None, None

    def place_in(self, slug: str, organisation: str | None) -> None:
        """Record the area or the service a leaflet's link names, within the survey's organisation when it has one.

        Areas and services are named per organisation, so two may both have a
        `central`. A name that matches nothing (a mistyped link) leaves them as
        they were; a service's link leaves the area, and an area's the service.
        """
        found = find_place(self.session, slug, organisation)
        if found is None:
            logger.info(
                "update %s: the link names %r, neither an area nor a service known (`chorus org area` or "
                "`chorus org service` adds it)",
                self.inbound.update_id,
                slug,
            )
            return
        kind, place_id = found
        change_contact(self.session, self.contact, **{PLACES[kind][1]: place_id})

    def introduce(self, survey: Survey) -> None:
        lines = []
        runs = self.who_runs(survey)
        if runs:
            lines.append(m.say(self.language, m.RUN_BY, organisation=runs))
        if survey.metadata.anonymous:
            lines.append(m.say(self.language, m.ANONYMOUS))
        lines.append(m.say(self.language, m.HOW_TO_STOP))
        if self.language not in survey.languages:  # Chorus speaks their language; the survey's text will not
            lines.append(m.available_in(survey.languages, self.language))
        self.effects.send += messages(html("\n\n".join(lines)))

    def who_runs(self, survey: Survey) -> str | None:
        """Who asks, as their invite said (the survey's organisation, or a member of staff's employer); nobody
        named for a resident of a survey that names no organisation."""
        runs = who_asks(self.session, survey)(self.contact.organisation_id)
        return None if runs == EVERYONE else runs

    def join_staff(self, code: str) -> None:
        organisation = redeem(self.session, code, self.contact, self.now)
        if organisation is None:
            self.say(m.STAFF_CODE_INVALID)
            return
        self.say(m.STAFF_JOINED, organisation=organisation.name)
        cool_off_days = self.runtime.settings.invite_cool_off_days
        for invitation_id, survey, asks in join_open_waves(
            self.session, self.contact.id, self.now, cool_off_days=cool_off_days
        ):
            self.effects.send.append(
                invitation(survey, asks, self.language, invitation_id, reminder=False, started=False)
            )

    def choose_language(self, code: str) -> None:
        place = current_place(self.session, self.runtime.secret_key, self.contact)
        offered = tuple(dict.fromkeys((*(place.survey.languages if place else ()), *bot_languages())))
        if code in offered:
            self.set_language(code)
            return
        rows = [[inline_button(m.language_name(c), encode(LanguageButton(c)))] for c in offered]
        self.effects.send += messages(html(m.say(self.language, m.CHOOSE_LANGUAGE)), inline_keyboard(rows))

    def set_language(self, code: str) -> None:
        """Chorus's own words follow at once; the survey's only if it is written in that language.

        When it is not, the resident is told which languages it has, in the
        one they chose: otherwise the question came back in English straight
        after "Zmieniono język na Polski.", as if the change had not worked.
        """
        change_contact(self.session, self.contact, language=code)
        self.language = code if code in bot_languages() else self.language
        said = m.say(self.language, m.LANGUAGE_SET, language=m.language_name(code))
        place = current_place(self.session, self.runtime.secret_key, self.contact)
        if place is not None and code not in place.survey.languages:
            said += "\n" + m.available_in(place.survey.languages, self.language)
        self.effects.send += messages(html(said))
        if place is None:
            return
        if code in place.survey.languages:
            self.answer(ChangeLanguage(code))
        else:
            self.show(place, prompt(place.survey, place.state))

    def my_data(self, _: str) -> None:
        data = privacy.export(
            self.session, self.contact.id, secret_key=self.runtime.secret_key, now=self.now, actor="participant"
        )
        content = json.dumps(data, indent=2, ensure_ascii=False).encode()
        self.effects.send += messages(readable(data, self.language))
        self.effects.document = ("chorus-my-data.json", content, m.say(self.language, m.MYDATA))

    def ask_forget(self, _: str) -> None:
        rows = [
            [inline_button(m.say(self.language, m.FORGET_YES), encode(ForgetButton(True)))],
            [inline_button(m.say(self.language, m.FORGET_NO), encode(ForgetButton(False)))],
        ]
        self.effects.send += messages(html(m.say(self.language, m.FORGET_CONFIRM)), inline_keyboard(rows))

    def button(self, data: str) -> None:
        pressed = decode(data)
        if isinstance(pressed, LanguageButton):
            self.set_language(pressed.language)
            chosen = f"{m.say(self.language, m.CHOOSE_LANGUAGE)}\n\u2713 {m.language_name(pressed.language)}"
            self.effects.edit = (self.inbound.message_id or 0, html(chosen), None)  # as an answered question shows
        elif isinstance(pressed, ForgetButton):
            self.forget(pressed.confirmed)
        elif isinstance(pressed, AnswerButton):
            self.answer_button(pressed)
        elif isinstance(pressed, InviteButton):
            self.accept_invitation(pressed.invitation_id)
        elif isinstance(pressed, AgainButton):
            self.answer_again(pressed.version_id)
        else:
            self.stale()

    def stale(self, reason: Reason | None = Reason.STALE) -> None:
        """A press on a button that no longer does anything: the button's answer says why, and its message
        loses its buttons so they do not mislead again. A question answered by typing keeps its buttons
        (taking them away would cost every typed answer a call), so this is where they go."""
        if reason is not None:
            self.effects.callback_text = m.say(self.language, m.REFUSALS[reason])
        self.effects.unbutton = self.inbound.message_id

    def accept_invitation(self, invitation_id: int) -> None:
        """The button on an invite or reminder: start its survey, or carry on where they left off."""
        invitation = self.session.get(Invitation, invitation_id)
        if invitation is None or invitation.contact_id != self.contact.id:
            self.stale()
            return
        wave = self.session.get(Wave, invitation.wave_id)
        if wave is None or wave.closed_at is not None:
            self.stale(reason=None)
            self.say(m.CLOSED)
            return
        if invitation.completed_at is not None:
            self.stale(reason=None)
            self.say(m.ALREADY_DONE)
            return
        change_contact(self.session, self.contact, opted_out_at=None)
        self.enter(wave.survey_version_id)

    def forget(self, confirmed: bool) -> None:
        if self.inbound.message_id is not None:
            self.effects.edit = (self.inbound.message_id, html(m.say(self.language, m.FORGET_CONFIRM)), None)
        if not confirmed:
            self.say(m.NOT_FORGOTTEN)
            return
        privacy.forget(
            self.session, self.contact.id, secret_key=self.runtime.secret_key, now=self.now, actor="participant"
        )
        self.effects.erasure = True
        self.say(m.FORGOTTEN)

    def answer_button(self, pressed: AnswerButton) -> None:
        if self.stopped():
            self.effects.callback_text = m.say(self.language, m.PAUSED)
            return
        place = current_place(self.session, self.runtime.secret_key, self.contact)
        if place is None:  # nothing in progress: the button's survey was finished (or its answers erased)
            self.stale(Reason.FINISHED)
            return
        if not _asks_now(place, pressed):
            self.stale()
            return
        question = place.survey.steps[pressed.position].question
        value = question.choices[pressed.choice].value if 0 <= pressed.choice < len(question.choices) else ""
        inputs: dict[str, Input] = {
            "p": Pick((value,), question.id),
            "t": Toggle(value, question.id),
            "d": Done(question.id),
            "b": Back(question.id),
            "s": Skip(question.id),
        }
        given = inputs[pressed.action]
        before = place.state
        state, outputs = advance(self.session, self.runtime.secret_key, place, given, CHANNEL, self.now)
        refused = next((o for o in outputs if isinstance(o, Rejected)), None)
        if refused is not None and pressed.action == "t":
            self.effects.callback_text = m.refusal(refused, self.language)
            return
        if state == before or refused is not None:
            self.show(place, outputs)
            return
        if pressed.action == "t":
            self.effects.edit = _ticked(place, outputs, self.inbound.message_id or 0, self.language)
            return
        answered = _answered_html(place, question.id, state, self.language)
        self.effects.edit = (self.inbound.message_id or 0, answered, None)
        self.show(place, outputs)


def _asks_now(place: Place, button: AnswerButton) -> bool:
    """Whether the button was shown for the question the participant is at now, in the version they answer."""
    steps = place.survey.steps
    return (
        place.survey.version.startswith(button.version)
        and button.position < len(steps)
        and steps[button.position].question.id == place.state.current
    )


def _button_typed(place: Place, text: str, language: str) -> Skip | Back | Done | None:
    """The button they typed the word of instead of pressing it: Skip or Back at any question, Done at a multiple
    choice (the picks ticked so far are the answer), in their language or English.

    Never when the words name one of the question's own choices: a survey
    that offers "Not applicable" as an answer is answered by it. Read with
    every typed answer, so a number, the usual one, costs nothing here.
    """
    if text.isdecimal():
        return None
    button = _typed_buttons(language).get(normalise(text))
    question = place.survey.question(place.state.current) if place.state.current else None
    if button is None or question is None or names_a_choice(question, text, language):
        return None
    if button is Done and question.kind is not Kind.SELECT_MULTIPLE:
        return None
    return button()


@cache
def _typed_buttons(language: str) -> dict[str, type[Skip | Back | Done]]:
    """Each word that means a button, normalised: its label ('Done ✓' as 'done', '◀ Wstecz' as 'wstecz') in the
    language and in English, and what people type for it (messages.SAID_DONE, SAID_SKIP, SAID_BACK)."""
    typed: dict[str, type[Skip | Back | Done]] = {}
    for button, label, said in ((Done, m.DONE, m.SAID_DONE), (Back, m.BACK, m.SAID_BACK), (Skip, m.SKIP, m.SAID_SKIP)):
        labels = (m.say(spoken, label).replace("\u2713", "").replace("\u25c0", "") for spoken in (language, "en"))
        typed |= {normalise(word): button for word in (*said, *labels)}
    return typed


def _read_back(place: Place, before: State, after: State, rendered: list[Outgoing]) -> list[Outgoing]:
    """A typed choice as it was read, "✓ Very dissatisfied", on top of what follows: "5" or "very sat" are read,
    not guessed silently.

    Buttons show no numbers, so a "5" typed for "very satisfied" is read as the
    fifth choice; seeing it read back, they can /back. A press shows its choice
    on the question instead (see answer_button).
    """
    question = place.survey.question(before.current) if before.current else None
    value = after.answers.get(question.id) if question else None
    if question is None or not question.is_choice or value is None or question.id not in after.history:
        return rendered
    shown = as_shown(question, value, after.language, place.survey.default_language)
    own = after.answers.get(other_follow_up(question).id) if question.other else None
    if own is not None:  # typed words that named no choice: "✓ Other: Dog fouling"
        shown = f"{shown}: {own}"
    read = f"<i>\u2713 {html(shown)}</i>"
    if rendered and len(read) + 2 + len(rendered[0].text) <= LIMIT:
        return [Outgoing(f"{read}\n\n{rendered[0].text}", rendered[0].keyboard), *rendered[1:]]
    return [Outgoing(read), *rendered]


def _ticked(
    place: Place, outputs: tuple[Output, ...], message_id: int, language: str
) -> tuple[int, str, Keyboard | None]:
    """The multiple choice's message as it was sent, with the ticks as they now are.

    Edited to the question's words alone, it lost its hint ("Choose up to
    three.") at the first tick, just when the limit mattered.
    """
    ask = next(o for o in outputs if isinstance(o, AskQuestion))
    return message_id, messages(question_text(ask, language))[-1].text, keyboard(place.survey, ask, language)


def _question_html(place: Place, question_id: str, state: State) -> str:
    question = place.survey.question(question_id)
    assert question is not None
    return f"<b>{html(question.label.get(state.language, place.survey.default_language))}</b>"


def _answered_html(place: Place, question_id: str, after: State, language: str) -> str:
    """The question's message once answered: its text and the answer, with no buttons left."""
    question = place.survey.question(question_id)
    assert question is not None
    text = _question_html(place, question_id, after)
    if question_id not in after.answers:
        return text
    value = after.answers[question_id]
    if value is None:
        shown = m.say(language, m.SKIPPED)
    else:
        shown = as_shown(question, value, after.language, place.survey.default_language)
    return f"{text}\n\u2713 {html(shown)}"
