"""Waves and reminders with a fake clock, on each database: who is invited, when, and how often."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import OperationalError

from bot import outbox_sender, outreach, participation
from bot.config import load_settings
from bot.errors import WaveError
from bot.outbox_sender import OutboxSender, Transport
from bot.rate_limit import SendLimits
from bot.runtime import Runtime
from storage.catalogue import import_survey
from storage.contacts import change_contact, get_or_create_contact, opt_out, record_consent
from storage.database import Database
from storage.models import (
    Area,
    AuditEntry,
    Consent,
    Contact,
    Invitation,
    Organisation,
    Outbox,
    Service,
    SurveyVersion,
    Wave,
)
from storage.organisations import add_place
from storage.outbox import SUMMARY, enqueue, enqueue_many, outbox_row
from storage.privacy import forget
from storage.waves import Audience, close_wave, day_of, list_waves
from surveys.inputs import Reply
from tests.conftest import SECRET, survey_of

# A Tuesday morning in winter: London is on UTC.
OPENED = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)

PULSE = survey_of("""
    id: pulse
    title: Resident pulse
    organisation: ancoats-housing
    questions:
      - {id: consent, type: consent, label: "Do you agree?", notice: "We keep your answers for two years."}
      - {id: happy, type: yes_no, label: "Are you happy with your home?"}
""")
MONTHLY = survey_of("""
    id: monthly
    title: Monthly pulse
    organisation: ancoats-housing
    area: ancoats
    schedule: "0 10 1 * *"
    questions:
      - {id: happy, type: yes_no, label: "Are you happy with your home?"}
