"""Storing responses: answers checked against their version, nothing partial, anonymous answers keyless."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from bot import anonymous_release, participation
from bot.config import load_settings
from bot.runtime import Runtime
from bot.service import start_jobs
from storage import json_codec
from storage.catalogue import import_survey
from storage.contacts import get_or_create_contact
from storage.database import Database
from storage.errors import DuplicateAnswer, NotFound, StorageError, UnknownQuestion
from storage.models import AnonymousDraft, AnonymousHeld, Answer, AnswerTally, Invitation, Response, Wave
from storage.responses import (
    STORED_AT_ONCE,
    apply_state,
    find_draft,
    find_response,
    record_answer,
    release_held,
    save_draft,
    start_response,
    week_of,
)
from surveys.engine import start, step
from surveys.inputs import Back, Pick, Reply
from surveys.state import State, Status
from tests.conftest import NOW, SECRET, held_for, in_pages, on_disk, released_anonymously, survey_of
from tests.test_outreach import Clock

NAMED = survey_of(
    """
    id: named
    title: Named
    questions:
      - {id: q1, type: yes_no, label: One}
      - {id: note, type: note, label: A note}
      - {id: q2, type: select_multiple, label: Two, choices: [{value: a, label: A}, {value: b, label: B}]}
      - {id: q3, type: text, label: Three}
    """
)
STAFF = survey_of(
    "id: staff\ntitle: Staff\naudience: staff\nquestions:\n  - {id: mood, type: rating, label: Mood}\n  - {id: say, type: text, label: Say}\n"
)
PULSE_DONE = step(STAFF, step(STAFF, start(STAFF)[0], Reply("4"))[0], Reply("Fine"))[0]


async def named_response(db: Database) -> tuple[int, str]:
    version_id = (await db.write(lambda s: import_survey(s, NAMED, NOW))).version_id
    state, _ = start(NAMED)
    response_id = await db.write(
        lambda s: start_response(
            s, version_id=version_id, participant_key="key", channel="telegram", state=state, now=NOW
        )
    )
    return version_id, response_id


async def answers_of(db: Database, response_id: str) -> dict[str, Any]:
    async with db.read() as session:
        rows = await session.execute(select(Answer.question_id, Answer.value).where(Answer.response_id == response_id))
        return {question_id: value for question_id, value in rows}


async def test_answers_are_stored_as_given(db: Database) -> None:
    _, response_id = await named_response(db)
    await db.write(lambda s: record_answer(s, response_id, "q1", "yes"))
    await db.write(lambda s: record_answer(s, response_id, "q2", ("a", "b")))
    assert await answers_of(db, response_id) == {"q1": "yes", "q2": ["a", "b"]}


@pytest.mark.parametrize(
    ("question_id", "error", "message"),
    [
        ("nope", UnknownQuestion, "survey named version 1 has no question 'nope' to answer"),
        ("note", UnknownQuestion, "has no question 'note' to answer"),
        ("q1", DuplicateAnswer, "already has an answer"),
    ],
)
async def test_bad_answers_are_refused_and_nothing_partial_is_written(
    db: Database, question_id: str, error: type[Exception], message: str
) -> None:
    _, response_id = await named_response(db)
    await db.write(lambda s: record_answer(s, response_id, "q1", "yes"))

    def two_answers(session: Any) -> None:
        record_answer(session, response_id, "q3", "written first, then rolled back")
        record_answer(session, response_id, question_id, "no")

    with pytest.raises(error, match=message):
        await db.write(two_answers)
    assert await answers_of(db, response_id) == {"q1": "yes"}


async def test_an_answer_to_an_unknown_response_is_refused(db: Database) -> None:
    with pytest.raises(NotFound, match="no response nothere"):
        await db.write(lambda s: record_answer(s, "nothere", "q1", "yes"))


async def test_the_engine_state_is_kept_and_back_removes_the_answer(db: Database) -> None:
    version_id, response_id = await named_response(db)
    state, _ = start(NAMED)
    state, _ = step(NAMED, state, Pick(("yes",)))
    state, _ = step(NAMED, state, Pick(("a",)))
    await db.write(lambda s: apply_state(s, response_id, state, NOW))
    assert await answers_of(db, response_id) == {"q1": "yes", "q2": ["a"]}
    state, _ = step(NAMED, state, Back())
    await db.write(lambda s: apply_state(s, response_id, state, NOW))
    assert await answers_of(db, response_id) == {"q1": "yes"}
    state, _ = step(NAMED, state, Pick(("b",)))
    state, _ = step(NAMED, state, Reply("All good"))
    await db.write(lambda s: apply_state(s, response_id, state, NOW))
    async with db.read() as session:
        response = await session.run_sync(find_response, "key", version_id)
        assert response is not None and response.status == Status.COMPLETED.value
        assert response.state == state.to_json() and response.completed_at == NOW
        text = await session.scalar(select(Answer.text).where(Answer.question_id == "q3"))
    assert text == "All good"


async def written(db: Database, response_id: str) -> list[tuple[str, Any, str | None]]:
    async with db.read() as session:
        rows = await session.execute(
            select(Answer.question_id, Answer.value, Answer.text).where(Answer.response_id == response_id)
        )
        return sorted(tuple(row) for row in rows)


async def test_a_comment_is_stored_with_the_choice_it_came_with_whatever_it_becomes(db: Database) -> None:
    _, response_id = await named_response(db)
    comment = "We had no heating all week"
    state, _ = start(NAMED)
    steps = [
        (Reply(comment), []),
        (Pick(("yes",)), [("q1", "yes", comment)]),
        (Back(), []),
        (Pick(("no",)), [("q1", "no", comment)]),
    ]
    for given, expected in steps:
        state, _ = step(NAMED, state, given)
        await db.write(lambda s, state=state: apply_state(s, response_id, state, NOW))
        assert await written(db, response_id) == expected, given


async def test_an_anonymous_comment_is_released_with_its_answer_and_no_key(db: Database) -> None:
    version_id = (await db.write(lambda s: import_survey(s, STAFF, NOW))).version_id
    contact_id = await db.write(
        lambda s: get_or_create_contact(s, channel="telegram", address="556", now=NOW, role="staff").id
    )
    state, _ = start(STAFF)
    for typed in ("It depends on the shift", "6", "More breaks please"):
        state, _ = step(STAFF, state, Reply(typed))
    response_id = await db.write(
        lambda s: released_anonymously(
            s, contact_id=contact_id, version_id=version_id, channel="telegram", state=state, now=NOW
        )
    )
    assert await written(db, response_id) == [
        ("mood", 6, "It depends on the shift"),
        ("say", "More breaks please", "More breaks please"),
    ]


async def test_an_anonymous_survey_keeps_no_key_no_state_and_no_times(db: Database) -> None:
    version_id = (await db.write(lambda s: import_survey(s, STAFF, NOW))).version_id

    def setup(session: Any) -> tuple[int, int]:
        contact = get_or_create_contact(session, channel="telegram", address="555", now=NOW, role="staff")
        wave = Wave(survey_version_id=version_id, name="Q4", audience={}, opened_at=NOW)
        session.add(wave)
        session.flush()
        invitation = Invitation(wave_id=wave.id, contact_id=contact.id, token="tok")
        session.add(invitation)
        session.flush()
        return contact.id, invitation.id

    contact_id, invitation_id = await db.write(setup)
    state, _ = start(STAFF)
    with pytest.raises(StorageError, match="never under a key"):
        await db.write(
            lambda s: start_response(
                s, version_id=version_id, participant_key="k", channel="telegram", state=state, now=NOW
            )
        )
    state, _ = step(STAFF, state, Reply("7"))
    await db.write(
        lambda s: save_draft(s, contact_id=contact_id, version_id=version_id, channel="telegram", state=state, now=NOW)
    )
    async with db.read() as session:
        draft = await session.run_sync(find_draft, contact_id, version_id)
        assert State.from_json(draft.state) == state
    state, _ = step(STAFF, state, Reply("More breaks please"))
    response_id = await db.write(
        lambda s: released_anonymously(
            s,
            contact_id=contact_id,
            version_id=version_id,
            channel="telegram",
            state=state,
            now=NOW,
            invitation_id=invitation_id,
        )
    )
    async with db.read() as session:
        response = await session.get(Response, response_id)
        drafts = await session.scalar(select(func.count()).select_from(AnonymousDraft))
        invitation = await session.get(Invitation, invitation_id)
    assert response is not None
    assert (response.participant_key, response.state, response.started_at, response.completed_at) == (
        None,
        None,
        None,
        None,
    )
    assert response.period == week_of(NOW) == "2026-W48"
    assert await answers_of(db, response_id) == {"mood": 7, "say": "More breaks please"}
    assert drafts == 0
    assert invitation is not None and invitation.completed_at is not None
    assert (invitation.completed_at.hour, invitation.completed_at.minute) == (0, 0)


async def test_finished_anonymous_surveys_are_released_together_once_their_week_has_ended(db: Database) -> None:
    """Released as each finished, a staff member's keyless answers were written by the transaction that marked
    their invitation done; PostgreSQL stamps rows with the transaction that wrote them (xmin), and one query joined
    each member of staff to their answers. Held to the week's end, they go in one transaction of their own."""
    version_id = (await db.write(lambda s: import_survey(s, STAFF, NOW))).version_id
    staff = {"701": "3", "702": "9", "703": "5"}

    def invite(session: Any) -> None:
        wave = Wave(survey_version_id=version_id, name="Q4", audience={}, opened_at=NOW)
        session.add(wave)
        session.flush()
        for address in staff:
            person = get_or_create_contact(session, channel="telegram", address=address, now=NOW, role="staff")
            session.add(Invitation(wave_id=wave.id, contact_id=person.id, token=f"token-{address}"))

    await db.write(invite)
    for address, mood in staff.items():
        await db.write(lambda s, address=address, mood=mood: finish_pulse(s, address, version_id, mood))
    assert await keyless(db) == [], "nothing is released while its week lasts"
    assert await db.write(lambda s: release_held(s, NOW + timedelta(days=1), enough=4)) == []
    released = await db.write(lambda s: release_held(s, NOW + timedelta(weeks=1), enough=4))
    assert sorted(released) == sorted(await keyless(db)) and len(released) == 3
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(AnonymousHeld)) == 0
        periods = set(await session.scalars(select(Response.period)))
        moods = sorted(await session.scalars(select(Answer.value).where(Answer.question_id == "mood")))
        if db.url.startswith("postgresql"):
            stamps = {
                table: set(await session.scalars(text(f"SELECT xmin::text FROM {table}")))
                for table in ("response", "answer", "answer_tally", "contact", "invitation", "consent")
            }
            released = stamps["response"] | stamps["answer"] | stamps["answer_tally"]
            personal = stamps["contact"] | stamps["invitation"] | stamps["consent"]
            assert (len(released), released & personal) == (1, set()), "one transaction, and it touched no one"
    assert periods == {week_of(NOW)}
    assert moods == [3, 5, 9]


