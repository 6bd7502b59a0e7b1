"""The weekly summary with a fake clock, on each database: each subscriber gets each week once, small groups hidden."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot import analysis_worker, weekly_summary
from bot.cli import cli
from bot.config import load_settings
from bot.runtime import Runtime
from bot.weekly_summary import covered_week, send_weekly_summaries
from storage.catalogue import import_survey
from storage.chats import Lost, lost
from storage.contacts import change_contact, get_or_create_contact, opt_out
from storage.database import Database
from storage.models import Action, AuditEntry, Outbox, SurveyVersion
from storage.models import Survey as SurveyRow
from storage.outbox import enqueue, outbox_row
from storage.subscriptions import move_chat, subscribe, subscriptions, unsubscribe
from surveys.engine import start, step
from surveys.inputs import Reply
from tests.conftest import NOW, SECRET, held_for, survey_of
from tests.test_outreach import Clock
from tests.test_summary import populate_tsm

LONDON = ZoneInfo("Europe/London")
MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # 08:00 in London, which is on UTC in winter
SUBSCRIBED = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # the Thursday before


@dataclass
class Setup:
    runtime: Runtime
    clock: Clock
    subscribers: dict[str, int]


async def subscribed(db: Database, **subscribers: tuple[str, str, str | None]) -> dict[str, int]:
    def work(session: Any) -> dict[str, int]:
        ids = {}
        for name, (channel, address, survey) in subscribers.items():
            ids[name] = (subscribe(session, channel, address, survey, SUBSCRIBED)).id
        return ids

    return await db.write(work)


async def analysed(db: Database, tenants: int) -> Runtime:
    """`tenants` TSM responses in the week of 2026-11-23, analysed as `chorus run` does."""
    await populate_tsm(db, tenants)
    runtime = Runtime(load_settings(None), db, clock=lambda: NOW)
    await analysis_worker.analyse_pending(runtime)
    return runtime


@pytest.fixture
async def setup(db: Database, monkeypatch: pytest.MonkeyPatch) -> Setup:
    monkeypatch.setenv("CHORUS_SECRET_KEY", SECRET)
    await analysed(db, 12)
    ids = await subscribed(
        db,
        ana=("email", "ana@council.example", None),
        bo=("telegram", "555", None),
        cy=("email", "cy@council.example", "tsm"),
    )
    clock = Clock(MONDAY)
    return Setup(Runtime(load_settings(None), db, clock=clock), clock, ids)


async def summaries(db: Database) -> list[Outbox]:
    async with db.read() as session:
        return list(await session.scalars(select(Outbox).where(Outbox.kind == "summary").order_by(Outbox.id)))


@pytest.mark.parametrize(
    ("slot", "week"),
    [
        (datetime(2026, 11, 30, 8, 0, tzinfo=UTC), (date(2026, 11, 23), date(2026, 11, 29))),
        (datetime(2026, 12, 2, 8, 0, tzinfo=UTC), (date(2026, 11, 23), date(2026, 11, 29))),
        (datetime(2026, 12, 6, 23, 30, tzinfo=UTC), (date(2026, 11, 23), date(2026, 11, 29))),
        # Sunday 23:30 UTC in summer is already Monday in London.
        (datetime(2026, 6, 28, 23, 30, tzinfo=UTC), (date(2026, 6, 22), date(2026, 6, 28))),
    ],
)
def test_a_slot_covers_the_last_whole_week_before_its_local_day(slot: datetime, week: tuple[date, date]) -> None:
    assert covered_week(slot, LONDON) == week


async def test_each_subscriber_gets_last_weeks_summary_once_when_its_slot_comes(setup: Setup) -> None:
    runtime, clock = setup.runtime, setup.clock
    for early in (datetime(2026, 11, 29, 23, 0, tzinfo=UTC), MONDAY - timedelta(minutes=1)):
        clock.now = early
        assert await send_weekly_summaries(runtime) == 0, "the first slot after subscribing is Monday 08:00"
    clock.now = MONDAY
    assert await send_weekly_summaries(runtime) == 3
    for later in (MONDAY + timedelta(minutes=1), MONDAY + timedelta(hours=5), MONDAY + timedelta(days=6)):
        clock.now = later
        assert await send_weekly_summaries(runtime) == 0, "a slot runs once, however many ticks follow"
    rows = await summaries(runtime.db)
    assert [(row.channel, row.address) for row in rows] == [
        ("email", "ana@council.example"),
        ("telegram", "555"),
        ("email", "cy@council.example"),
    ]
    email = rows[0].payload
    assert email["subject"] == "What people said, 2026-11-23 to 2026-11-29"
    assert "| TP01 | 67% |" in email["text"] and email["html"].startswith("<!doctype html>")
    assert "Pat" not in email["text"] + email["html"], "quotes are redacted"
    telegram = rows[1].payload
    assert telegram["method"] == "sendDocument" and telegram["filename"].endswith("2026-11-23-to-2026-11-29.html")
    assert "Tenant Satisfaction Survey: 12 responses" in telegram["caption"]
    clock.now = MONDAY + timedelta(weeks=1)
    assert await send_weekly_summaries(runtime) == 3
    next_week = (await summaries(runtime.db))[3].payload
    assert next_week["subject"] == "What people said, 2026-11-30 to 2026-12-06"
    assert "No completed responses in this period." in next_week["text"]


async def test_a_slot_missed_while_down_goes_at_the_next_tick_and_only_the_latest(setup: Setup) -> None:
    runtime, clock = setup.runtime, setup.clock
    clock.now = MONDAY + timedelta(days=2, hours=3)
    assert await send_weekly_summaries(runtime) == 3, "down over Monday: sent on Wednesday"
    clock.now = MONDAY + timedelta(weeks=2, days=1)
    assert await send_weekly_summaries(runtime) == 3, "two Mondays missed: the latest week only"
    subjects = [row.payload.get("subject") for row in await summaries(runtime.db) if row.channel == "email"]
    assert subjects[-1] == "What people said, 2026-12-07 to 2026-12-13"
    assert len(await summaries(runtime.db)) == 6


async def test_two_processes_ticking_at_once_queue_each_summary_once(setup: Setup) -> None:
    other = Database.open(setup.runtime.db.url, schema=setup.runtime.db.schema)
    try:
        second = Runtime(setup.runtime.settings, other, clock=setup.clock)
        queued = await asyncio.gather(*(send_weekly_summaries(r) for r in (setup.runtime, second, setup.runtime)))
    finally:
        await other.close()
    assert sorted(queued) == [0, 0, 3]
    assert len(await summaries(setup.runtime.db)) == 3


async def test_a_removed_subscriber_gets_nothing_more(setup: Setup) -> None:
    await setup.runtime.db.write(lambda session: unsubscribe(session, setup.subscribers["bo"], MONDAY))
    assert await send_weekly_summaries(setup.runtime) == 2
    assert "555" not in [row.address for row in await summaries(setup.runtime.db)]
    async with setup.runtime.db.read() as session:
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions.count("subscription.add") == 3 and actions.count("subscription.remove") == 1


async def test_a_subscriber_who_sent_stop_to_the_bot_gets_no_summary_until_they_start_again(setup: Setup) -> None:
    """/stop promises no more messages; a commissioner's own chat with the bot is no exception."""

    def bo(change: str) -> Callable[[Any], None]:
        def work(session: Any) -> None:
            contact = get_or_create_contact(session, channel="telegram", address="555", now=MONDAY)
            if change == "stop":
                opt_out(session, contact.id, MONDAY)
            else:
                change_contact(session, contact, opted_out_at=None)

        return work

    await setup.runtime.db.write(bo("stop"))
    assert await send_weekly_summaries(setup.runtime) == 2
    assert "555" not in [row.address for row in await summaries(setup.runtime.db)]
    await setup.runtime.db.write(bo("start"))
    setup.clock.now = MONDAY + timedelta(weeks=1)
    assert await send_weekly_summaries(setup.runtime) == 3


