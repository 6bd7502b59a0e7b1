"""Which version of a survey a link leads to, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot.participation import version_to_answer
from storage.catalogue import import_survey
from storage.contacts import get_or_create_contact
from storage.database import Database
from storage.keys import participant_key
from storage.models import Response, Wave
from storage.responses import save_draft, start_response
from surveys.engine import start
from tests.conftest import NOW, SECRET, survey_of

FIRST = "id: {slug}\ntitle: T\n{audience}questions:\n  - {{id: q, type: text, label: {label}}}\n"


def two_versions(session: Session, slug: str, audience: str = "") -> tuple[int, int]:
    old, new = (
        import_survey(session, survey_of(FIRST.format(slug=slug, audience=audience, label=label)), NOW).version_id
        for label in ("Q", "Q mended")
    )
    return old, new


async def test_a_link_leads_to_the_version_under_way_else_the_latest(db: Database) -> None:
    def work(session: Session) -> dict[str, Any]:
        old, new = two_versions(session, "homes")
        contact = get_or_create_contact(session, channel="telegram", address="1", now=NOW)
        before = version_to_answer(session, SECRET, contact, "homes")
        state, _ = start(survey_of(FIRST.format(slug="homes", audience="", label="Q")))
        key = participant_key(SECRET, contact.id)
        response = start_response(
            session, version_id=old, participant_key=key, channel="telegram", state=state, now=NOW
        )
        under_way = version_to_answer(session, SECRET, contact, "homes")
        wave = Wave(survey_version_id=old, name="closed", audience={}, opened_at=NOW, closed_at=NOW)
        session.add(wave)
        session.flush()
        session.execute(update(Response).where(Response.id == response).values(wave_id=wave.id))
        in_a_closed_wave = version_to_answer(session, SECRET, contact, "homes")
        return {"old": old, "new": new, "before": before, "under_way": under_way, "closed": in_a_closed_wave}

    found = await db.write(work)
    assert found["before"] == found["new"], "nothing under way: the latest"
    assert found["under_way"] == found["old"], "part-way through the old one: carry on there"
    assert found["closed"] == found["new"], "not in a wave that has closed"


async def test_an_anonymous_survey_under_way_is_found_by_its_draft(db: Database) -> None:
    def work(session: Session) -> tuple[int, int | None]:
        old, _ = two_versions(session, "pulse", audience="audience: staff\n")
        contact = get_or_create_contact(session, channel="telegram", address="2", now=NOW)
        state, _ = start(survey_of(FIRST.format(slug="pulse", audience="audience: staff\n", label="Q")))
        save_draft(session, contact_id=contact.id, version_id=old, channel="telegram", state=state, now=NOW)
        return old, version_to_answer(session, SECRET, contact, "pulse")

    old, found = await db.write(work)
    assert found == old
