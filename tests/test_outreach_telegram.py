"""Invites through the real sender and python-telegram-bot against the fake Bot API: limits, failures, the button."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import ColumnElement, insert, select

from bot import outreach
from bot.runtime import Runtime, utc_now
from bot.weekly_summary import send_weekly_summaries
from storage import retention
from storage.database import Database
from storage.models import (
    AnonymousDraft,
    AuditEntry,
    Consent,
    Contact,
    Invitation,
    Organisation,
    Outbox,
    Response,
    SummarySubscription,
    Survey,
    SurveyVersion,
)
from storage.outbox import enqueue, outbox_row
from storage.retention import Retention
from storage.staff import create_codes
from storage.waves import Audience, close_wave
from tests.conftest import NOW, SECRET
from tests.fake_telegram import FakeTelegram
from tests.telegram_harness import Running, running_chorus
from tests.test_telegram import finish_coproduction
from tests.test_telegram_templates import CHAT as STAFF
from tests.test_telegram_templates import join_as_staff
from tests.test_weekly_summary import MONDAY, analysed, subscribed

ANY_TIME = {"CHORUS_QUIET_HOURS": "00:00-00:00"}  # these tests run at any hour of the real clock


async def residents(db: Database, chats: range) -> None:
    """Residents who agreed to the TSM notice, reachable on Telegram at these chat ids (in bulk: tests seed 5,000)."""

    def work(session: Any) -> None:
        version_id = session.scalar(
            select(SurveyVersion.id).join(Survey).where(Survey.slug == "tsm").order_by(SurveyVersion.number.desc())
        )
        contact = {"channel": "telegram", "role": "resident", "created_at": NOW, "last_seen_at": NOW}
        session.execute(insert(Contact), [contact | {"address": str(chat)} for chat in chats])
        ids = session.scalars(select(Contact.id).where(Contact.address.in_([str(chat) for chat in chats])))
        consent = {"survey_version_id": version_id, "question_id": "consent", "language": "en", "decision": "agree"}
        session.execute(
            insert(Consent),
            [consent | {"contact_id": i, "notice": "The notice as shown", "recorded_at": NOW} for i in ids],
        )

    await db.write(work)


async def open_tsm_wave(run: Running) -> int:
    opened = await outreach.open_wave(Runtime(run.settings, run.db), "tsm", Audience())
    assert opened is not None
    return opened.invited


async def settled(run: Running, count: int, timeout: float = 30) -> list[Outbox]:
    """Wait until `count` invite rows are no longer queued or sending; returns all invite rows."""
    deadline = time.monotonic() + timeout
    while True:
        async with run.db.read() as session:
            rows = list(await session.scalars(select(Outbox).where(Outbox.kind == "invite")))
        if sum(row.status not in ("queued", "sending") for row in rows) >= count:
            return rows
        assert time.monotonic() < deadline, f"only {[r.status for r in rows]} after {timeout}s"
        await asyncio.sleep(0.05)


@asynccontextmanager
async def wave_going_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chats: range, **per_chat: float
) -> AsyncIterator[Running]:
    """Chorus sending a TSM wave to these residents at 20 messages a second, the fake Bot API's overall limit."""
    fake = FakeTelegram(overall_rate=20, overall_burst=20, **per_chat)
    async with running_chorus(tmp_path, monkeypatch, fake=fake, TELEGRAM_RATE_LIMIT="20", **ANY_TIME) as run:
        await residents(run.db, chats)
        assert await open_tsm_wave(run) == len(chats)
        yield run


