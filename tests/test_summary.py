"""The weekly summary: real numbers for big enough groups, nothing that reveals a small one, redacted quotes."""

from __future__ import annotations

import asyncio
import json
import math
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from analysis.summary import summarise
from bot import analysis_worker
from bot.cli import cli
from bot.config import load_settings
from bot.runtime import Runtime
from storage.catalogue import import_survey
from storage.contacts import get_or_create_contact
from storage.database import Database
from storage.migrate import upgrade
from storage.models import Area, Invitation, Organisation, Service, SurveyVersion, Wave
from storage.organisations import add_place, name_organisation
from storage.responses import start_response
from storage.summary_queries import ChoiceCounts, SurveyPeriod, TextResult, gather, weeks
from surveys.engine import start, step
from surveys.inputs import Pick, Reply
from surveys.loader import load_survey
from surveys.templates import TEMPLATES
from tests.conftest import NOW, SECRET

SAT = ["very_satisfied", "fairly_satisfied", "neither", "fairly_dissatisfied", "very_dissatisfied"]


def period(
    responses: int, counts: dict[str, int], texts: list[TextResult] | None = None, slug: str = "pulse"
) -> SurveyPeriod:
    question = ChoiceCounts("overall", "Overall?", "likert", counts, {v: v.replace("_", " ") for v in SAT})
    return SurveyPeriod(
        slug, "Pulse", responses, [question], texts or [], {"area": {"ancoats": responses - 3, "hulme": 3}}
    )


def test_a_survey_with_fewer_responses_than_the_minimum_shows_nothing() -> None:
    summary = summarise("2026-11-23", "2026-11-29", [period(9, {"very_satisfied": 9})], [], minimum=10)
    [survey] = summary.surveys
    assert survey.suppressed and survey.responses is None and survey.questions == () and survey.themes == ()


def test_small_cells_and_their_complements_are_hidden() -> None:
    counts = {
        "very_satisfied": 30,
        "fairly_satisfied": 12,
        "neither": 4,
        "fairly_dissatisfied": 0,
        "very_dissatisfied": 8,
    }
    summary = summarise("2026-11-23", "2026-11-29", [period(54, counts)], [], minimum=10)
    [question] = summary.surveys[0].questions
    cells = question.distribution.cells
    assert cells["very satisfied"] == 30 and cells["fairly satisfied"] == 12
    assert cells["neither"] is None and cells["very dissatisfied"] is None, (
        "4 hidden, and 8 with it so 4 cannot be derived"
    )
    assert question.distribution.total == 54
    assert question.satisfied is not None and question.satisfied.percent == pytest.approx(100 * 42 / 54)
    area = summary.surveys[0].breakdowns["area"]
    assert area.cells == {"ancoats": None, "hulme": None} or area.total is None


def test_week_on_week_change_and_its_significance() -> None:
    before = period(100, {"very_satisfied": 30, "fairly_satisfied": 20, "neither": 50})
    after = period(100, {"very_satisfied": 60, "fairly_satisfied": 20, "neither": 20})
    [question] = summarise("w2", "w2", [after], [before], minimum=10).surveys[0].questions
    assert question.change is not None and question.change.significant and question.change.points == pytest.approx(30)


def test_quotes_are_redacted_and_only_for_themes_with_enough_mentions() -> None:
    texts = [
        TextResult("why", f"My name is Sam Jones, flat {n} has damp", "negative", ("damp and mould",))
        for n in range(12)
    ]
    texts += [TextResult("why", "The bus is late", "negative", ("transport",)) for _ in range(3)]
    survey = summarise("a", "b", [period(20, {"very_satisfied": 20}, texts)], [], minimum=10).surveys[0]
    damp, transport = survey.themes
    assert (damp.theme, damp.mentions, damp.negative) == ("damp and mould", 12, 12)
    assert damp.quotes and all("Sam" not in quote and "[name]" in quote for quote in damp.quotes)
    assert (transport.mentions, transport.quotes) == (None, ())


def test_weeks_of_a_period() -> None:
    assert weeks(date(2026, 11, 23), date(2026, 11, 29)) == ["2026-W48"]
    assert weeks(date(2026, 12, 28), date(2027, 1, 4)) == ["2026-W53", "2027-W01"]


TSM = load_survey(TEMPLATES / "tsm.yaml")


