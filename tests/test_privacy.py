"""Erasure and subject access export, as a resident or member of staff relies on them (retention: test_retention.py)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from storage.catalogue import import_survey
from storage.contacts import change_contact, get_or_create_contact, record_consent
from storage.database import Database
from storage.errors import NotFound
from storage.keys import participant_key
from storage.models import Answer, Area, AuditEntry, Base, Invitation, Organisation, Response, Service, Wave
from storage.organisations import add_place, name_organisation
from storage.outbox import Settlement, claim, enqueue, outbox_row, settle
from storage.privacy import export, forget
from storage.responses import release_held, start_response
from surveys.engine import start, step
from surveys.inputs import Pick, Reply
from tests.conftest import NOW, SECRET, held_for, released_anonymously, survey_of

RESIDENTS = survey_of(
    "id: residents\ntitle: Residents\nquestions:\n  - {id: sat, type: likert, label: Sat}\n  - {id: why, type: text, label: Why}\n"
)
KEPT = survey_of(
    "id: kept\ntitle: Kept\non_erasure: anonymise\nquestions:\n  - {id: sat, type: likert, label: Sat}\n  - {id: why, type: text, label: Why}\n"
)
STAFF = survey_of("id: staff\ntitle: Staff\naudience: staff\nquestions:\n  - {id: mood, type: rating, label: Mood}\n")
NAME, ADDRESS = "Asha Khan", "900100200"
COMMENT = f"Fine, but {NAME} at flat 3 waited a month"  # kept with the choice that followed it


def answered(survey: Any, *replies: str) -> Any:
    state, _ = start(survey)
    for reply in replies:
        state, _ = step(survey, state, Reply(reply))
    return state


async def populate(db: Database) -> dict[str, Any]:
    """A resident who answered a named and a keep-anonymised survey, consented, was invited and messaged,
    and who also answered an anonymous staff survey."""

    def work(session: Any) -> dict[str, Any]:
        ids = {s.id: (import_survey(session, s, NOW)).version_id for s in (RESIDENTS, KEPT, STAFF)}
        contact = get_or_create_contact(session, channel="telegram", address=ADDRESS, display_name=NAME, now=NOW)
        other = get_or_create_contact(session, channel="telegram", address="123", display_name="Other", now=NOW)
        key = participant_key(SECRET, contact.id)
        record_consent(
            session,
            contact_id=contact.id,
            version_id=ids["residents"],
            question_id="consent",
            language="en",
            notice="We keep your answers for two years.",
            decision="agree",
            now=NOW,
        )
        for slug, survey in (("residents", RESIDENTS), ("kept", KEPT)):
            state = answered(survey, COMMENT, "very satisfied", f"I am {NAME}, call me on 07700 900123")
            start_response(session, version_id=ids[slug], participant_key=key, channel="telegram", state=state, now=NOW)
        other_state = answered(RESIDENTS, "fairly dissatisfied", "Lifts broken")
        start_response(
            session,
            version_id=ids["residents"],
            participant_key=participant_key(SECRET, other.id),
            channel="telegram",
            state=other_state,
            now=NOW,
        )
        wave = Wave(survey_version_id=ids["staff"], name="Pulse", audience={}, opened_at=NOW)
        session.add(wave)
        session.flush()
        invitation = Invitation(wave_id=wave.id, contact_id=contact.id, token="secret-token")
        session.add(invitation)
        session.flush()
        anonymous = released_anonymously(
            session,
            contact_id=contact.id,
            version_id=ids["staff"],
            channel="telegram",
            state=answered(STAFF, "3"),
            now=NOW,
            invitation_id=invitation.id,
        )
        enqueue(
            session,
            outbox_row(
                channel="telegram", address=ADDRESS, payload={"text": f"Hello {NAME}"}, dedupe_key="m1", now=NOW
            ),
        )
        return {
            "contact": contact.id,
            "other": other.id,
            "anonymous": anonymous,
            "invitation": invitation.id,
            "key": key,
        }

    return await db.write(work)


async def dump(db: Database) -> str:
    """Every row of every table as text, to search for anything left behind."""
    async with db.read() as session:
        rows = []
        for table in Base.metadata.sorted_tables:
            result = await session.execute(text(f'SELECT * FROM "{table.name}"'))
            rows += [json.dumps([str(v) for v in row]) for row in result]
    return "\n".join(rows)


async def test_forget_leaves_nothing_that_identifies_the_contact(db: Database) -> None:
    made = await populate(db)
    before = await dump(db)
    assert ADDRESS in before and NAME in before and made["key"] in before

    result = await db.write(lambda s: forget(s, made["contact"], secret_key=SECRET, now=NOW, actor="test"))

    after = await dump(db)
    for trace in (ADDRESS, NAME, made["key"], "secret-token", "07700 900123", "two years"):
        assert trace not in after, trace
    assert (
        result.responses_deleted,
        result.responses_anonymised,
        result.invitations_unlinked,
        result.messages_deleted,
    ) == (1, 1, 1, 1)
    async with db.read() as session:
        kept = (await session.scalars(select(Response).where(Response.participant_key.is_(None)))).all()
        anonymous = await session.get(Response, made["anonymous"])
        other = await session.scalar(
            select(Response).where(Response.participant_key == participant_key(SECRET, made["other"]))
        )
        audit = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "contact.forget"))).one()
        invitation = await session.get(Invitation, made["invitation"])
    assert anonymous is not None, "anonymous staff answers stay"
    assert len(kept) == 2, "the keep-anonymised response and the anonymous one remain, unlinked"
    async with db.read() as session:
        left = (await session.execute(select(Answer.question_id, Answer.value, Answer.text))).all()
    assert ("sat", "very_satisfied", None) in left, "a choice stays when the comment beside it is scrubbed away"
    assert other is not None, "other people's answers are untouched"
    assert invitation is not None and invitation.contact_id is None and invitation.completed_at is not None
    assert audit.subject == f"contact {made['contact']}" and audit.detail["responses_deleted"] == 1


async def test_a_staff_survey_not_yet_released_is_theirs_to_see_and_to_erase(
    db: Database,
) -> None:
    """Until it is released a finished anonymous survey is held with the person (storage.models.AnonymousHeld):
    /mydata shows it, and /forget takes it with them, so nothing of it is released."""
    contact_id = await db.write(
        lambda s: held_for(s, ADDRESS, import_survey(s, STAFF, NOW).version_id, answered(STAFF, "3"))
    )
    data = await db.write(lambda s: export(s, contact_id, secret_key=SECRET, now=NOW, actor="test"))
    [held] = data["anonymous_surveys_not_yet_released"]
    assert (held["period"], held["state"]["answers"]) == ("2026-W48", {"mood": 3})
    await db.write(lambda s: forget(s, contact_id, secret_key=SECRET, now=NOW, actor="test"))
    assert await db.write(lambda s: release_held(s, NOW + timedelta(weeks=1), enough=1)) == []


async def test_forgetting_twice_says_there_is_no_such_contact(db: Database) -> None:
    made = await populate(db)
    await db.write(lambda s: forget(s, made["contact"], secret_key=SECRET, now=NOW, actor="test"))
    with pytest.raises(NotFound, match=f"no contact {made['contact']}"):
        await db.write(lambda s: forget(s, made["contact"], secret_key=SECRET, now=NOW, actor="test"))


async def test_export_holds_everything_about_the_contact_and_nothing_else(db: Database) -> None:
    made = await populate(db)
    data = await db.write(lambda s: export(s, made["contact"], secret_key=SECRET, now=NOW, actor="test"))
    assert data["contact"]["address"] == ADDRESS and data["contact"]["display_name"] == NAME
    assert data["consents"][0]["notice"] == "We keep your answers for two years."
    assert sorted(r["survey"] for r in data["responses"]) == ["kept", "residents"]
    said = f"I am {NAME}, call me on 07700 900123"
    assert data["responses"][0]["answers"] == [
        {
            "question_id": "sat",
            "question": "Sat",
            "answer": "Very satisfied",
            "value": "very_satisfied",
            "comment": COMMENT,
        },
        {"question_id": "why", "question": "Why", "answer": said, "value": said},
    ], "each answer as the person saw it, in the survey's order, with the comment written at it"
    assert data["messages"][0]["payload"] == {"text": f"Hello {NAME}"}
    assert data["messages"][0]["kind"] == "reply"
    assert "anonymous" in data["note"]
    assert "Lifts broken" not in json.dumps(data), "another person's answers are not exported"
    json.dumps(data)


async def test_export_lists_a_sent_message_without_the_words_no_longer_held(db: Database) -> None:
    made = await populate(db)

    def sent(session: Any) -> None:
        settle(session, NOW, Settlement(sent=[message.id for message in claim(session, NOW, 10)]))

    await db.write(sent)
    data = await db.write(lambda s: export(s, made["contact"], secret_key=SECRET, now=NOW, actor="test"))
    assert data["messages"] == [
        {"kind": "reply", "status": "sent", "created_at": NOW.isoformat(), "sent_at": NOW.isoformat()}
    ], "no empty payload that reads as something withheld"
    assert "only when it was sent is kept" in data["note"]


async def test_export_holds_a_comment_written_at_a_question_not_yet_answered(db: Database) -> None:
    made = await populate(db)
    pending = "The lift has been broken for weeks"

    def begin_again(session: Any) -> None:
        version_id = (import_survey(session, RESIDENTS, NOW)).version_id
        state = answered(RESIDENTS, pending)
        later = NOW + timedelta(hours=1)
        start_response(
            session, version_id=version_id, participant_key=made["key"], channel="telegram", state=state, now=later
        )

    await db.write(begin_again)
    data = await db.write(lambda s: export(s, made["contact"], secret_key=SECRET, now=NOW, actor="test"))
    [in_progress] = [r for r in data["responses"] if r["status"] == "answering"]
    assert in_progress["answers"] == [
        {"question_id": "sat", "question": "Sat", "answer": None, "value": None, "comment": pending, "unanswered": True}
    ]


async def test_export_names_where_they_live_the_service_they_use_and_whom_they_work_for(db: Database) -> None:
    """A leaflet's link recorded an area and a service with them and their answers; a join code, an employer."""

    def recorded(session: Any) -> tuple[int, int]:
        version_id = (import_survey(session, RESIDENTS, NOW)).version_id
        name_organisation(session, "ancoats-housing", "Ancoats Housing Co-operative", NOW)
        add_place(session, "area", "ancoats-housing", "ancoats", "Ancoats", NOW)
        add_place(session, "service", "ancoats-housing", "repairs", "Repairs desk", NOW)
        owner = session.scalar(select(Organisation.id).where(Organisation.slug == "ancoats-housing"))
        places = {
            "area_id": session.scalar(select(Area.id).where(Area.slug == "ancoats")),
            "service_id": session.scalar(select(Service.id).where(Service.slug == "repairs")),
        }
        resident = get_or_create_contact(session, channel="telegram", address=ADDRESS, now=NOW)
        change_contact(session, resident, **places)
        start_response(
            session,
            version_id=version_id,
            participant_key=participant_key(SECRET, resident.id),
            channel="telegram",
            state=answered(RESIDENTS, "very satisfied"),
            now=NOW,
            **places,
        )
        colleague = get_or_create_contact(session, channel="telegram", address="555", now=NOW)
        change_contact(session, colleague, role="staff", organisation_id=owner)
        return resident.id, colleague.id

    resident, colleague = await db.write(recorded)
    data = await db.write(lambda s: export(s, resident, secret_key=SECRET, now=NOW, actor="test"))
    places = {"organisation": None, "area": "Ancoats", "service": "Repairs desk"}
    assert {name: data["contact"][name] for name in places} == places
    assert {name: data["responses"][0][name] for name in places} == places, "as recorded with their answers"
    staff = await db.write(lambda s: export(s, colleague, secret_key=SECRET, now=NOW, actor="test"))
    assert staff["contact"]["organisation"] == "Ancoats Housing Co-operative"
    assert (staff["contact"]["area"], staff["contact"]["service"]) == (None, None)