async def test_a_wave_goes_out_within_the_overall_limit_once_to_each_person(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chats = range(7000, 7060)
    async with wave_going_out(tmp_path, monkeypatch, chats, chat_rate=1, chat_burst=3) as run:
        fake = run.fake
        await settled(run, 60)
        invites = [m for m in fake.sent if m["method"] == "send" and m["chat_id"] in chats]
        assert sorted(m["chat_id"] for m in invites) == list(chats), "each resident exactly once"
        assert fake.too_many_requests == 0
        span = invites[-1]["at"] - invites[0]["at"]
        assert span >= (60 - 20 / 5) / 20 * 0.9, "no faster than 20 a second after a small burst"


async def invited(run: Running, chat: int) -> dict[str, Any]:
    """One resident invited to a TSM wave; the invite as they got it."""
    await residents(run.db, range(chat, chat + 1))
    await open_tsm_wave(run)
    [invite] = await run.fake.wait_for(chat, 1)
    return invite


async def test_pressing_the_invite_starts_the_survey_and_marks_the_invitation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch, **ANY_TIME) as run:
        invite = await invited(run, 7100)
        assert "would like to hear from you in \u201cTenant Satisfaction Survey" in invite["text"]
        await run.press(7100, "Start the survey")
        await run.fake.wait_for_text(7100, "Are you happy to take part?", after=1)
        async with run.db.read() as session:
            invitation = await session.scalar(select(Invitation))
        assert invitation is not None and invitation.started_at is not None


async def test_the_invite_of_a_wave_closed_since_says_so_and_loses_its_button(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch, **ANY_TIME) as run:
        invite = await invited(run, 7100)
        async with run.db.read() as session:
            wave_id = await session.scalar(select(Invitation.wave_id))
        await run.db.write(lambda s: close_wave(s, wave_id, utc_now()))
        await run.press(7100, "Start the survey")
        await run.fake.wait_for_text(7100, "This survey has closed", after=1)
        assert await run.buttons_gone(7100, invite["message_id"])


async def test_this_years_invite_starts_afresh_someone_who_left_last_years_wave_part_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The annual TSM survey, one version for years: this year's invite welcomed them back to last year's answers,
    and their next answer was refused because last year's wave had closed."""
    async with running_chorus(tmp_path, monkeypatch, CHORUS_INVITE_COOL_OFF_DAYS="0", **ANY_TIME) as run:
        await invited(run, 7300)
        await run.press(7300, "Start the survey")
        await run.fake.wait_for_text(7300, "Are you happy to take part?", after=1)
        await run.press(7300, "I agree")
        async with run.db.read() as session:
            last_year = await session.scalar(select(Invitation.wave_id))
        await run.db.write(lambda s: close_wave(s, last_year, utc_now()))
        answered = len(run.fake.to(7300))
        assert await open_tsm_wave(run) == 1
        await run.fake.wait_for_text(7300, "would like to hear from you", after=answered)
        sent = await run.press(7300, "Start the survey", replies=3)
        assert sent[-1]["text"].endswith("<b>Are you happy to take part?</b>")
        sent = await run.press(7300, "I agree")
        assert "how satisfied or dissatisfied are you" in sent[-1]["text"]


async def test_invited_to_a_new_wave_someone_who_answered_before_starts_again_from_a_leaflet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch, **ANY_TIME) as run:
        await finish_coproduction(run, 7200)
        answered = len(run.fake.to(7200))
        opened = await outreach.open_wave(Runtime(run.settings, run.db), "coproduction-ideas", Audience())
        assert opened is not None and opened.invited == 1
        await run.fake.wait_for_text(7200, "would like to hear from you", after=answered)
        sent = await run.say(7200, "/start coproduction-ideas", replies=3)
        assert sent[-1]["text"].endswith("<b>Are you happy to take part?</b>"), "this wave still waits for them"


async def pulse_begun(run: Running) -> tuple[int, list[dict[str, Any]]]:
    """A member of staff, the only one, invited to a wave of the staff pulse, has pressed its invite's button: the
    wave's id, and what the press brought."""
    await join_as_staff(run)
    opened = await outreach.open_wave(Runtime(run.settings, run.db), "staff-pulse", Audience(role="staff"))
    assert opened is not None and opened.invited == 1
    await run.fake.wait_for_text(STAFF, "would like to hear from you", after=1)
    return opened.wave_id, await run.press(STAFF, "Start the survey", replies=3)


