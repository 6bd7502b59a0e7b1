"""Responses and their answers, checked against the exact survey version they were given on.

A named response carries its participant key and its engine state; answers
are written as they are given, so a half-finished survey is never lost. An
anonymous survey's answers are held when it is finished and released with others
(enough to show in a summary, or the rest of its week), with no key, no engine
state and no times finer than the ISO week.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.catalogue import load_version
from storage.errors import DuplicateAnswer, NotFound, StorageError, UnknownQuestion
from storage.models import AnonymousDraft, AnonymousHeld, Answer, Invitation, Response, Wave
from storage.prepared import Prepared
from storage.tallies import Key, add_counts, completed_counts, count_completed
from storage.waves import day_of
from surveys.model import Kind
from surveys.state import AnswerValue, State, Status

_SHUFFLE = random.SystemRandom()  # the order held surveys are released in must not be guessable


def week_of(now: datetime) -> str:
    """The ISO week a response belongs to, e.g. 2026-11-28 -> '2026-W48'."""
    year, week, _ = now.isocalendar()
    return f"{year}-W{week:02d}"


def start_response(
    session: Session,
    *,
    version_id: int,
    participant_key: str,
    channel: str,
    state: State,
    now: datetime,
    wave_id: int | None = None,
    organisation_id: int | None = None,
    area_id: int | None = None,
    service_id: int | None = None,
) -> str:
    """Open a named response; raises UnknownVersion, or StorageError for an anonymous survey."""
    version, _ = load_version(session, version_id)
    if version.anonymous:
        raise StorageError("an anonymous survey's answers are kept as a draft until released, never under a key")
    named = {
        "participant_key": participant_key,
        "service_id": service_id,
        "state": state.to_json(),
        "started_at": now,
        "updated_at": now,
        "completed_at": now if state.status is not Status.ANSWERING else None,
    }
    response = _ToStore(version_id, state, week_of(now), channel, wave_id, organisation_id, area_id, named)
    [response_id] = _store_responses(session, [response])
    return response_id


class _ToStore(NamedTuple):
    """A response to insert: what its row keeps besides its id, and the engine state whose answers go with it;
    `named` holds a named response's key, state and times, which an anonymous one has none of."""

    version_id: int
    state: State
    period: str
    channel: str
    wave_id: int | None
    organisation_id: int | None
    area_id: int | None
    named: Mapping[str, Any] | None = None


def _store_responses(session: Session, responses: Sequence[_ToStore]) -> list[str]:
    """Insert responses with their answers, and tally those already complete; their ids, in the same order.

    A statement for each table, not for each response: a release of held
    anonymous surveys took 2.8-6.4 ms a survey on PostgreSQL, a round trip for
    each of its three statements (bench/release.py).
    """
    ids, rows, answers, counts = [], [], [], Counter[Key]()
    for response in responses:
        state = response.state
        response_id = uuid.uuid4().hex
        ids.append(response_id)
        rows.append(
            {
                **(response.named or KEYLESS),
                "id": response_id,
                "survey_version_id": response.version_id,
                "channel": response.channel,
                "wave_id": response.wave_id,
                "organisation_id": response.organisation_id,
                "area_id": response.area_id,
                "language": state.language,
                "status": state.status.value,
                "period": response.period,
            }
        )
        given = {q: state.answers[q] for q in state.history}
        answers += _answer_rows(session, response_id, response.version_id, given, state.notes)
        if state.status is Status.COMPLETED:
            counts.update(completed_counts(session, response.version_id, response.period, state.answers))
    INSERT_RESPONSE.execute_many(session, rows)
    INSERT_ANSWERS.execute_many(session, answers)
    add_counts(session, counts)
    return ids


# The statements of a resident's every answer, built once with bound parameters:
# building them anew on each answer cost more CPU than SQLite took to run them.
RESPONSE_TABLE = Response.metadata.tables["response"]
RESPONSES = RESPONSE_TABLE.c
WAVE_TABLE = Wave.metadata.tables["wave"]
LATEST_RESPONSE = Prepared(
    select(
        RESPONSES.id,
        RESPONSES.status,
        RESPONSES.state,
        RESPONSES.wave_id,
        RESPONSES.completed_at,
        WAVE_TABLE.c.closed_at.label("wave_closed_at"),
    )
    .outerjoin_from(RESPONSE_TABLE, WAVE_TABLE, WAVE_TABLE.c.id == RESPONSES.wave_id)
    .where(RESPONSES.participant_key == bindparam("key"), RESPONSES.survey_version_id == bindparam("version"))
    .order_by(RESPONSES.started_at.desc())
    .limit(1)
)
UPDATE_RESPONSE = Prepared(update(RESPONSE_TABLE).where(RESPONSES.id == bindparam("response_id")))
RESPONSE_PERIOD = Prepared(select(RESPONSES.period).where(RESPONSES.id == bindparam("response_id")))
INSERT_ANSWERS = Prepared(insert(Answer.metadata.tables["answer"]))
# Inserted through the ORM, a response cost a flush of its own: most of the time a week's release of
# anonymous surveys held the writer (bench/release.py).
INSERT_RESPONSE = Prepared(insert(RESPONSE_TABLE))
KEYLESS = {
    "participant_key": None,
    "service_id": None,
    "state": None,
    "started_at": None,
    "updated_at": None,
    "completed_at": None,
}


