"""Privacy operations: erasure and subject access export, each with an audit entry (retention: storage/retention.py).

Erasure follows what the survey's notice promised: answers are deleted with
the person, or (`on_erasure: anonymise`) kept with the link cut and free text
scrubbed. Anonymous answers were never linked, so they stay and still count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage.audit import audit
from storage.catalogue import load_version
from storage.contacts import get_contact
from storage.keys import participant_key
from storage.models import (
    AnonymousDraft,
    AnonymousHeld,
    Answer,
    Area,
    Consent,
    Contact,
    Invitation,
    Organisation,
    Outbox,
    Response,
    Service,
    Survey,
    SurveyVersion,
)
from storage.tallies import tallied, uncount
from surveys.answers import as_shown
from surveys.model import Survey as SurveyDocument
from surveys.model import other_follow_up

Scrub = Callable[[str], str | None]
NOTE = (
    "Answers to anonymous surveys are stored with no link to you, so they cannot be found or included, once enough "
    "others have answered or the week you gave them in has ended; until then they are held with you, and listed here. "
    "A message to you is kept with its words only until it has been sent; after that, only when it was sent is kept."
)


def drop_text(_text: str) -> str | None:
    """The default scrub: free text goes entirely, since names and addresses hide in it."""
    return None


@dataclass(frozen=True)
class Forgotten:
    contact_id: int
    responses_deleted: int
    responses_anonymised: int
    invitations_unlinked: int
    messages_deleted: int


def forget(
    session: Session, contact_id: int, *, secret_key: str, now: datetime, actor: str, scrub: Scrub = drop_text
) -> Forgotten:
    """Erase a contact and everything that identifies them; raises NotFound for an unknown id."""
    contact = get_contact(session, contact_id)
    key = participant_key(secret_key, contact_id)
    rows = session.execute(
        select(Response.id, SurveyVersion.keep_anonymised)
        .join(SurveyVersion, SurveyVersion.id == Response.survey_version_id)
        .where(Response.participant_key == key)
    )
    found = list(rows)
    kept = [response_id for response_id, keep in found if keep]
    uncount(session, [response_id for response_id, keep in found if not keep])
    removed = session.execute(delete(Response).where(Response.participant_key == key, Response.id.not_in(kept)))
    deidentify(session, kept, scrub)
    unlinked = session.execute(
        update(Invitation).where(Invitation.contact_id == contact_id).values(contact_id=None, token=None)
    )
    messages = session.execute(
        delete(Outbox).where(Outbox.channel == contact.channel, Outbox.address == contact.address)
    )
    session.delete(contact)
    session.flush()
    result = Forgotten(
        contact_id,
        rows_changed(removed),
        len(kept),
        rows_changed(unlinked),
        rows_changed(messages),
    )
    details = asdict(result)
    del details["contact_id"]
    audit(session, now, actor, "contact.forget", f"contact {contact_id}", **details)
    return result


def deidentify(session: Session, response_ids: list[str], scrub: Scrub) -> None:
    """Cut responses loose from anyone: no key, no engine state, no exact times; free text scrubbed."""
    if not response_ids:
        return
    session.execute(
        update(Response)
        .where(Response.id.in_(response_ids))
        .values(participant_key=None, state=None, started_at=None, updated_at=None, completed_at=None)
    )
    texts = session.execute(
        select(Answer, Response.survey_version_id)
        .join(Response, Response.id == Answer.response_id)
        .where(Answer.response_id.in_(response_ids), Answer.text.is_not(None))
    )
    for answer, version_id in texts:
        scrubbed = scrub(answer.text or "")
        if tallied(load_version(session, version_id)[1], answer.question_id):  # not free text: its text is a comment
            answer.text = scrubbed
        elif scrubbed is None:
            session.delete(answer)
        else:
            answer.text = scrubbed
            answer.value = scrubbed


def rows_changed(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def export(session: Session, contact_id: int, *, secret_key: str, now: datetime, actor: str) -> dict[str, Any]:
    """Everything held about a contact, as JSON-ready data (a subject access request)."""
    contact = get_contact(session, contact_id)
    key = participant_key(secret_key, contact_id)
    consents = session.scalars(select(Consent).where(Consent.contact_id == contact_id).order_by(Consent.id))
    invitations = session.scalars(select(Invitation).where(Invitation.contact_id == contact_id))
    responses = session.execute(
        select(Response, Survey.slug, SurveyVersion.number)
        .join(SurveyVersion, SurveyVersion.id == Response.survey_version_id)
        .join(Survey, Survey.id == SurveyVersion.survey_id)
        .where(Response.participant_key == key)
        .order_by(Response.started_at)
    )
    drafts = session.scalars(select(AnonymousDraft).where(AnonymousDraft.contact_id == contact_id))
    held = session.scalars(select(AnonymousHeld).where(AnonymousHeld.contact_id == contact_id))
    messages = session.scalars(
        select(Outbox).where(Outbox.channel == contact.channel, Outbox.address == contact.address).order_by(Outbox.id)
    )
    exported = {
        "exported_at": now.isoformat(),
        "contact": _row(contact, "id channel address display_name language role opted_out_at created_at last_seen_at")
        | _places(session, contact),
        "consents": [_row(c, "question_id language notice decision recorded_at") for c in consents],
        "invitations": [_row(i, "wave_id sent_at reminders_sent started_at completed_at") for i in invitations],
        "responses": [_response(session, response, slug, number) for response, slug, number in responses],
        "surveys_in_progress_anonymously": [_row(d, "updated_at state") for d in drafts],
        "anonymous_surveys_not_yet_released": [_row(h, "period state") for h in held],
        "messages": [_message(m) for m in messages],
        "note": NOTE,
    }
    audit(session, now, actor, "contact.export", f"contact {contact_id}")
    return exported


def _response(session: Session, response: Response, slug: str, number: int) -> dict[str, Any]:
    _, survey = load_version(session, response.survey_version_id)
    return {
        "survey": slug,
        "title": survey.title.get(response.language, survey.default_language),
        "version": number,
        **_row(response, "channel language status started_at completed_at"),
        **_places(session, response),
        "answers": _answers(session, survey, response),
    }


def _answers(session: Session, survey: SurveyDocument, response: Response) -> list[dict[str, Any]]:
    """Each answer with its question as asked and the answer as shown, in the language they answered in, in
    the survey's order: the export is read by the person, who knows "Very satisfied", not `very_satisfied`.

    A comment written at a question with choices, a number or a date comes
    with its answer; one written at a question not (or no longer) answered is
    held with the survey's progress, and comes on its own.
    """
    rows = session.execute(
        select(Answer.question_id, Answer.value, Answer.text).where(Answer.response_id == response.id)
    )
    answered = {
        question_id: _answer(survey, response.language, question_id, value, text) for question_id, value, text in rows
    }
    for question_id, text in (response.state or {}).get("notes", {}).items():
        if question_id not in answered:
            answered[question_id] = _answer(survey, response.language, question_id, None, text) | {"unanswered": True}
    _with_own_words(survey, answered)
    return sorted(answered.values(), key=lambda a: survey.position(a["question_id"]) or 0)


def _with_own_words(survey: SurveyDocument, answered: dict[str, dict[str, Any]]) -> None:
    """What they typed for "Other" goes with the choice, as the chat read it back ("Other: Dog fouling"),
    not as an answer of its own to "Please type your answer", a question that means nothing alone."""
    for question_id, chosen in list(answered.items()):
        question = survey.question(question_id)
        if question is None or question.other is None or chosen["value"] is None:
            continue
        own = answered.get(other_follow_up(question).id)
        if own is not None and own["value"] is not None:
            del answered[own["question_id"]]
            answered[question_id] = chosen | {"answer": f"{chosen['answer']}: {own['answer']}", "other": own["value"]}


def _answer(survey: SurveyDocument, language: str, question_id: str, value: Any, text: str | None) -> dict[str, Any]:
    question = survey.question(question_id)
    default = survey.default_language
    return {
        "question_id": question_id,
        "question": question.label.get(language, default) if question else None,
        "answer": as_shown(question, value, language, default) if question and value is not None else value,
        "value": value,
        **({"comment": text} if text is not None and tallied(survey, question_id) else {}),
    }


def _places(session: Session, row: Contact | Response) -> dict[str, str | None]:
    """The organisation, area and service recorded with a contact or a response, by the names people read.

    A leaflet's link records where someone lives or which service they use,
    and a join code whom they work for: data about them, so theirs to see.
    """
    return {
        "organisation": _name(session, Organisation, row.organisation_id),
        "area": _name(session, Area, row.area_id),
        "service": _name(session, Service, row.service_id),
    }


def _name(session: Session, model: type[Organisation | Area | Service], row_id: int | None) -> str | None:
    return None if row_id is None else session.scalar(select(model.name).where(model.id == row_id))


def _message(message: Outbox) -> dict[str, Any]:
    """A message to the person, with its words while they are held: a sent one's are not, and an empty
    payload listed for each of them read as if something had been withheld."""
    held = {"payload": message.payload} if message.payload else {}
    return _row(message, "kind status created_at sent_at") | held


def _row(row: Any, fields: str) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in fields.split()}
    return {name: value.isoformat() if isinstance(value, datetime) else value for name, value in values.items()}