async def test_a_release_of_hundreds_stores_each_with_its_answers_and_tallies_in_one_transaction(
    db: Database,
) -> None:
    """Stored a few hundred at a time (STORED_AT_ONCE), after an outage or a week of many small groups."""
    version_id = (await db.write(lambda s: import_survey(s, STAFF, NOW))).version_id
    count = 2 * STORED_AT_ONCE + 50
    moods = [n % 10 + 1 for n in range(count)]
    finished = [
        step(STAFF, step(STAFF, start(STAFF)[0], Reply(str(m)))[0], Reply(f"Said {n}"))[0] for n, m in enumerate(moods)
    ]
    await db.write(lambda s: [held_for(s, str(9000 + n), version_id, state) for n, state in enumerate(finished)])
    released = await db.write(lambda s: release_held(s, NOW + timedelta(weeks=1), enough=10))
    assert len(set(released)) == count and sorted(released) == sorted(await keyless(db))
    async with db.read() as session:
        rows = (await session.execute(select(Answer.question_id, Answer.value, Answer.text))).all()
        tallies = dict((await session.execute(select(AnswerTally.value, AnswerTally.count))).all())
        if not db.is_sqlite:
            assert len(set(await session.scalars(text("SELECT xmin::text FROM response")))) == 1
    assert sorted(value for question, value, _ in rows if question == "mood") == sorted(moods)
    assert sorted(text for question, _, text in rows if question == "say") == sorted(f"Said {n}" for n in range(count))
    assert tallies == {str(mood): moods.count(mood) for mood in set(moods)}


