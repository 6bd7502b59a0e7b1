"""A participant's place in a survey, kept in the database around each engine step.

Every channel uses this: load where the participant is, apply one input
through the pure engine, and persist the result in the caller's transaction.
A named survey keeps its state and answers on a response under the
participant's key; an anonymous survey keeps a draft on the personal side and
releases the answers keyless at the end. A refused consent keeps nothing but
the consent record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from bot import metrics
from storage.catalogue import VersionInfo, load_version
from storage.contacts import ContactRow, change_contact, record_consent
from storage.keys import participant_key
from storage.models import AnonymousDraft, Response, SurveyVersion, Wave
from storage.models import Survey as SurveyRow
from storage.responses import (
    apply_state,
    discard_draft,
    find_draft,
    find_response,
    hold_anonymous,
    save_draft,
    start_response,
)
from storage.waves import mark_completed, mark_started, open_invitation
from surveys.engine import prompt, start, step
from surveys.inputs import Input
from surveys.model import Kind, Survey
from surveys.outputs import Output
from surveys.state import State, Status


@dataclass
class Place:
    """Where a contact is in their current survey."""

    contact: ContactRow
    version: VersionInfo
    survey: Survey
    state: State
    response_id: str | None
    closed: bool = False
    wave_id: int | None = None
    resumed: bool = False  # begin() carried on with answers already under way


def latest_version(session: Session, slug: str) -> int | None:
    return session.scalar(
        select(SurveyVersion.id)
        .join(SurveyRow, SurveyRow.id == SurveyVersion.survey_id)
        .where(SurveyRow.slug == slug)
        .order_by(SurveyVersion.number.desc())
        .limit(1)
    )


def version_to_answer(session: Session, secret_key: str, contact: ContactRow, slug: str) -> int | None:
    """The version of the survey a link names: one they are part-way through in no closed wave, else the latest.

    An officer who mends a typo imports a new version mid-fieldwork; someone who
    scans the leaflet again carries on where they were, on the version they
    began, rather than starting the new one from its consent question.
    """
    versions = (
        select(SurveyVersion.id).join(SurveyRow, SurveyRow.id == SurveyVersion.survey_id).where(SurveyRow.slug == slug)
    )
    open_wave = or_(Wave.id.is_(None), Wave.closed_at.is_(None))
    named = (
        select(Response.survey_version_id, Response.updated_at)
        .outerjoin(Wave, Wave.id == Response.wave_id)
        .where(
            Response.participant_key == participant_key(secret_key, contact.id),
            Response.status == Status.ANSWERING.value,
            Response.survey_version_id.in_(versions),
            open_wave,
        )
    )
    anonymous = (
        select(AnonymousDraft.survey_version_id, AnonymousDraft.updated_at)
        .outerjoin(Wave, Wave.id == AnonymousDraft.wave_id)
        .where(AnonymousDraft.contact_id == contact.id, AnonymousDraft.survey_version_id.in_(versions), open_wave)
    )
    under_way = named.union_all(anonymous).subquery()
    found = session.scalar(
        select(under_way.c.survey_version_id).order_by(under_way.c.updated_at.desc().nulls_last()).limit(1)
    )
    return found if found is not None else latest_version(session, slug)


def survey_slugs(session: Session) -> list[str]:
    return list(session.scalars(select(SurveyRow.slug)))


def current_place(session: Session, secret_key: str, contact: ContactRow) -> Place | None:
    """The survey the contact is answering now, or None."""
    if contact.current_version_id is None:
        return None
    return _place(session, secret_key, contact, contact.current_version_id)


def _place(session: Session, secret_key: str, contact: ContactRow, version_id: int) -> Place | None:
    version, survey = load_version(session, version_id)
    if version.anonymous:
        draft = find_draft(session, contact.id, version_id)
        if draft is None:
            return None
        closed = draft.wave_closed_at is not None
        return Place(contact, version, survey, State.from_json(draft.state), None, closed, draft.wave_id)
    response = find_response(session, participant_key(secret_key, contact.id), version_id)
    if response is None or response.status != Status.ANSWERING.value or response.state is None:
        return None
    closed = response.wave_closed_at is not None
    return Place(contact, version, survey, State.from_json(response.state), response.id, closed, response.wave_id)


def finished(session: Session, secret_key: str, contact: ContactRow, version_id: int) -> bool:
    """Whether they have finished this survey: in the open wave that invited them, if one did, else in any
    version of it (a mended file imported since is still the survey they answered).

    A second scan of a leaflet's code after finishing would otherwise start the
    survey again and count them twice. Outside a wave an anonymous survey keeps
    nothing that could tell, by design.
    """
    invitation = open_invitation(session, contact.id, version_id)
    if invitation is not None:
        return invitation.completed_at is not None
    version, _ = load_version(session, version_id)
    if version.anonymous:
        return False
    latest = session.scalar(
        select(Response.status)
        .join(SurveyVersion, SurveyVersion.id == Response.survey_version_id)
        .where(Response.participant_key == participant_key(secret_key, contact.id))
        .where(SurveyVersion.survey_id == version.survey_id)
        .order_by(Response.started_at.desc())
        .limit(1)
    )
    return latest == Status.COMPLETED.value


def begin(
    session: Session, secret_key: str, contact: ContactRow, version_id: int, channel: str, now: datetime
) -> tuple[Place, tuple[Output, ...]]:
    """Resume the contact's unfinished answers to this version, or start afresh (in their open wave, if invited).

    Answers begun in a wave since closed are not resumed, only to be refused
    at the next answer; the survey starts again. A named survey's stay as
    given; an anonymous one's go, since unfinished they are never released.
    """
    place = _place(session, secret_key, contact, version_id)
    change_contact(session, contact, current_version_id=version_id)
    if place is not None and not place.closed:
        place.resumed = True
        return place, prompt(place.survey, place.state)
    if place is not None and place.version.anonymous:
        discard_draft(session, contact.id, version_id)
    version, survey = load_version(session, version_id)
    state, outputs = start(survey, contact.language)
    invitation = open_invitation(session, contact.id, version_id)
    if invitation is not None:
        mark_started(session, invitation.id, now, channel=contact.channel, address=contact.address)
    place = Place(contact, version, survey, state, None, wave_id=invitation.wave_id if invitation else None)
    _persist(session, secret_key, place, state, channel, now)
    return place, outputs


def advance(
    session: Session, secret_key: str, place: Place, given: Input, channel: str, now: datetime
) -> tuple[State, tuple[Output, ...]]:
    """Apply one input and persist what it changed: answers, state, consent, completion."""
    state, outputs = step(place.survey, place.state, given)
    if state != place.state:
        added = len(state.answers) - len(place.state.answers)  # a tick, a comment, /back or /language adds none
        if added > 0:
            metrics.ANSWERS.labels(channel).inc(added)
        _record_consent(session, place, state, now)
        _persist(session, secret_key, place, state, channel, now)
        place.state = state
    return state, outputs


def _record_consent(session: Session, place: Place, state: State, now: datetime) -> None:
    if len(state.history) <= len(place.state.history):
        return
    question = place.survey.question(state.history[-1])
    if question is None or question.kind is not Kind.CONSENT or question.notice is None:
        return
    record_consent(
        session,
        contact_id=place.contact.id,
        version_id=place.version.id,
        question_id=question.id,
        language=state.language,
        notice=question.notice.get(state.language, place.survey.default_language),
        decision=str(state.answers[question.id]),
        now=now,
    )


def _persist(session: Session, secret_key: str, place: Place, state: State, channel: str, now: datetime) -> None:
    contact, version = place.contact, place.version
    if state.status is not Status.ANSWERING:
        change_contact(session, contact, current_version_id=None)
    if state.status is Status.COMPLETED and place.state.status is not Status.COMPLETED:
        mark_completed(session, contact.id, version.id, now, channel=contact.channel, address=contact.address)
    if version.anonymous:
        _persist_anonymous(session, place, state, channel, now)
    elif state.status is Status.DECLINED:
        if place.response_id is not None:
            session.execute(delete(Response).where(Response.id == place.response_id))
    elif place.response_id is None:
        place.response_id = start_response(
            session,
            version_id=version.id,
            participant_key=participant_key(secret_key, contact.id),
            channel=channel,
            state=state,
            now=now,
            wave_id=place.wave_id,
            organisation_id=contact.organisation_id,
            area_id=contact.area_id,
            service_id=contact.service_id,
        )
    else:
        apply_state(session, place.response_id, state, now, previous=place.state, version_id=version.id)


def _persist_anonymous(session: Session, place: Place, state: State, channel: str, now: datetime) -> None:
    contact, version = place.contact, place.version
    if state.status is Status.ANSWERING:
        save_draft(
            session,
            contact_id=contact.id,
            version_id=version.id,
            channel=channel,
            state=state,
            now=now,
            wave_id=place.wave_id,
        )
    elif state.status is Status.COMPLETED:
        hold_anonymous(
            session,
            contact_id=contact.id,
            version_id=version.id,
            channel=channel,
            state=state,
            now=now,
            wave_id=place.wave_id,
            organisation_id=contact.organisation_id,
        )
    else:
        discard_draft(session, contact.id, version.id)