async def test_staff_who_join_while_their_pulse_is_open_are_invited_with_the_welcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new starter given a join code mid-pulse is asked now, not a quarter later; only by their organisation's
    open waves, and once."""
    async with running_chorus(tmp_path, monkeypatch, **ANY_TIME) as run:
        runtime = Runtime(run.settings, run.db)
        async with run.db.read() as session:
            session.add_all(Organisation(slug=slug, name=slug.title(), created_at=NOW) for slug in ("mutual", "other"))
            await session.commit()
        waves = {}
        for name, organisation in (("other's", "other"), ("closed", "mutual"), ("theirs", "mutual")):
            audience = Audience(role="staff", organisations=(organisation,))
            opened = await outreach.open_wave(runtime, "staff-pulse", audience, name=name)
            assert opened is not None and opened.invited == 0, "nobody has joined yet"
            waves[name] = opened.wave_id
        await run.db.write(lambda s: close_wave(s, waves["closed"], utc_now()))
        codes = await run.db.write(lambda s: create_codes(s, "mutual", 2, NOW))

        sent = await run.say(STAFF, f"/start join-{codes[0]}", replies=2)
        assert sent[-2]["text"].startswith("You're now registered as staff of Mutual.")
        assert sent[-1]["text"].startswith("Mutual would like to hear from you in “Staff voice pulse”"), (
            "their employer asks: the template names no organisation"
        )
        async with run.db.read() as session:
            invited = (await session.execute(select(Invitation.wave_id, Invitation.started_at))).all()
        assert invited == [(waves["theirs"], None)], "only their organisation's open wave"
        sent = await run.press(STAFF, "Start the survey", replies=3)
        assert sent[-3]["text"].startswith("This survey is run by Mutual."), "as their invite said"
        async with run.db.read() as session:
            assert await session.scalar(select(Invitation.started_at)) is not None, "counted as the wave's"
        sent = await run.say(STAFF, f"/start join-{codes[1]}")
        assert sent[-1]["text"].startswith("You're now registered as staff of Mutual."), "no second invite"
        await asyncio.sleep(0.2)
        assert "would like to hear from you" not in run.last_text(STAFF)


async def test_a_pulse_left_part_way_says_so_once_its_wave_has_closed_and_is_gone_by_the_next_night(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a resident's survey does: a closed wave takes no more answers. Part of an anonymous survey is never
    released, so once it can no longer be finished it only joins a member of staff to their answers."""
    async with running_chorus(tmp_path, monkeypatch, **ANY_TIME) as run:
        wave_id, _ = await pulse_begun(run)
        await run.say(STAFF, "1")
        await run.db.write(lambda s: close_wave(s, wave_id, utc_now()))
        sent = await run.say(STAFF, "2")
        assert sent[-1]["text"] == "This survey has closed. Thank you for your interest."
        async with run.db.read() as session:
            assert (await session.scalars(select(AnonymousDraft))).first() is not None, "kept until the night"
        purged = await retention.purge(run.db, Retention(SECRET, utc_now(), 730, "retention"))
        assert purged.drafts_deleted == 1
        async with run.db.read() as session:
            assert (await session.scalars(select(AnonymousDraft))).first() is None


async def test_a_pulse_whose_wave_closed_part_way_starts_afresh_from_its_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch, **ANY_TIME) as run:
        wave_id, _ = await pulse_begun(run)
        await run.say(STAFF, "1")
        await run.db.write(lambda s: close_wave(s, wave_id, utc_now()))
        sent = await run.say(STAFF, "/start staff-pulse", replies=3)
        assert "Welcome back" not in "".join(m["text"] for m in sent), "not resumed, only to be refused"
        assert sent[-1]["text"].endswith("<b>I have a real say in decisions that affect my work.</b>"), "the first"
        await run.say(STAFF, "1")
        async with run.db.read() as session:
            [draft] = (await session.scalars(select(AnonymousDraft))).all()
        assert draft.wave_id is None, "the closed wave's part-answered survey is gone; this one is in no wave"