""")


@dataclass
class Clock:
    now: datetime = OPENED

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Town:
    """Who lives where: contact ids by name."""

    runtime: Runtime
    clock: Clock
    ids: dict[str, int] = field(default_factory=dict)


async def populate(db: Database) -> dict[str, int]:
    def work(session: Any) -> dict[str, int]:
        organisation = Organisation(slug="ancoats-housing", name="Ancoats Housing Co-op", created_at=OPENED)
        session.add(organisation)
        session.flush()
        areas = {slug: Area(organisation_id=organisation.id, slug=slug, name=slug) for slug in ("ancoats", "gorton")}
        repairs = Service(organisation_id=organisation.id, slug="repairs", name="Repairs")
        session.add_all([*areas.values(), repairs])
        session.flush()
        version = import_survey(session, PULSE, OPENED - timedelta(days=30))
        import_survey(session, MONTHLY, OPENED - timedelta(days=30))
        people = {
            # name: (area, service, consented, role)
            "amira": ("ancoats", "repairs", True, "resident"),
            "ben": ("gorton", None, True, "resident"),
            "chen": ("ancoats", None, False, "resident"),
            "dara": ("ancoats", "repairs", True, "resident"),
            "erin": (None, None, False, "staff"),
        }
        ids = {}
        for number, (name, (area, service, consented, role)) in enumerate(people.items(), start=1):
            contact = get_or_create_contact(
                session, channel="telegram", address=str(1000 + number), now=OPENED, role=role, language="en"
            )
            change_contact(
                session,
                contact,
                area_id=areas[area].id if area else None,
                service_id=repairs.id if service else None,
                organisation_id=organisation.id if role == "staff" else None,
            )
            if consented:
                record_consent(
                    session,
                    contact_id=contact.id,
                    version_id=version.version_id,
                    question_id="consent",
                    language="en",
                    notice="We keep your answers for two years. Do you agree?",
                    decision="agree",
                    now=OPENED - timedelta(days=20),
                )
            ids[name] = contact.id
        opt_out(session, ids["dara"], OPENED - timedelta(days=1))
        return ids

    return await db.write(work)


@pytest.fixture
async def town(db: Database, monkeypatch: pytest.MonkeyPatch) -> Town:
    monkeypatch.setenv("CHORUS_SECRET_KEY", SECRET)
    clock = Clock()
    ids = await populate(db)
    return Town(Runtime(load_settings(None), db, clock=clock), clock, ids)


async def outbox(db: Database) -> list[Outbox]:
    async with db.read() as session:
        return list(await session.scalars(select(Outbox).order_by(Outbox.id)))


def addressed(rows: list[Outbox], kind: str) -> list[str]:
    return [row.address for row in rows if row.kind == kind]


async def test_a_wave_invites_consented_reachable_residents_of_its_area_only(town: Town) -> None:
    opened = await outreach.open_wave(town.runtime, "pulse", Audience(areas=("ancoats",)), name="December")
    assert opened is not None and opened.invited == 1
    rows = await outbox(town.runtime.db)
    assert addressed(rows, "invite") == ["1001"], "amira only: chen never consented, dara opted out, ben is in gorton"
    [invite] = rows
    assert "Ancoats Housing Co-op would like to hear from you in \u201cResident pulse\u201d" in invite.payload["text"]
    [[button]] = invite.payload["reply_markup"]["inline_keyboard"]
    assert button["callback_data"] == f"i|{invite.invitation_id}"
    async with town.runtime.db.read() as session:
        [wave] = await session.run_sync(list_waves)
    assert (wave.survey, wave.name, wave.invited, wave.completed) == ("pulse", "December", 1, 0)


async def test_audiences_by_service_and_for_staff(town: Town) -> None:
    await outreach.open_wave(town.runtime, "pulse", Audience(services=("repairs",)))
    await outreach.open_wave(town.runtime, "pulse", Audience(role="staff", organisations=("ancoats-housing",)))
    rows = await outbox(town.runtime.db)
    assert addressed(rows, "invite") == ["1001", "1005"], "amira uses repairs; erin is staff, who join with a code"


async def test_someone_who_joins_is_invited_to_the_open_waves_that_would_have_invited_them_once(town: Town) -> None:
    staff = Audience(role="staff", organisations=("ancoats-housing",))
    theirs = await outreach.open_wave(town.runtime, "pulse", staff)
    residents = await outreach.open_wave(town.runtime, "monthly", Audience())
    assert theirs is not None and residents is not None and theirs.invited == 1, "erin, staff already"

    def fay_joins(session: Any) -> list[tuple[int, str]]:
        fay = get_or_create_contact(session, channel="telegram", address="1006", now=OPENED, language="en")
        change_contact(session, fay, role="staff", organisation_id=session.scalar(select(Organisation.id)))
        joined = outreach.join_open_waves(session, fay.id, town.clock.now, cool_off_days=14)
        again = outreach.join_open_waves(session, fay.id, town.clock.now, cool_off_days=14)
        assert again == [], "invited once"
        return [(invitation_id, survey.id) for invitation_id, survey, _ in joined]

    [(invitation_id, survey)] = await town.runtime.db.write(fay_joins)
    assert survey == "pulse", "the staff wave, not the residents' one"
    async with town.runtime.db.read() as session:
        invitation = await session.get(Invitation, invitation_id)
        assert invitation is not None and invitation.wave_id == theirs.wave_id
        waves = {wave.id: wave.invited for wave in await session.run_sync(list_waves)}
    assert waves == {theirs.wave_id: 2, residents.wave_id: 2}, "counted in the wave's invitations"


UNNAMED = survey_of("""
    id: unnamed
    title: Any pulse
    reminders: {max: 1, every_days: 3}
    questions:
      - {id: happy, type: yes_no, label: "Are you happy at work?"}