def find_response(session: Session, participant_key: str, version_id: int) -> Any | None:
    """The participant's latest response to this version, to resume it.

    Its id, status, state, wave_id and completed_at, and the wave's closed_at
    as wave_closed_at (None outside a wave): read with the response because a
    resident's every answer asks whether their wave has closed meanwhile.
    """
    return LATEST_RESPONSE.first(session, {"key": participant_key, "version": version_id})


def record_answer(session: Session, response_id: str, question_id: str, value: AnswerValue) -> None:
    """Store one answer; raises NotFound, UnknownQuestion or DuplicateAnswer, and the caller's transaction rolls back."""
    version_id = session.scalar(select(Response.survey_version_id).where(Response.id == response_id))
    if version_id is None:
        raise NotFound(f"no response {response_id}")
    _insert_answers(session, response_id, version_id, {question_id: value})


def _insert_answers(
    session: Session,
    response_id: str,
    version_id: int,
    answers: Mapping[str, AnswerValue],
    notes: Mapping[str, str] | None = None,
) -> None:
    rows = _answer_rows(session, response_id, version_id, answers, notes)
    try:
        INSERT_ANSWERS.execute_many(session, rows)
    except IntegrityError:
        raise DuplicateAnswer(f"response {response_id} already has an answer to one of {', '.join(answers)}") from None