async def test_a_pulse_answered_in_its_wave_is_released_with_its_wave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch, **ANY_TIME) as run:
        wave_id, sent = await pulse_begun(run)
        while "Thank you" not in sent[-1]["text"]:
            sent = await run.say(STAFF, "1")
        assert len(await run.week_ends()) == 1
        async with run.db.read() as session:
            assert await session.scalar(select(Response.wave_id)) == wave_id


async def test_a_pulse_answered_in_its_wave_is_not_answered_again_from_a_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch, **ANY_TIME) as run:
        _, sent = await pulse_begun(run)
        for _ in range(20):
            if "Thank you" in sent[-1]["text"]:
                break
            sent = await run.say(STAFF, "1")
        assert "The results and what we do about them" in sent[-1]["text"]
        sent = await run.say(STAFF, "/start staff-pulse")
        assert sent[-1]["text"] == "You've already answered this survey. Thank you for taking part."
        assert not sent[-1].get("reply_markup"), "no second anonymous answer in the same wave"
        assert len(await run.week_ends()) == 1
        async with run.db.read() as session:
            assert len((await session.scalars(select(Response))).all()) == 1
            assert (await session.scalars(select(AnonymousDraft))).first() is None


async def test_chat_not_found_fails_that_row_for_good_and_the_rest_still_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch, **ANY_TIME) as run:
        run.fake.missing.add(7201)
        await residents(run.db, range(7200, 7203))
        await open_tsm_wave(run)
        rows = {row.address: row for row in await settled(run, 3)}
        assert {address: row.status for address, row in rows.items()} == {
            "7200": "sent",
            "7201": "failed",
            "7202": "sent",
        }
        assert rows["7201"].last_error == "refused: Chat not found"
        assert rows["7201"].attempts == 1, "a refusal is not retried"


async def test_network_trouble_is_retried_with_backoff_and_sent_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch, **ANY_TIME) as run:
        run.fake.bad_gateways = 1
        await residents(run.db, range(7300, 7301))
        await open_tsm_wave(run)
        [row] = await settled(run, 1, timeout=15)
        assert (row.status, row.attempts) == ("sent", 2)
        assert len(run.fake.to(7300)) == 1


async def test_a_blocked_invite_opts_the_contact_out_and_no_reminder_follows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch, **ANY_TIME) as run:
        run.fake.blocked.add(7400)
        await residents(run.db, range(7400, 7401))
        await open_tsm_wave(run)
        [row] = await settled(run, 1)
        assert row.status == "failed" and row.last_error is not None and "blocked" in row.last_error
        await run.opted_out()
        later = Runtime(run.settings, run.db, clock=lambda: utc_now() + timedelta(days=4))
        assert await outreach.send_reminders(later) == 0