""")


async def test_a_survey_naming_no_organisation_is_asked_by_each_persons_own(town: Town) -> None:
    """One pulse template for every mutual: staff hear from their employer, not from 'Your local services'."""
    await town.runtime.db.write(lambda session: import_survey(session, UNNAMED, OPENED - timedelta(days=30)))
    await outreach.open_wave(town.runtime, "unnamed", Audience(role="staff"))
    await outreach.open_wave(town.runtime, "unnamed", Audience(areas=("gorton",)))
    town.clock.now += timedelta(days=3)
    assert await outreach.send_reminders(town.runtime) == 2
    rows = await outbox(town.runtime.db)
    said = {
        (row.address, row.kind): row.payload["text"].removeprefix("A reminder: ").split(" would")[0] for row in rows
    }
    assert said == {
        ("1005", "invite"): "Ancoats Housing Co-op",
        ("1005", "reminder"): "Ancoats Housing Co-op",
        ("1002", "invite"): "Your local services",
        ("1002", "reminder"): "Your local services",
    }, "erin works for Ancoats Housing; ben, a resident, belongs to no organisation"


async def test_an_unknown_area_or_survey_is_a_clear_error_and_opens_nothing(town: Town) -> None:
    with pytest.raises(WaveError, match="no area called moss-side"):
        await outreach.open_wave(town.runtime, "pulse", Audience(areas=("moss-side",)))
    with pytest.raises(WaveError, match="no survey called 'nope'"):
        await outreach.open_wave(town.runtime, "nope", Audience())
    async with town.runtime.db.read() as session:
        assert await session.run_sync(list_waves) == []
    assert await outbox(town.runtime.db) == []


async def test_no_one_is_invited_to_the_same_survey_twice_within_the_cool_off(town: Town) -> None:
    first = await outreach.open_wave(town.runtime, "pulse", Audience())
    town.clock.now += timedelta(days=13)
    again = await outreach.open_wave(town.runtime, "pulse", Audience())
    town.clock.now += timedelta(days=2)
    later = await outreach.open_wave(town.runtime, "pulse", Audience())
    assert first is not None and again is not None and later is not None
    assert (first.invited, again.invited, later.invited) == (2, 0, 2)


async def test_a_wave_opened_in_quiet_hours_sends_at_nine(town: Town) -> None:
    town.clock.now = datetime(2026, 12, 1, 22, 15, tzinfo=UTC)
    opened = await outreach.open_wave(town.runtime, "pulse", Audience())
    assert opened is not None and opened.not_before == datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    assert {row.not_before.replace(tzinfo=UTC) for row in await outbox(town.runtime.db)} == {opened.not_before}


async def reminders_by_day(town: Town, days: int) -> dict[int, int]:
    """How many reminders each day's 10:00 tick queues, over `days` days after the wave opened."""
    counts = {}
    for day in range(1, days + 1):
        town.clock.now = OPENED + timedelta(days=day)
        counts[day] = await outreach.send_reminders(town.runtime)
    return {day: count for day, count in counts.items() if count}


async def test_reminders_go_at_most_twice_three_days_apart(town: Town) -> None:
    await outreach.open_wave(town.runtime, "pulse", Audience())
    assert await reminders_by_day(town, 12) == {3: 2, 6: 2}
    rows = await outbox(town.runtime.db)
    assert sorted(addressed(rows, "reminder")) == ["1001", "1001", "1002", "1002"]
    assert all("A reminder: Ancoats Housing Co-op" in row.payload["text"] for row in rows if row.kind == "reminder")


async def test_those_who_started_are_asked_to_continue_and_completers_are_left_alone(town: Town) -> None:
    opened = await outreach.open_wave(town.runtime, "pulse", Audience())
    assert opened is not None

    def progress(session: Any) -> None:
        invitation = update(Invitation).where(Invitation.wave_id == opened.wave_id)
        session.execute(invitation.where(Invitation.contact_id == town.ids["amira"]).values(started_at=OPENED))
        session.execute(invitation.where(Invitation.contact_id == town.ids["ben"]).values(completed_at=OPENED))

    await town.runtime.db.write(progress)
    await reminders_by_day(town, 3)
    [reminder] = [row for row in await outbox(town.runtime.db) if row.kind == "reminder"]
    assert reminder.address == "1001"
    assert "You started \u201cResident pulse\u201d but haven't finished it yet" in reminder.payload["text"]
    [[button]] = reminder.payload["reply_markup"]["inline_keyboard"]
    assert button["text"] == "Continue where I left off"