def _answer_rows(
    session: Session,
    response_id: str,
    version_id: int,
    answers: Mapping[str, AnswerValue],
    notes: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """`text` is what was written: a free-text answer itself, or the comment kept at a question with choices,
    a number or a date, where it goes to the weekly themes and quotes beside the answer it came with."""
    version, survey = load_version(session, version_id)
    rows = []
    for question_id, value in answers.items():
        question = survey.question(question_id)
        if question is None or question.kind is Kind.NOTE:
            raise UnknownQuestion(
                f"survey {survey.id} version {version.number} has no question '{question_id}' to answer"
            )
        if question.kind is Kind.TEXT:
            text = value if isinstance(value, str) else None
        else:
            text = notes.get(question_id) if notes else None
        stored = list(value) if isinstance(value, tuple) else value
        rows.append({"response_id": response_id, "question_id": question_id, "value": stored, "text": text})
    return rows


def apply_state(
    session: Session,
    response_id: str,
    state: State,
    now: datetime,
    *,
    previous: State | None = None,
    version_id: int | None = None,
) -> None:
    """Make the stored answers match the engine state: new answers added, answers undone by Back removed.

    The stored answers always match the stored state, so a caller that holds
    the previous state (and version) saves this function two reads.
    """
    if previous is None or version_id is None:
        found = (
            session.execute(select(Response.survey_version_id, Response.state).where(Response.id == response_id))
        ).first()
        if found is None:
            raise NotFound(f"no response {response_id}")
        version_id = found.survey_version_id
        previous = State.from_json(found.state) if found.state else None
    stored = set(previous.answers) if previous else set()
    dropped = stored - set(state.answers)
    if dropped:
        session.execute(delete(Answer).where(Answer.response_id == response_id, Answer.question_id.in_(dropped)))
    added = {q: state.answers[q] for q in state.history if q not in stored}
    if added:
        _insert_answers(session, response_id, version_id, added, state.notes)
    values: dict[str, object] = {
        "state": state.to_json(),
        "status": state.status.value,
        "language": state.language,
        "updated_at": now,
    }
    if state.status is not Status.ANSWERING:
        values["completed_at"] = now
    UPDATE_RESPONSE.execute(session, {"response_id": response_id, **values})
    if state.status is Status.COMPLETED and (previous is None or previous.status is not Status.COMPLETED):
        completed = RESPONSE_PERIOD.first(session, {"response_id": response_id})
        if completed is None:
            raise NotFound(f"no response {response_id}")
        count_completed(session, version_id, completed.period, state.answers)


def save_draft(
    session: Session,
    *,
    contact_id: int,
    version_id: int,
    channel: str,
    state: State,
    now: datetime,
    wave_id: int | None = None,
) -> None:
    """Keep an anonymous survey's progress on the personal side until it is released."""
    draft = session.scalar(select(AnonymousDraft).where(_draft_of(contact_id, version_id)))
    if draft is None:
        session.add(
            AnonymousDraft(
                contact_id=contact_id,
                survey_version_id=version_id,
                wave_id=wave_id,
                channel=channel,
                state=state.to_json(),
                updated_at=now,
            )
        )
    else:
        draft.state = state.to_json()
        draft.updated_at = now
    session.flush()


def find_draft(session: Session, contact_id: int, version_id: int) -> Any | None:
    """An anonymous survey in progress, to resume it: its state, wave_id and the wave's closed_at as wave_closed_at
    (None outside a wave), as find_response gives a named one's."""
    return session.execute(
        select(AnonymousDraft.state, AnonymousDraft.wave_id, Wave.closed_at.label("wave_closed_at"))
        .outerjoin(Wave, Wave.id == AnonymousDraft.wave_id)
        .where(_draft_of(contact_id, version_id))
    ).first()


def discard_draft(session: Session, contact_id: int, version_id: int) -> None:
    """An anonymous survey left part way goes: finished, or no longer to be finished (its wave closed)."""
    session.execute(delete(AnonymousDraft).where(_draft_of(contact_id, version_id)))


def _draft_of(contact_id: int, version_id: int) -> ColumnElement[bool]:
    """A person's anonymous survey in progress: at most one for each version (a unique constraint)."""
    return and_(AnonymousDraft.contact_id == contact_id, AnonymousDraft.survey_version_id == version_id)


def hold_anonymous(
    session: Session,
    *,
    contact_id: int,
    version_id: int,
    channel: str,
    state: State,
    now: datetime,
    wave_id: int | None = None,
    organisation_id: int | None = None,
    area_id: int | None = None,
    invitation_id: int | None = None,
) -> None:
    """Hold a finished anonymous survey until it is released (see AnonymousHeld), delete the draft, and mark the
    invitation done, to the day. Nothing keyless is written here: this transaction is the person's."""
    version, _ = load_version(session, version_id)
    if not version.anonymous:
        raise StorageError("only an anonymous survey's answers are held and released without a participant key")
    session.add(
        AnonymousHeld(
            contact_id=contact_id,
            survey_version_id=version_id,
            wave_id=wave_id,
            organisation_id=organisation_id,
            area_id=area_id,
            channel=channel,
            language=state.language,
            state=state.to_json(),
            period=week_of(now),
        )
    )
    discard_draft(session, contact_id, version_id)
    if invitation_id is not None:
        invitation = session.get(Invitation, invitation_id)
        if invitation is not None:
            invitation.completed_at = day_of(now)
    session.flush()


def release_held(session: Session, now: datetime, *, enough: int) -> list[str]:
    """Store with no key, in random order, every held anonymous survey of the weeks before this one, and those
    of this week alike in all a response keeps once `enough` of them are held; forget whose each was. Returns the
    keyless responses' ids.

    One transaction for all of them, writing nothing else about anyone: on
    PostgreSQL they share its id, and their order is chance, so no more can be
    told of one than that it is among those alike in its release: at least
    `enough` people (the smallest group a summary shows), or everyone alike who
    finished in its week. Released early once there are enough, answers stay
    linked to their person for less time. The minute's release and the weekly
    summary's can run at once; the rows are locked as they are taken.
    """
    week = week_of(now)
    waiting = session.execute(select(AnonymousHeld.id, AnonymousHeld.period, *ALIKE)).all()
    alike = Counter(tuple(row[2:]) for row in waiting if row.period >= week)
    due = {row.id for row in waiting if row.period < week or alike[tuple(row[2:])] >= enough}
    if not due:
        return []
    # Locked as they are taken, so a release running at once waits, then finds them gone. All are locked rather than
    # named: a list of ids as long as a week held after an outage would pass asyncpg's limit of 32,767 arguments.
    ids = [held for held in session.scalars(select(AnonymousHeld.id).with_for_update()) if held in due]
    _SHUFFLE.shuffle(ids)
    released = []
    for start in range(0, len(ids), STORED_AT_ONCE):
        released += _store_responses(session, _releasing(session, ids[start : start + STORED_AT_ONCE]))
    for start in range(0, len(ids), DELETED_AT_ONCE):
        session.execute(delete(AnonymousHeld).where(AnonymousHeld.id.in_(ids[start : start + DELETED_AT_ONCE])))
    return released


def _releasing(session: Session, ids: list[int]) -> list[_ToStore]:
    """These held surveys as they are released, in the order given: each one's state and what it has in common
    with others alike, no more.

    Read a few at a time: on PostgreSQL a write's Python runs on the event
    loop, and reading 10,000 states at once held every webhook up for 194 ms.
    """
    rows = {row.id: row for row in session.execute(select(*HELD_COLUMNS).where(AnonymousHeld.id.in_(ids)))}
    return [
        _ToStore(
            row.survey_version_id,
            State.from_json(row.state),
            row.period,
            row.channel,
            row.wave_id,
            row.organisation_id,
            row.area_id,
        )
        for row in (rows[held] for held in ids)
    ]


# What a released response keeps besides its week: among held surveys alike in all of it, no one can be told apart.
ALIKE = (
    AnonymousHeld.survey_version_id,
    AnonymousHeld.wave_id,
    AnonymousHeld.organisation_id,
    AnonymousHeld.area_id,
    AnonymousHeld.channel,
    AnonymousHeld.language,
)
HELD_COLUMNS = (AnonymousHeld.id, AnonymousHeld.state, AnonymousHeld.period, *ALIKE)
DELETED_AT_ONCE = 1000
# Held surveys read and stored by one statement for each table. On PostgreSQL a write's Python runs on the event
# loop, and building the rows of 2,000 at once held every webhook up for 300-430 ms (bench/release.py).
STORED_AT_ONCE = 200