async def test_blocking_the_bot_cancels_what_waits_for_them_and_they_are_not_invited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opted out as they block the bot: a queued message is cancelled and a later wave skips them, with no 403."""
    async with running_chorus(tmp_path, monkeypatch, **ANY_TIME) as run:
        await residents(run.db, range(7500, 7502))
        await queued(run, "7500", "A reminder", "test:reminder", "reminder", wait=timedelta(days=1))
        await run.fake.user_blocks(7500)
        async with asyncio.timeout(10):
            while (row := await _outbox_row(run, Outbox.dedupe_key == "test:reminder")).status == "queued":
                await asyncio.sleep(0.02)
        assert (row.status, row.last_error) == ("cancelled", "blocked the bot")
        assert await open_tsm_wave(run) == 1
        await settled(run, 1)
        assert len(run.fake.to(7501)) == 1 and run.fake.to(7500) == []


async def queued(run: Running, address: str, text: str, key: str, kind: str, wait: timedelta) -> None:
    """A Telegram message in the outbox for `address`, due after `wait`."""
    row = outbox_row(
        channel="telegram",
        address=address,
        payload={"method": "sendMessage", "text": text},
        dedupe_key=key,
        now=utc_now(),
        not_before=utc_now() + wait,
        kind=kind,
    )
    await run.db.write(lambda session: enqueue(session, row))


async def _outbox_row(run: Running, which: ColumnElement[bool]) -> Outbox:
    async with run.db.read() as session:
        row = await session.scalar(select(Outbox).where(which))
    assert row is not None
    return row


async def _outbox_rows(run: Running) -> list[Outbox]:
    async with run.db.read() as session:
        return list(await session.scalars(select(Outbox)))


async def summary_queued(run: Running, chat: str) -> None:
    """A week of twelve analysed TSM responses, and its summary queued for this Telegram chat."""
    await analysed(run.db, 12)
    await subscribed(run.db, chat=("telegram", chat, None))
    assert await send_weekly_summaries(Runtime(run.settings, run.db, clock=lambda: MONDAY)) == 1


async def test_the_weekly_summary_reaches_a_telegram_subscriber_as_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_chorus(tmp_path, monkeypatch, **ANY_TIME) as run:
        await summary_queued(run, "7400")
        await run.fake.wait_for(7400, 1)
        [sent] = [m for m in run.fake.sent if m["chat_id"] == 7400]
        document = sent["document"]
        assert document["filename"] == "chorus-summary-2026-11-23-to-2026-11-29.html"
        page = document["content"].decode()
        assert page.startswith("<!doctype html>") and "TP01" in page and "Pat" not in page
        caption = run.fake.messages[(7400, sent["message_id"])]["caption"]
        assert caption.startswith("What people said, 2026-11-23 to 2026-11-29")
        assert "Tenant Satisfaction Survey: 12 responses" in caption


async def ended_subscriptions(run: Running) -> list[str]:
    async with run.db.read() as session:
        return list(await session.scalars(select(AuditEntry.subject).where(AuditEntry.action == "subscription.remove")))


async def test_a_group_that_removes_the_bot_gets_no_more_summaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Removed from a commissioners' group, the bot ends the group's subscription at once, so no week's
    summary goes there to be refused; what waited for the group is cancelled."""
    async with running_chorus(tmp_path, monkeypatch, webhook=True, **ANY_TIME) as run:
        await subscribed(run.db, group=("telegram", "-7700", None), other=("telegram", "7701", None))
        await queued(run, "-7700", "waiting", "waiting", "summary", wait=timedelta(hours=1))
        await run.fake.group_removes_bot(-7700)  # under a webhook, applied once delivered
        assert (await _outbox_row(run, Outbox.dedupe_key == "waiting")).status == "cancelled"
        async with run.db.read() as session:
            assert list(await session.scalars(select(SummarySubscription.address))) == ["7701"]
        assert len(await ended_subscriptions(run)) == 1
        await analysed(run.db, 12)
        assert await send_weekly_summaries(Runtime(run.settings, run.db, clock=lambda: MONDAY)) == 1
        await run.fake.wait_for(7701, 1)
        assert run.fake.to(-7700) == []


async def test_a_subscriber_found_unreachable_when_a_summary_is_refused_gets_no_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Had the bot been blocked unseen (say, while Chorus was down and the update expired), the 403 to
    the next summary ends the subscription, rather than every week's being refused in turn."""
    async with running_chorus(tmp_path, monkeypatch, **ANY_TIME) as run:
        run.fake.blocked.add(7702)
        await summary_queued(run, "7702")
        async with asyncio.timeout(10):
            while await ended_subscriptions(run) == []:
                await asyncio.sleep(0.02)
        async with run.db.read() as session:
            assert list(await session.scalars(select(SummarySubscription))) == []
        assert (await _outbox_row(run, Outbox.kind == "summary")).status == "failed"