def tenant(answers: list[str], why: str, comment: str = "") -> Any:
    state, _ = start(TSM)
    state, _ = step(TSM, state, Pick(("agree",)))
    if comment:
        state, _ = step(TSM, state, Reply(comment))
    for value in answers:
        state, _ = step(TSM, state, Pick((value,)))
    state, _ = step(TSM, state, Reply(why))
    return state


def tsm_answers(overall: str) -> list[str]:
    """TP01, no repair, TP04-TP07, TP08, no complaint, no communal areas, TP11, TP12."""
    return [overall, "no", *["fairly_satisfied"] * 4, "agree", "no", "no", "fairly_satisfied", "neither"]


async def populate_tsm(db: Database, tenants: int, comment: str = "", **places: int) -> None:
    """Tenants who answered the TSM survey, each recorded with `places` (area_id=..., say)."""
    version_id = (await db.write(lambda s: import_survey(s, TSM, NOW))).version_id
    for n in range(tenants):
        overall = "very_satisfied" if n % 3 else "fairly_dissatisfied"
        answers = tsm_answers(overall)
        why = "Thank you" if comment else f"My name is Pat Lee. The damp in flat {n} is still not fixed"
        state = tenant(answers, why, comment)
        assert state.status.value == "completed", state
        await db.write(
            lambda s, st=state, n=n: start_response(
                s, version_id=version_id, participant_key=f"t{n}", channel="telegram", state=st, now=NOW, **places
            )
        )