async def test_finishing_the_survey_marks_the_invitation_done_and_stops_reminders(town: Town) -> None:
    opened = await outreach.open_wave(town.runtime, "pulse", Audience())
    assert opened is not None
    finished = OPENED + timedelta(hours=5, minutes=7)

    def answer_everything(session: Any) -> None:
        contact = get_or_create_contact(session, channel="telegram", address="1002", now=finished)
        version_id = session.scalar(select(Wave.survey_version_id).where(Wave.id == opened.wave_id))
        place, _ = participation.begin(session, SECRET, contact, version_id, "telegram", finished)
        for reply in ("agree", "yes"):
            participation.advance(session, SECRET, place, Reply(reply), "telegram", finished)

    await town.runtime.db.write(answer_everything)
    async with town.runtime.db.read() as session:
        done = dict(
            (
                await session.execute(
                    select(Invitation.contact_id, Invitation.completed_at).where(Invitation.wave_id == opened.wave_id)
                )
            ).all()
        )
    assert done.pop(town.ids["ben"]) == day_of(finished)
    assert set(done.values()) == {None}
    assert await reminders_by_day(town, 3) == {3: 1}
    assert addressed(await outbox(town.runtime.db), "reminder") == ["1001"]


async def test_no_reminder_after_stop_after_the_wave_closes_or_in_quiet_hours(town: Town) -> None:
    opened = await outreach.open_wave(town.runtime, "pulse", Audience())
    assert opened is not None
    town.clock.now = OPENED + timedelta(days=3, hours=12)  # 22:00
    assert await outreach.send_reminders(town.runtime) == 0, "quiet hours"
    await town.runtime.db.write(lambda s: opt_out(s, town.ids["ben"], town.clock.now))
    town.clock.now = OPENED + timedelta(days=4)
    assert await outreach.send_reminders(town.runtime) == 1, "amira only: ben sent /stop"
    await outreach.close(town.runtime, opened.wave_id)
    assert await reminders_by_day(town, 12) == {}, "a closed wave sends no more reminders"
    with pytest.raises(WaveError, match="no wave 999"):
        await outreach.close(town.runtime, 999)


async def statuses(db: Database) -> dict[tuple[str, str], tuple[str, str | None]]:
    """Each outbox row's status and why it did not go, by (address, kind)."""
    return {(row.address, row.kind): (row.status, row.last_error) for row in await outbox(db)}


async def test_closing_a_wave_cancels_what_it_has_not_sent(town: Town) -> None:
    """Closed while its invites still wait for Telegram's limit (opened by mistake, say): nobody more is asked."""
    opened = await outreach.open_wave(town.runtime, "pulse", Audience())
    staff = await outreach.open_wave(town.runtime, "pulse", Audience(role="staff", organisations=("ancoats-housing",)))
    assert opened is not None and opened.invited == 2 and staff is not None

    def amira_invited_and_ben_answered(session: Any) -> None:
        session.execute(update(Outbox).where(Outbox.address == "1001").values(status="sent"))
        enqueue(session, outbox_row(channel="telegram", address="1002", payload={}, dedupe_key="r", now=OPENED))

    await town.runtime.db.write(amira_invited_and_ben_answered)
    assert await outreach.close(town.runtime, opened.wave_id) == 1
    assert await statuses(town.runtime.db) == {
        ("1001", "invite"): ("sent", None),
        ("1002", "invite"): ("cancelled", "the wave closed"),
        ("1005", "invite"): ("queued", None),
        ("1002", "reply"): ("queued", None),
    }, "only this wave's invite still waiting; a reply to the same person still goes"
    assert await outreach.close(town.runtime, opened.wave_id) == 0, "closing again changes nothing"


async def test_beginning_cancels_their_waiting_invite_and_finishing_their_waiting_reminder(town: Town) -> None:
    """Someone who scans a leaflet while the wave's invite to them still waits is not asked to start once they have."""
    opened = await outreach.open_wave(town.runtime, "pulse", Audience())
    assert opened is not None

    def ben_answers(*replies: str) -> Callable[[Any], None]:
        def work(session: Any) -> None:
            contact = get_or_create_contact(session, channel="telegram", address="1002", now=town.clock.now)
            version_id = session.scalar(select(Wave.survey_version_id).where(Wave.id == opened.wave_id))
            place, _ = participation.begin(session, SECRET, contact, version_id, "telegram", town.clock.now)
            for reply in replies:
                participation.advance(session, SECRET, place, Reply(reply), "telegram", town.clock.now)

        return work

    await town.runtime.db.write(ben_answers())
    assert await statuses(town.runtime.db) == {
        ("1001", "invite"): ("queued", None),
        ("1002", "invite"): ("cancelled", "they had begun answering"),
    }
    town.clock.now = OPENED + timedelta(days=3)
    assert await outreach.send_reminders(town.runtime) == 2
    await town.runtime.db.write(ben_answers("agree", "yes"))
    assert await statuses(town.runtime.db) == {
        ("1001", "invite"): ("queued", None),
        ("1002", "invite"): ("cancelled", "they had begun answering"),
        ("1001", "reminder"): ("queued", None),
        ("1002", "reminder"): ("cancelled", "they had finished the survey"),
    }