async def test_a_group_becoming_a_supergroup_takes_its_subscription_and_waiting_messages_along_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telegram tells the group's bots of the move as it happens: what Chorus holds for the group follows it
    then, so the next summary goes straight to the new id, and nothing is said in either chat."""
    async with running_chorus(tmp_path, monkeypatch, webhook=True, **ANY_TIME) as run:
        await subscribed(run.db, chat=("telegram", "-7600", None))
        await queued(run, "-7600", "earlier, waiting for a retry", "earlier", "summary", wait=timedelta(seconds=1))
        await run.fake.group_becomes_supergroup(-7600, -1007600)  # under a webhook, applied once delivered
        assert (await _outbox_row(run, Outbox.dedupe_key == "earlier")).address == "-1007600"
        async with run.db.read() as session:
            assert list(await session.scalars(select(SummarySubscription.address))) == ["-1007600"]
        await analysed(run.db, 12)
        assert await send_weekly_summaries(Runtime(run.settings, run.db, clock=lambda: MONDAY)) == 1
        earlier, summary = await run.fake.wait_for(-1007600, 2)
        assert earlier["text"] == "earlier, waiting for a retry"
        assert summary["document"]["filename"] == "chorus-summary-2026-11-23-to-2026-11-29.html"
        async with asyncio.timeout(10):
            while {row.status for row in await _outbox_rows(run)} != {"sent"}:
                await asyncio.sleep(0.02)
        assert {(row.address, row.attempts) for row in await _outbox_rows(run)} == {("-1007600", 1)}, (
            "no failed try at the old id"
        )
        assert run.fake.to(-7600) == [], "nothing said in the old group about the move, nor in the new"


async def test_a_group_that_became_a_supergroup_gets_its_summary_at_its_new_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telegram gives a group a new id when it becomes a supergroup; the summary and the subscription follow it."""
    async with running_chorus(tmp_path, monkeypatch, **ANY_TIME) as run:
        run.fake.migrated[-7500] = -1007500
        await summary_queued(run, "-7500")
        [sent] = await run.fake.wait_for(-1007500, 1)
        assert sent["document"]["filename"] == "chorus-summary-2026-11-23-to-2026-11-29.html"
        async with asyncio.timeout(10):
            while (row := await _outbox_row(run, Outbox.kind == "summary")).status == "sending":
                await asyncio.sleep(0.02)
        assert (row.status, row.address, row.attempts) == ("sent", "-1007500", 2)
        async with run.db.read() as session:
            assert list(await session.scalars(select(SummarySubscription.address))) == ["-1007500"]


async def test_a_resident_answering_during_a_large_wave_is_not_kept_waiting_behind_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chats = range(7000, 7300)
    async with wave_going_out(tmp_path, monkeypatch, chats, chat_rate=1000, chat_burst=1000) as run:
        await run.fake.wait_for(chats[0], 1)
        await run.press(chats[0], "Start the survey")
        await run.fake.wait_for_text(chats[0], "Are you happy to take part?", after=1)
        await run.press(chats[0], "I agree")
        invited = sum(m["method"] == "send" and m["chat_id"] in chats[1:] for m in run.fake.sent)
        assert invited < 100, f"their next questions came only after {invited} of the wave's 299 other invites"


async def test_a_resident_who_begins_from_a_leaflet_while_their_invite_waits_is_not_then_invited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chats = range(7000, 7100)
    last = chats[-1]  # their invite waits behind 99 others, at 20 a second
    async with wave_going_out(tmp_path, monkeypatch, chats, chat_rate=1000, chat_burst=1000) as run:
        sent = await run.say(last, "/start tsm", replies=3)
        assert sent[-1]["text"].endswith("<b>Are you happy to take part?</b>")
        rows = await settled(run, len(chats))
        assert [(row.status, row.last_error) for row in rows if row.address == str(last)] == [
            ("cancelled", "they had begun answering")
        ]
        assert not [m for m in run.fake.to(last) if "would like to hear from you" in m.get("text", "")]
        invited = [m["chat_id"] for m in run.fake.sent if m["method"] == "send" and "would like" in m.get("text", "")]
        assert sorted(invited) == list(chats[:-1]), "everyone else is invited once"
