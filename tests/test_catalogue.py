"""Importing surveys as versions: the same file is found again, a change is a new version, answered versions never change."""

from __future__ import annotations

from dataclasses import replace

import pytest

from storage.catalogue import import_survey, list_surveys, load_version
from storage.database import Database
from storage.errors import ImmutableVersion, UnknownVersion
from storage.models import SurveyVersion
from storage.responses import start_response
from surveys import builder
from surveys.document import to_yaml
from surveys.engine import start, step
from surveys.inputs import Reply
from surveys.scales import SCALES
from surveys.text import Text
from tests.conftest import NOW, held_for, survey_of

FIRST = survey_of("id: pulse\ntitle: Pulse\norganisation: ancoats\nquestions:\n  - {id: q, type: text, label: Q}\n")
SECOND = survey_of("id: pulse\ntitle: Pulse\norganisation: ancoats\nquestions:\n  - {id: q, type: text, label: Q2}\n")


async def test_importing_the_same_survey_twice_keeps_one_version(db: Database) -> None:
    first = await db.write(lambda s: import_survey(s, FIRST, NOW))
    again = await db.write(lambda s: import_survey(s, FIRST, NOW))
    assert (first.created, again.created) == (True, False)
    assert first.version_id == again.version_id and first.number == again.number == 1


async def test_a_changed_survey_becomes_the_next_version(db: Database) -> None:
    await db.write(lambda s: import_survey(s, FIRST, NOW))
    second = await db.write(lambda s: import_survey(s, SECOND, NOW))
    assert (second.created, second.number, second.version) == (True, 2, SECOND.version)
    async with db.read() as session:
        listed = await session.run_sync(list_surveys)
    assert [(v.number, v.version) for v in listed[0].versions] == [(1, FIRST.version), (2, SECOND.version)]


async def test_a_stored_version_loads_back_as_the_same_survey(db: Database) -> None:
    imported = await db.write(lambda s: import_survey(s, FIRST, NOW))
    async with db.read() as session:
        info, survey = await session.run_sync(load_version, imported.version_id)
    assert survey == FIRST and info.number == 1 and not info.anonymous


WORDED = survey_of(
    """
    id: worded
    title: Worded
    questions:
      - {id: consent, type: consent, label: "OK?", notice: We keep answers safe.}
      - {id: overall, type: likert, label: "Satisfied?", dont_know: true}
      - {id: tenant, type: yes_no, label: "Tenant?"}
      - {id: issue, type: select_one, label: "Issue?", other: true, choices: [{value: damp, label: Damp}]}
    """
)


async def test_a_stored_version_asks_its_own_words_after_chorus_mends_its_built_in_ones(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A release whose Polish reviewer mends "Other" or a scale's words must not change a version already
    being answered: its residents' states name its hash, and a different one would stop them mid-survey."""
    imported = await db.write(lambda s: import_survey(s, WORDED, NOW))
    mended = Text({"en": "Something else"})
    monkeypatch.setattr(builder, "OTHER", replace(builder.OTHER, label=mended))
    monkeypatch.setattr(builder, "OTHER_PROMPT", mended)
    monkeypatch.setattr(builder, "YES_NO", tuple(replace(c, label=mended) for c in builder.YES_NO))
    monkeypatch.setattr(builder, "CONSENT", tuple(replace(c, label=mended) for c in builder.CONSENT))
    monkeypatch.setattr(builder, "DONT_KNOW", replace(builder.DONT_KNOW, label=mended))
    monkeypatch.setitem(builder.SCALES, "satisfaction", tuple(replace(c, label=mended) for c in SCALES["satisfaction"]))
    assert survey_of(to_yaml(WORDED)).version != WORDED.version, "the words named, not written, did change"
    async with db.read() as session:
        _, survey = await session.run_sync(load_version, imported.version_id)
    assert survey == WORDED and survey.version == imported.version


async def test_listing_counts_responses_per_version(db: Database) -> None:
    imported = await db.write(lambda s: import_survey(s, FIRST, NOW))
    state, _ = start(FIRST)
    done, _ = step(FIRST, state, Reply("fine"))
    for number, current in enumerate((state, done)):
        await db.write(
            lambda s, n=number, st=current: start_response(
                s, version_id=imported.version_id, participant_key=f"p{n}", channel="web", state=st, now=NOW
            )
        )
    async with db.read() as session:
        listed = await session.run_sync(list_surveys)
    assert (listed[0].versions[0].responses, listed[0].versions[0].completed) == (2, 1)


async def test_listing_counts_anonymous_surveys_held_until_their_week_ends(db: Database) -> None:
    """An officer running a staff pulse sees it being answered before its week is released."""
    pulse = survey_of(
        "id: pulse\ntitle: Pulse\naudience: staff\nquestions:\n  - {id: mood, type: rating, label: Mood}\n"
    )
    version_id = (await db.write(lambda s: import_survey(s, pulse, NOW))).version_id
    state, _ = step(pulse, start(pulse)[0], Reply("7"))

    await db.write(lambda s: held_for(s, "701", version_id, state))
    async with db.read() as session:
        [listing] = await session.run_sync(list_surveys)
    assert [(v.responses, v.completed, v.held) for v in listing.versions] == [(0, 0, 1)]


async def test_an_answered_version_cannot_be_changed(db: Database) -> None:
    imported = await db.write(lambda s: import_survey(s, FIRST, NOW))
    state, _ = start(FIRST)
    await db.write(
        lambda s: start_response(
            s, version_id=imported.version_id, participant_key="p", channel="web", state=state, now=NOW
        )
    )

    def tamper(session: object) -> None:
        row = session.get(SurveyVersion, imported.version_id)  # type: ignore[attr-defined]
        row.document = {"id": "pulse", "questions": []}
        session.flush()  # type: ignore[attr-defined]

    with pytest.raises(ImmutableVersion, match="already has answers"):
        await db.write(tamper)
    async with db.read() as session:
        row = await session.get(SurveyVersion, imported.version_id)
        assert row is not None and row.document["items"][0]["label"] == {"en": "Q"}


async def test_an_unknown_version_is_refused(db: Database) -> None:
    state, _ = start(FIRST)
    with pytest.raises(UnknownVersion, match="survey version 999 does not exist"):
        await db.write(
            lambda s: start_response(s, version_id=999, participant_key="p", channel="web", state=state, now=NOW)
        )