def finish_pulse(session: Any, address: str, version_id: int, mood: str) -> None:
    """A member of staff, invited, answers the pulse through to the end, as a Telegram turn would."""
    contact = get_or_create_contact(session, channel="telegram", address=address, now=NOW)
    place, _ = participation.begin(session, SECRET, contact, version_id, "telegram", NOW)
    for reply in (mood, "Fine"):
        participation.advance(session, SECRET, place, Reply(reply), "telegram", NOW)


async def keyless(db: Database) -> list[str]:
    async with db.read() as session:
        return list(await session.scalars(select(Response.id).where(Response.participant_key.is_(None))))


async def test_the_leader_releases_a_held_survey_within_a_minute_of_its_week_ending(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHORUS_SECRET_KEY", SECRET)
    clock = Clock(NOW)
    runtime = Runtime(load_settings(None), db, clock=clock)
    version_id = (await db.write(lambda s: import_survey(s, STAFF, NOW))).version_id

    await db.write(lambda s: held_for(s, "705", version_id, PULSE_DONE))
    scheduler = start_jobs(runtime, lambda: None)
    try:
        job = scheduler.get_job("anonymous-release")
        assert job is not None and job.trigger.interval == timedelta(minutes=1)
        assert await job.func(*job.args) == 0, "the week of 28 November has not ended"
        clock.now = datetime(2026, 11, 30, 0, 0, 30, tzinfo=UTC)
        assert await job.func(*job.args) == 1
    finally:
        scheduler.shutdown(wait=False)
    assert len(await keyless(db)) == 1


async def test_a_release_leaves_nothing_of_whose_answers_they_were_in_the_database_files(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A held survey names its person; once released, its deleted row must not stay readable in SQLite's
    write-ahead log, nor in the free space of PostgreSQL's pages, or a copy of the files (or a superuser's
    page-reading tools) would join staff to their answers after all."""
    monkeypatch.setenv("CHORUS_SECRET_KEY", SECRET)
    runtime = Runtime(load_settings(None), db, clock=Clock(NOW + timedelta(weeks=1)))
    version_id = (await db.write(lambda s: import_survey(s, STAFF, NOW))).version_id
    said = "Zebedee keeps the lights on"
    finished = step(STAFF, step(STAFF, start(STAFF)[0], Reply("4"))[0], Reply(said))[0]
    await db.write(lambda s: held_for(s, "706", version_id, finished))
    if db.is_sqlite:
        held = json_codec.dumps({"say": said})[1:-1].encode()  # as the held survey's state has it, beside whose it is
        assert held in on_disk(db.url)
    else:
        assert said.encode() in await in_pages(db, "anonymous_held")

    assert await anonymous_release.release(runtime) == 1
    if db.is_sqlite:
        left = on_disk(db.url)
        assert held not in left and said.encode() in left, "released with no key, and the held row gone from disk"
    else:
        assert said.encode() not in await in_pages(db, "anonymous_held"), "the held row gone from the pages"
        assert len(await keyless(db)) == 1


async def test_two_releases_at_once_store_each_held_survey_once(db: Database) -> None:
    """The minute's release and the weekly summary's can run together, and on PostgreSQL, in two transactions
    at once, each read the same held surveys: both stored them."""
    version_id = (await db.write(lambda s: import_survey(s, STAFF, NOW))).version_id
    await db.write(lambda s: [held_for(s, f"71{n:02d}", version_id, PULSE_DONE) for n in range(20)])
    other = Database.open(db.url, schema=db.schema)
    try:
        later = NOW + timedelta(weeks=1)
        released = await asyncio.gather(*(d.write(lambda s: release_held(s, later, enough=100)) for d in (db, other)))
    finally:
        await other.close()
    assert sorted(len(ids) for ids in released) == [0, 20]
    assert len(await keyless(db)) == 20


async def test_a_survey_with_enough_held_is_released_before_its_week_ends(db: Database) -> None:
    """Enough is the smallest group a summary shows: among that many, no one can be told apart, and the
    answers stay linked to their person for less time than a week."""
    version_id = (await db.write(lambda s: import_survey(s, STAFF, NOW))).version_id

    def hold(addresses: range, channel: str = "telegram") -> Callable[[Any], list[int]]:
        return lambda s: [held_for(s, str(n), version_id, PULSE_DONE, channel) for n in addresses]

    await db.write(hold(range(720, 722)))
    assert await db.write(lambda s: release_held(s, NOW, enough=3)) == [], "two are not enough"
    await db.write(hold(range(722, 723)))
    assert len(await db.write(lambda s: release_held(s, NOW, enough=3))) == 3
    await db.write(hold(range(723, 725)))
    await db.write(hold(range(725, 726), channel="web"))
    assert await db.write(lambda s: release_held(s, NOW, enough=3)) == [], (
        "three more, but the one who answered on the web would be told apart by it"
    )
    assert len(await keyless(db)) == 3
    assert len(await db.write(lambda s: release_held(s, NOW + timedelta(weeks=1), enough=3))) == 3, "the week ends"