async def test_a_scheduled_wave_opens_once_per_slot_even_after_a_restart(town: Town) -> None:
    # The survey says 10:00 on the 1st; OPENED is 1 December 10:00.
    town.clock.now = OPENED - timedelta(minutes=1)
    assert await outreach.open_scheduled_waves(town.runtime) == []
    town.clock.now = OPENED + timedelta(minutes=3)
    [wave] = await outreach.open_scheduled_waves(town.runtime)
    assert (wave.survey, wave.invited) == ("monthly", 1), "amira: consented and lives in Ancoats"
    assert await outreach.open_scheduled_waves(town.runtime) == []
    restarted = Runtime(town.runtime.settings, town.runtime.db, clock=town.clock)
    town.clock.now = OPENED + timedelta(hours=5)
    assert await outreach.open_scheduled_waves(restarted) == [], "a restart does not run the slot again"
    town.clock.now = datetime(2027, 1, 3, 12, tzinfo=UTC)  # the service was down over New Year
    [january] = await outreach.open_scheduled_waves(restarted)
    async with town.runtime.db.read() as session:
        names = [w.name for w in await session.run_sync(list_waves)]
    assert names == ["monthly 2026-12-01", "monthly 2027-01-03"]
    assert january.wave_id != wave.wave_id
    async with town.runtime.db.read() as session:
        audited = (await session.execute(select(AuditEntry.actor, AuditEntry.action, AuditEntry.detail))).all()
    opened = [
        (actor, detail["survey"], detail["invited"]) for actor, action, detail in audited if action == "wave.open"
    ]
    assert opened == [("schedule", "monthly", 1), ("schedule", "monthly", 1)], "who opened each wave is on record"


MISPLACED = survey_of("""
    id: misplaced
    title: Misplaced
    organisation: ancoats-housing
    area: moss-side
    schedule: "0 10 1 * *"
    questions:
      - {id: happy, type: yes_no, label: "Are you happy with your home?"}
""")


async def test_a_scheduled_survey_naming_an_area_not_added_stops_no_other_wave_or_reminder(
    town: Town, caplog: pytest.LogCaptureFixture
) -> None:
    """Its error was the whole tick's: every other survey's wave, and every reminder, waited behind it."""
    await town.runtime.db.write(lambda session: import_survey(session, MISPLACED, OPENED - timedelta(days=30)))
    town.clock.now = OPENED + timedelta(minutes=3)
    [wave] = await outreach.open_scheduled_waves(town.runtime)
    assert wave.survey == "monthly", "the survey after it opens all the same"
    assert "cannot open a wave of 'misplaced': no area called moss-side" in caplog.text
    caplog.clear()
    town.clock.now += timedelta(minutes=1)
    assert await outreach.open_scheduled_waves(town.runtime) == []
    assert "misplaced" not in caplog.text, "said once a slot, not every minute"
    await town.runtime.db.write(lambda session: add_place(session, "area", "ancoats-housing", "moss-side", "M", OPENED))
    town.clock.now += timedelta(minutes=1)
    [late] = await outreach.open_scheduled_waves(town.runtime)
    assert late.survey == "misplaced", "once the area is added, the slot still opens"