async def test_a_subscriber_removed_while_their_summary_waits_to_go_does_not_get_it(setup: Setup) -> None:
    """Queued at eight, then waiting (Telegram down for the morning, say) when an officer removes a commissioner who
    has left: it would still have gone to them once Telegram was back."""
    assert await send_weekly_summaries(setup.runtime) == 3
    await setup.runtime.db.write(lambda session: unsubscribe(session, setup.subscribers["bo"], MONDAY))
    assert {row.address: (row.status, row.last_error) for row in await summaries(setup.runtime.db)} == {
        "ana@council.example": ("queued", None),
        "555": ("cancelled", "the subscription ended"),
        "cy@council.example": ("queued", None),
    }
    async with setup.runtime.db.read() as session:
        removed = await session.scalar(select(AuditEntry).where(AuditEntry.action == "subscription.remove"))
    assert removed is not None and removed.detail == {"summaries_cancelled": 1}


async def test_a_subscriber_to_one_survey_sees_nothing_of_another(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHORUS_SECRET_KEY", SECRET)
    await analysed(db, 12)
    pulse = survey_of("""
        id: pulse
        title: Staff pulse
        questions:
          - {id: happy, type: yes_no, label: "Are you happy at work?"}
    """)

    def work(session: Any) -> None:
        import_survey(session, pulse, NOW)
        tsm = session.scalar(select(SurveyVersion.survey_id).join(SurveyRow).where(SurveyRow.slug == "tsm"))
        session.add(Action(survey_id=tsm, you_said="Damp", we_did="Surveyed every flat", created_at=NOW))

    await db.write(work)
    await subscribed(
        db, pulse=("email", "pulse@mutual.example", "pulse"), everything=("email", "all@council.example", None)
    )
    runtime = Runtime(load_settings(None), db, clock=lambda: MONDAY)
    assert await send_weekly_summaries(runtime) == 2
    by_address = {row.address: row.payload["text"] for row in await summaries(db)}
    assert "Tenant Satisfaction" not in by_address["pulse@mutual.example"]
    assert "Surveyed every flat" not in by_address["pulse@mutual.example"], "another survey's actions stay out"
    assert "Tenant Satisfaction" in by_address["all@council.example"]
    assert "Surveyed every flat" in by_address["all@council.example"]


async def test_a_small_group_shows_no_number_and_no_quote(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHORUS_SECRET_KEY", SECRET)
    await analysed(db, 4)
    await subscribed(db, ana=("email", "ana@council.example", None), bo=("telegram", "555", None))
    runtime = Runtime(load_settings(None), db, clock=lambda: MONDAY)
    assert await send_weekly_summaries(runtime) == 2
    email, telegram = (row.payload for row in await summaries(db))
    assert "Fewer than 10 people responded, so nothing is shown for this survey." in email["text"]
    assert "damp" not in email["text"].lower() and "TP01" not in email["text"]
    assert "Tenant Satisfaction Survey: fewer than 10 responses" in telegram["caption"]
    assert " 4 " not in telegram["caption"]


async def test_nobody_subscribed_means_no_slot_is_claimed(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHORUS_SECRET_KEY", SECRET)
    runtime = Runtime(load_settings(None), db, clock=lambda: MONDAY)
    assert await send_weekly_summaries(runtime) == 0
    await subscribed(db, ana=("email", "ana@council.example", None))
    assert await send_weekly_summaries(runtime) == 1, "subscribed before the slot: it is still due"


async def test_the_tick_wakes_the_sender_only_when_something_was_queued(setup: Setup) -> None:
    woken: list[bool] = []
    await weekly_summary.tick(setup.runtime, lambda: woken.append(True))
    await weekly_summary.tick(setup.runtime, lambda: woken.append(True))
    assert woken == [True]


def test_chorus_subscribers_add_list_and_remove(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHORUS_SECRET_KEY", SECRET)
    monkeypatch.setenv("CHORUS_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    monkeypatch.delenv("CHORUS_SMTP_HOST", raising=False)
    runner = CliRunner()
    added = runner.invoke(cli, ["subscribers", "add", "--email", "ana@council.example"])
    assert added.exit_code == 0, added.output
    assert "Subscriber 1: ana@council.example (email) gets the summary of every survey every week." in added.output
    assert "CHORUS_SMTP_HOST is not set" in added.output
    again = runner.invoke(cli, ["subscribers", "add", "--email", "ana@council.example"])
    assert "Subscriber 1:" in again.output, "the same subscription is not added twice"
    assert runner.invoke(cli, ["subscribers", "add", "--telegram", "555", "--survey", "nope"]).exit_code == 2
    assert runner.invoke(cli, ["subscribers", "add", "--email", "not-an-address"]).exit_code == 2
    assert runner.invoke(cli, ["subscribers", "add"]).exit_code == 2
    listed = runner.invoke(cli, ["subscribers", "list"])
    assert listed.output == "1  email  ana@council.example  the summary of every survey\n"
    assert runner.invoke(cli, ["subscribers", "remove", "1"]).exit_code == 0
    missing = runner.invoke(cli, ["subscribers", "remove", "1"])
    assert missing.exit_code == 2 and "no subscription 1" in missing.output
    assert "No subscribers yet" in runner.invoke(cli, ["subscribers", "list"]).output


async def test_the_schedule_and_mail_settings_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.errors import ConfigError

    monkeypatch.setenv("CHORUS_SECRET_KEY", SECRET)
    monkeypatch.setenv("CHORUS_SUMMARY_SCHEDULE", "every monday")
    with pytest.raises(ConfigError, match="CHORUS_SUMMARY_SCHEDULE: 'every monday' is not a cron expression"):
        load_settings(None)
    monkeypatch.setenv("CHORUS_SUMMARY_SCHEDULE", "0 8 * * 1")
    monkeypatch.setenv("CHORUS_SMTP_HOST", "smtp.council.example")
    with pytest.raises(ConfigError, match="CHORUS_MAIL_FROM: required when CHORUS_SMTP_HOST is set"):
        load_settings(None)
    monkeypatch.setenv("CHORUS_MAIL_FROM", "Chorus <chorus@council.example>")
    assert load_settings(None).mail_from == "Chorus <chorus@council.example>"


async def test_a_moved_group_keeps_its_subscriptions_and_gets_no_summary_twice(setup: Setup) -> None:
    """Subscriptions follow a group to its supergroup's id; one the new chat has already is not doubled."""
    db = setup.runtime.db
    await subscribed(
        db, every=("telegram", "-75", None), tsm=("telegram", "-75", "tsm"), new=("telegram", "-10075", None)
    )

    def move(session: Any) -> list[tuple[str, str | None]]:
        assert move_chat(session, "telegram", "-75", "-10075", NOW) == 2
        session.flush()
        return [(s.address, s.survey) for s in subscriptions(session) if s.address.startswith("-")]

    assert sorted(await db.write(move), key=lambda s: s[1] or "") == [("-10075", None), ("-10075", "tsm")]
    async with db.read() as session:
        moves = await session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "subscription.move"))
        assert moves == 2


async def test_a_chat_lost_to_the_bot_ends_its_subscriptions_and_what_waits_for_it(setup: Setup) -> None:
    """A group that removed the bot: its subscriptions end, audited, and its waiting summary is cancelled."""
    db = setup.runtime.db
    await subscribed(db, every=("telegram", "-76", None), tsm=("telegram", "-76", "tsm"))
    waiting = outbox_row(channel="telegram", address="-76", payload={}, dedupe_key="waiting", now=NOW, kind="summary")
    await db.write(lambda session: enqueue(session, waiting))

    def remove(session: Any) -> tuple[Lost, list[str]]:
        ended = lost(session, "telegram", "-76", NOW)
        session.flush()
        return ended, [s.address for s in subscriptions(session)]

    ended, left = await db.write(remove)
    assert ended == Lost(contact_id=None, subscriptions=2) and "-76" not in left and "555" in left
    assert str(ended).startswith("2 summary subscriptions ended (to resume, add the bot back")
    async with db.read() as session:
        removals = await session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "subscription.remove")
        )
        status = await session.scalar(select(Outbox.status).where(Outbox.dedupe_key == "waiting"))
    assert (removals, status) == (2, "cancelled")


async def test_anonymous_answers_held_through_last_week_are_in_its_summary(setup: Setup) -> None:
    """A staff pulse's answers are held until enough are or their week ends; the summary releases them before it reads the
    week, in case it runs before the minute's release does (after a restart on Monday morning, say)."""
    pulse = survey_of(
        "id: pulse\ntitle: Pulse\naudience: staff\nquestions:\n  - {id: mood, type: rating, label: Mood}\n"
    )
    staff = range(setup.runtime.settings.min_group_size)

    state, _ = step(pulse, start(pulse)[0], Reply("7"))

    def work(session: Any) -> None:
        version_id = import_survey(session, pulse, NOW).version_id
        subscribe(session, "telegram", "556", "pulse", SUBSCRIBED)
        for n in staff:
            held_for(session, f"8{n:02d}", version_id, state)

    await setup.runtime.db.write(work)
    assert await send_weekly_summaries(setup.runtime) == 4
    [to_dee] = [row for row in await summaries(setup.runtime.db) if row.address == "556"]
    assert f"Pulse: {len(staff)} responses" in to_dee.payload["caption"]