async def test_gathering_a_week_from_the_database(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    await populate_tsm(db, 12)
    monkeypatch.setenv("CHORUS_SECRET_KEY", SECRET)
    await analysis_worker.analyse_pending(Runtime(load_settings(None), db, clock=lambda: NOW))
    async with db.read() as session:
        [tsm] = await session.run_sync(gather, date(2026, 11, 23), date(2026, 11, 29), analysis_worker.model_version())
        assert (
            await session.run_sync(gather, date(2026, 11, 16), date(2026, 11, 22), analysis_worker.model_version())
            == []
        )
    assert tsm.slug == "tsm" and tsm.responses == 12
    overall = next(q for q in tsm.questions if q.question_id == "tp01_overall")
    assert overall.counts == {"very_satisfied": 8, "fairly_dissatisfied": 4}
    assert sum(t.count for t in tsm.texts) == 12 and all(
        t.sentiment == "negative" and "damp and mould" in t.themes for t in tsm.texts
    )
    quotes = [t.text for t in tsm.texts if t.text]
    assert 1 <= len(quotes) <= 3 * 2 and all(q.startswith("My name is Pat Lee. The damp in flat") for q in quotes)
    summary = summarise("2026-11-23", "2026-11-29", [tsm], [], minimum=10).surveys[0]
    assert summary.tenant_satisfaction["TP01"].percent == pytest.approx(100 * 8 / 12)
    assert "TP02" not in summary.tenant_satisfaction, "nobody had a repair: too few answers to show"
    assert math.isclose(summary.tenant_satisfaction["TP08"].percent, 100.0)


async def test_breakdowns_name_areas_services_and_organisations_as_officers_named_them(db: Database) -> None:
    def places(session: Any) -> dict[str, int]:
        name_organisation(session, "ancoats-housing", "Ancoats Housing Co-operative", NOW)
        add_place(session, "area", "ancoats-housing", "ancoats", "Ancoats and New Islington", NOW)
        add_place(session, "service", "ancoats-housing", "repairs", "Repairs desk", NOW)
        return {
            "organisation_id": session.scalar(select(Organisation.id)),
            "area_id": session.scalar(select(Area.id)),
            "service_id": session.scalar(select(Service.id)),
        }

    await populate_tsm(db, 10, **await db.write(places))
    await db.write(
        lambda s: start_response(
            s,
            version_id=s.scalar(select(SurveyVersion.id)),
            participant_key="no-link",
            channel="telegram",
            state=tenant(tsm_answers("very_satisfied"), "Fine"),
            now=NOW,
        )
    )
    async with db.read() as session:
        [tsm] = await session.run_sync(gather, date(2026, 11, 23), date(2026, 11, 29), "none")
    assert {name: dict(counts) for name, counts in tsm.breakdowns.items()} == {
        "channel": {"telegram": 11},
        "area": {"Ancoats and New Islington": 10, "not recorded": 1},
        "service": {"Repairs desk": 10, "not recorded": 1},
        "organisation": {"Ancoats Housing Co-operative": 10, "not recorded": 1},
    }


async def test_a_comment_is_quoted_with_the_question_and_the_answer_it_came_with(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await populate_tsm(db, 12, comment="The damp in the bathroom is still not fixed after months")
    monkeypatch.setenv("CHORUS_SECRET_KEY", SECRET)
    await analysis_worker.analyse_pending(Runtime(load_settings(None), db, clock=lambda: NOW))
    async with db.read() as session:
        [tsm] = await session.run_sync(gather, date(2026, 11, 23), date(2026, 11, 29), analysis_worker.model_version())
    summary = summarise("2026-11-23", "2026-11-29", [tsm], [], minimum=10).surveys[0]
    damp = next(theme for theme in summary.themes if theme.theme == "damp and mould")
    asked = "Taking everything into account, how satisfied or dissatisfied are you with the service provided by"
    assert damp.mentions == 12 and damp.quotes
    assert {quote.split(" (")[0] for quote in damp.quotes} == {
        "The damp in the bathroom is still not fixed after months"
    }
    assert all(
        quote.startswith(f"The damp in the bathroom is still not fixed after months ({asked}") for quote in damp.quotes
    )
    assert {quote.rsplit(": ", 1)[1] for quote in damp.quotes} <= {"Very satisfied)", "Fairly dissatisfied)"}, (
        damp.quotes
    )


def test_chorus_summary_prints_markdown_html_and_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 's.db'}"
    monkeypatch.setenv("CHORUS_SECRET_KEY", SECRET)
    monkeypatch.setenv("CHORUS_DATABASE_URL", url)

    async def setup() -> None:
        db = Database.open(url)
        await upgrade(db)
        await populate_tsm(db, 12)
        await analysis_worker.analyse_pending(Runtime(load_settings(None), db, clock=lambda: NOW))
        await db.close()

    asyncio.run(setup())
    runner = CliRunner()
    markdown = runner.invoke(cli, ["summary", "--from", "2026-11-23", "--to", "2026-11-29"])
    assert markdown.exit_code == 0, markdown.output
    assert "# What people said, 2026-11-23 to 2026-11-29" in markdown.output
    assert "| TP01 | 67% |" in markdown.output
    assert "Pat" not in markdown.output and "[name]" in markdown.output
    html = runner.invoke(cli, ["summary", "--from", "2026-11-23", "--to", "2026-11-29", "--format", "html"])
    assert html.output.startswith("<!doctype html>") and "<h1>" in html.output and "Pat" not in html.output
    as_json = runner.invoke(
        cli, ["summary", "--from", "2026-11-23", "--to", "2026-11-29", "--format", "json", "--survey", "tsm"]
    )
    assert json.loads(as_json.output)["surveys"][0]["responses"] == 12
    backwards = runner.invoke(cli, ["summary", "--from", "2026-11-29", "--to", "2026-11-23"])
    assert backwards.exit_code == 2


async def test_response_rates_per_wave(db: Database) -> None:
    await populate_tsm(db, 12)

    def waves(session: Any) -> None:
        version = session.scalar(select(SurveyVersion.id))
        for name, invited, completed in (("October", 30, 12), ("Small", 12, 3)):
            wave = Wave(survey_version_id=version, name=name, audience={}, opened_at=datetime(2026, 11, 1, tzinfo=UTC))
            session.add(wave)
            session.flush()
            for n in range(invited):
                contact = get_or_create_contact(session, channel="telegram", address=f"{name}{n}", now=NOW)
                session.add(
                    Invitation(
                        wave_id=wave.id, contact_id=contact.id, sent_at=NOW, completed_at=NOW if n < completed else None
                    )
                )

    await db.write(waves)
    async with db.read() as session:
        [tsm] = await session.run_sync(gather, date(2026, 11, 23), date(2026, 11, 29), analysis_worker.model_version())
    assert tsm.waves == {"October": (30, 12), "Small": (12, 3)}
    rates = summarise("a", "b", [tsm], [], minimum=10).surveys[0].response_rates
    assert rates["October"] is not None and rates["October"].percent == pytest.approx(40.0)
    assert rates["Small"] is None, "3 answered: a small group"