async def crowd(db: Database, count: int) -> None:
    """`count` more consented residents of Ancoats, in bulk."""

    def work(session: Any) -> None:
        area = session.scalar(select(Area.id).where(Area.slug == "ancoats"))
        version = session.scalar(select(SurveyVersion.id).order_by(SurveyVersion.id))
        contact = {
            "channel": "telegram",
            "role": "resident",
            "area_id": area,
            "created_at": OPENED,
            "last_seen_at": OPENED,
        }
        addresses = [str(50_000 + n) for n in range(count)]
        session.execute(insert(Contact), [contact | {"address": address} for address in addresses])
        ids = session.scalars(select(Contact.id).where(Contact.address.in_(addresses)))
        consent = {"survey_version_id": version, "question_id": "consent", "language": "en", "decision": "agree"}
        session.execute(
            insert(Consent), [consent | {"contact_id": i, "notice": "N", "recorded_at": OPENED} for i in ids]
        )

    await db.write(work)


async def test_a_large_wave_lets_others_run_while_it_is_queued(town: Town, db: Database) -> None:
    """Queued on the event loop's thread in one go, a 10,000-person wave held webhooks up for seconds."""
    await crowd(db, 3_000)
    turns = 0

    async def others() -> None:
        nonlocal turns
        while True:
            await asyncio.sleep(0)
            turns += 1

    running = asyncio.create_task(others())
    await asyncio.sleep(0)
    before = turns
    opened = await outreach.open_wave(town.runtime, "pulse", Audience(areas=("ancoats",)))
    during = turns - before
    running.cancel()
    assert opened is not None and opened.invited == 3_001
    rows = 2 * opened.invited  # an invitation and an outbox row each
    assert during >= rows // 500, f"others had {during} turns while {rows} rows were written: fewer than one per 500"
    invites = addressed(await outbox(db), "invite")
    assert len(invites) == len(set(invites)) == 3_001


def amira_begins(*replies: str) -> Callable[[Town], Callable[[Any], None]]:
    """Amira answers from a leaflet (beginning, and with every reply given, finishing) while her invite is on its way."""

    def event(town: Town) -> Callable[[Any], None]:
        def work(session: Any) -> None:
            contact = get_or_create_contact(session, channel="telegram", address="1001", now=town.clock.now)
            version_id = session.scalar(select(SurveyVersion.id).order_by(SurveyVersion.id))
            place, _ = participation.begin(session, SECRET, contact, version_id, "telegram", town.clock.now)
            for reply in replies:
                participation.advance(session, SECRET, place, Reply(reply), "telegram", town.clock.now)

        return work

    return event


def wave_closes(town: Town) -> Callable[[Any], None]:
    return lambda session: close_wave(session, session.scalar(select(Wave.id)), town.clock.now)


def amira_stops(town: Town) -> Callable[[Any], None]:
    return lambda session: opt_out(session, town.ids["amira"], town.clock.now)


def amira_is_forgotten(town: Town) -> Callable[[Any], None]:
    return lambda session: forget(session, town.ids["amira"], secret_key=SECRET, now=town.clock.now, actor="test")


async def send_what_is_due(town: Town, transport: Transport, *, once_taken: Callable[[], Awaitable[None]]) -> None:
    """Run a sender until it has settled all it took; `once_taken` runs when it holds two rows."""
    limits = SendLimits(1e6, chat_rate=1e6, chat_burst=1e6)
    sender = OutboxSender(town.runtime, {"telegram": transport}, limits, poll_seconds=3600)
    sending = asyncio.create_task(sender.run())
    try:
        async with asyncio.timeout(10):
            while sender.in_flight < 2:
                await asyncio.sleep(0.002)
            await once_taken()
            while sender.in_flight:
                await asyncio.sleep(0.002)
    finally:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)


async def invite_amira_behind_a_slow_reply(town: Town) -> tuple[Transport, asyncio.Event, list[str]]:
    """Amira's invite, and a reply to her that Telegram is slow to take until the event is set; what went out."""
    opened = await outreach.open_wave(town.runtime, "pulse", Audience(areas=("ancoats",)))
    assert opened is not None and opened.invited == 1
    await town.runtime.db.write(
        lambda session: enqueue(
            session, outbox_row(channel="telegram", address="1001", payload={"text": "hi"}, dedupe_key="r", now=OPENED)
        )
    )
    slow, sent = asyncio.Event(), []

    async def transport(address: str, payload: dict[str, Any]) -> None:
        if payload["text"] == "hi":
            await slow.wait()
        sent.append(payload["text"])

    return transport, slow, sent