PRIORITIES = survey_of(
    """
    id: priorities
    title: Priorities
    questions:
      - id: matters
        type: select_multiple
        other: true
        label: What matters most?
        choices: [{value: parks, label: Parks}, {value: bins, label: Bins}]
      - {id: why, type: text, label: "Why?"}
    """
)


async def test_words_typed_for_other_come_with_the_choice_as_the_chat_read_them_back(db: Database) -> None:
    def answered_other(session: Any) -> int:
        version_id = (import_survey(session, PRIORITIES, NOW)).version_id
        contact = get_or_create_contact(session, channel="telegram", address=ADDRESS, now=NOW)
        state, _ = start(PRIORITIES)
        for given in (Pick(("parks", "other")), Reply("Dog fouling"), Reply("Kids")):
            state, _ = step(PRIORITIES, state, given)
        start_response(
            session,
            version_id=version_id,
            participant_key=participant_key(SECRET, contact.id),
            channel="telegram",
            state=state,
            now=NOW,
        )
        return contact.id

    contact_id = await db.write(answered_other)
    data = await db.write(lambda s: export(s, contact_id, secret_key=SECRET, now=NOW, actor="test"))
    assert data["responses"][0]["answers"] == [
        {
            "question_id": "matters",
            "question": "What matters most?",
            "answer": "Parks, Other: Dog fouling",
            "value": ["parks", "other"],
            "other": "Dog fouling",
        },
        {"question_id": "why", "question": "Why?", "answer": "Kids", "value": "Kids"},
    ], "not a separate answer to 'Please type your answer', which means nothing alone"