def invites(sent: list[str]) -> int:
    return sum(text.startswith("Ancoats Housing Co-op would like to hear") for text in sent)


@pytest.mark.parametrize(
    ("event", "outcome"),
    [
        (None, ("sent", None)),
        (wave_closes, ("cancelled", "the wave closed")),
        (amira_stops, ("cancelled", "they had opted out")),
        (amira_begins(), ("cancelled", "they had begun answering")),
        (amira_begins("agree", "yes"), ("cancelled", "they had finished the survey")),
        (amira_is_forgotten, None),
    ],
    ids=["nothing-happens", "wave-closes", "stop", "begins", "finishes", "forget"],
)
async def test_an_invite_the_sender_has_taken_does_not_go_once_it_is_no_longer_wanted(
    town: Town, event: Callable[[Town], Callable[[Any], None]] | None, outcome: tuple[str, str | None] | None
) -> None:
    """Closing the wave, /stop, beginning or finishing cancel what still waits in the queue; the sender's
    window (up to 64 rows, two seconds of a wave at Telegram's limit) has left it. Here Amira's invite waits
    in the window behind a reply to her that Telegram is slow to take."""
    transport, slow, sent = await invite_amira_behind_a_slow_reply(town)

    async def happens() -> None:
        if event is not None:
            await town.runtime.db.write(event(town))
        slow.set()

    await send_what_is_due(town, transport, once_taken=happens)
    assert sent[0] == "hi"
    assert invites(sent) == (outcome == ("sent", None))
    assert (await statuses(town.runtime.db)).get(("1001", "invite")) == outcome


async def test_an_invite_whose_standing_cannot_be_read_is_tried_again_later_not_sent_unchecked(
    town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable(*_: Any) -> None:
        raise OperationalError("SELECT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(outbox_sender, "no_longer_wanted", unreadable)
    transport, slow, sent = await invite_amira_behind_a_slow_reply(town)

    async def happens() -> None:
        slow.set()

    await send_what_is_due(town, transport, once_taken=happens)
    assert sent == ["hi"]
    [invite] = [row for row in await outbox(town.runtime.db) if row.kind == "invite"]
    assert (invite.status, invite.attempts) == ("queued", 1)
    assert invite.last_error == "could not check its invitation: disk I/O error"
    assert invite.not_before > OPENED


async def test_invites_left_due_by_an_evening_outage_wait_for_the_morning(town: Town) -> None:
    """A wave opened at 18:00 and the service down until 23:00: its invite does not go out at night; a reply and
    a commissioner's weekly summary do."""
    town.clock.now = OPENED.replace(hour=18)
    opened = await outreach.open_wave(town.runtime, "pulse", Audience(areas=("ancoats",)))
    assert opened is not None and opened.not_before == town.clock.now
    town.clock.now = OPENED.replace(hour=23)
    await town.runtime.db.write(
        lambda session: enqueue_many(
            session,
            [
                outbox_row(channel="telegram", address="1002", payload={}, dedupe_key="r", now=town.clock.now),
                outbox_row(channel="telegram", address="-77", payload={}, dedupe_key="s", now=OPENED, kind=SUMMARY),
            ],
        )
    )
    sent: list[str] = []

    async def transport(address: str, payload: dict[str, Any]) -> None:
        sent.append(address)

    limits = SendLimits(1e6, chat_rate=1e6, chat_burst=1e6)
    sender = OutboxSender(town.runtime, {"telegram": transport}, limits, poll_seconds=3600)
    sending = asyncio.create_task(sender.run())
    try:
        async with asyncio.timeout(10):
            while len(sent) < 2 or sender.in_flight:
                await asyncio.sleep(0.002)
            assert sorted(sent) == ["-77", "1002"], "the reply and the summary go; the invite waits"
            town.clock.now = OPENED.replace(hour=9) + timedelta(days=1)
            sender.wake()
            while len(sent) < 3:
                await asyncio.sleep(0.002)
    finally:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
    assert sent[2] == "1001"
