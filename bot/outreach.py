"""Outreach: open and close waves, invite their audience and remind those who have not answered.

Each decision and the messages it causes are committed together: the
invitations and their outbox rows in one transaction, a reminder and the
invitation's reminder count in another. Scheduled waves claim their cron slot
in scheduled_run in the same transaction, so a restart, a second process or a
late tick can never open the same slot twice, and a slot missed while the
service was down is opened on the next tick (up to LOOKBACK late).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import metrics
from bot.errors import WaveError
from bot.participation import latest_version
from bot.runtime import Runtime
from bot.schedule import LOOKBACK, QuietClock, ReminderRule, latest_slot, reminder_due, slot_key
from bot.telegram.invites import invitation_message
from storage.audit import audit
from storage.catalogue import load_version
from storage.errors import NotFound
from storage.models import Organisation, SurveyVersion
from storage.models import Survey as SurveyRow
from storage.outbox import INVITE, REMINDER, enqueue_many, outbox_row
from storage.waves import (
    Audience,
    Invitee,
    Pending,
    claim_slot,
    close_wave,
    create_wave,
    invite,
    mark_reminded,
    open_waves_for,
    pending_invitations,
    select_audience,
)
from surveys.model import Audience as SurveyAudience
from surveys.model import Survey

logger = logging.getLogger(__name__)
REACHABLE_CHANNELS = {"telegram"}


@dataclass(frozen=True)
class OpenedWave:
    wave_id: int
    survey: str
    invited: int
    not_before: datetime


EVERYONE = "Your local services"  # who asks, when neither the survey nor the person names an organisation
WhoAsks = Callable[[int | None], str]  # from the person's organisation id, the name an invite says is asking


def who_asks(session: Session, survey: Survey) -> WhoAsks:
    """Who an invite or reminder says is asking: the survey's organisation, by name; for a survey that names
    none, the person's own (a member of staff's employer, when every mutual runs the same pulse template)."""
    slug = survey.metadata.organisation
    if slug is not None:
        named = session.scalar(select(Organisation.name).where(Organisation.slug == slug)) or slug
        return lambda _: named
    names: dict[int | None, str] = dict(session.execute(select(Organisation.id, Organisation.name)).all())
    return lambda organisation_id: names.get(organisation_id, EVERYONE)


def _survey_of(session: Session, version_id: int) -> tuple[Survey, WhoAsks]:
    """A survey version, and who its invites and reminders say is asking."""
    _, survey = load_version(session, version_id)
    return survey, who_asks(session, survey)


async def open_wave(
    runtime: Runtime, slug: str, audience: Audience, *, name: str | None = None, slot: str | None = None
) -> OpenedWave | None:
    """Open a wave of the survey's latest version and queue its invites; None if this scheduled slot already ran."""
    now = runtime.clock()
    quiet = QuietClock.of(runtime.settings)
    not_before = quiet.next_allowed(now)
    cool_off_since = now - timedelta(days=runtime.settings.invite_cool_off_days)

    def work(session: Session) -> OpenedWave | None:
        version_id = latest_version(session, slug)
        if version_id is None:
            raise WaveError(f"no survey called '{slug}': import it with `chorus survey import FILE`")
        if slot is not None and not claim_slot(session, f"wave:{slug}", slot, now):
            return None
        version, survey = load_version(session, version_id)
        try:
            contacts = select_audience(session, audience, version.survey_id, cool_off_since=cool_off_since)
        except NotFound as error:
            raise WaveError(f"cannot open a wave of '{slug}': {error}") from None
        reminders = survey.metadata.reminders
        wave = create_wave(
            session,
            version_id=version_id,
            name=name or f"{slug} {now.astimezone(quiet.tz):%Y-%m-%d}",
            audience=audience,
            now=now,
            reminders_max=reminders.maximum,
            reminder_every_days=reminders.every_days,
        )
        reachable = [c for c in contacts if c.channel in REACHABLE_CHANNELS]
        invitees = invite(session, wave.id, reachable, now)
        asks = who_asks(session, survey)
        enqueue_many(
            session,
            (
                _invite(i, survey, asks(i.organisation_id), now, not_before, reminder=False, started=False)
                for i in invitees
            ),
        )
        metrics.QUEUED.labels(INVITE).inc(len(invitees))
        actor = "schedule" if slot is not None else "cli"
        audit(
            session,
            now,
            actor,
            "wave.open",
            f"wave {wave.id}",
            survey=slug,
            invited=len(invitees),
            **audience.to_json(),
        )
        return OpenedWave(wave.id, slug, len(invitees), not_before)

    opened = await runtime.db.write(work)
    if opened is not None:
        logger.info("wave %s of %s opened: %s invites queued", opened.wave_id, slug, opened.invited)
    return opened


def _invite(
    invitee: Invitee,
    survey: Survey,
    organisation: str,
    now: datetime,
    not_before: datetime,
    *,
    reminder: bool,
    started: bool,
    number: int = 0,
) -> dict[str, Any]:
    """The outbox row of an invite or a reminder; its dedupe key makes each one queue once."""
    payload = invitation_message(
        survey, organisation, invitee.language, invitee.invitation_id, reminder=reminder, started=started
    )
    kind = REMINDER if reminder else INVITE
    return outbox_row(
        channel=invitee.channel,
        address=invitee.address,
        payload=payload,
        dedupe_key=f"{kind}:{invitee.invitation_id}:{number}",
        now=now,
        not_before=not_before,
        kind=kind,
        invitation_id=invitee.invitation_id,
    )


def join_open_waves(
    session: Session, contact_id: int, now: datetime, *, cool_off_days: int
) -> list[tuple[int, Survey, str]]:
    """Invite someone who has just joined to the open waves that would have invited them: each invitation's id,
    with its survey and the name of the organisation that asks, for the invite to go with the welcome."""
    since = now - timedelta(days=cool_off_days)
    joined = []
    for wave_id, version_id, reachable in open_waves_for(session, contact_id, cool_off_since=since):
        [invitee] = invite(session, wave_id, [reachable], now)
        survey, asks = _survey_of(session, version_id)
        joined.append((invitee.invitation_id, survey, asks(invitee.organisation_id)))
    return joined


async def close(runtime: Runtime, wave_id: int) -> int:
    """Close a wave: what it has not sent yet is cancelled, its reminders stop, and a press on its
    invite says it has closed. Returns how many invites and reminders were cancelled."""
    now = runtime.clock()

    def work(session: Session) -> int:
        cancelled = close_wave(session, wave_id, now)
        audit(session, now, "cli", "wave.close", f"wave {wave_id}", cancelled=cancelled)
        return cancelled

    try:
        return await runtime.db.write(work)
    except NotFound as error:
        raise WaveError(str(error)) from None


async def send_reminders(runtime: Runtime) -> int:
    """Queue a reminder for every non-completer whose turn has come; nothing in quiet hours. Returns how many."""
    now = runtime.clock()
    if QuietClock.of(runtime.settings).is_quiet(now):
        return 0

    def work(session: Session) -> int:
        due = [
            pending
            for pending in pending_invitations(session)
            if reminder_due(
                ReminderRule(pending.reminders_max, timedelta(days=pending.reminder_every_days)),
                reminders_sent=pending.reminders_sent,
                invited_at=pending.invited_at,
                last_reminded_at=pending.last_reminded_at,
                now=now,
            )
        ]
        surveys = {version_id: _survey_of(session, version_id) for version_id in {p.version_id for p in due}}

        def reminder(p: Pending) -> dict[str, Any]:
            survey, asks = surveys[p.version_id]
            invitee = Invitee(p.invitation_id, p.contact_id, p.channel, p.address, p.language, p.organisation_id)
            number = p.reminders_sent + 1
            return _invite(
                invitee, survey, asks(p.organisation_id), now, now, reminder=True, started=p.started, number=number
            )

        enqueue_many(session, (reminder(p) for p in due))
        mark_reminded(session, [p.invitation_id for p in due], now)
        return len(due)

    sent = await runtime.db.write(work)
    if sent:
        metrics.QUEUED.labels(REMINDER).inc(sent)
        logger.info("%s reminders queued", sent)
    return sent


async def open_scheduled_waves(runtime: Runtime) -> list[OpenedWave]:
    """Open a wave for every survey whose schedule has fired since it last ran (at most LOOKBACK ago).

    A survey whose wave cannot open (it names an area not added yet) is
    reported and passed over: the others, and the reminders after them,
    still go; its slot opens on the first minute after it is put right.
    """
    now = runtime.clock()
    opened = []
    for slug, survey, imported_at in await _scheduled_surveys(runtime):
        assert survey.metadata.schedule is not None
        tz = ZoneInfo(survey.metadata.timezone or runtime.settings.timezone)
        slot = latest_slot(survey.metadata.schedule, tz, since=max(imported_at, now - LOOKBACK), now=now)
        if slot is None:
            continue
        key = slot_key(slot)
        try:
            wave = await open_wave(runtime, slug, _audience_of(survey), slot=key)
        except WaveError as error:
            if runtime.first_time(f"wave:{slug}:{key}"):
                logger.error("%s (its scheduled wave of %s; tried again each minute until it opens)", error, key)
            continue
        if wave is not None:
            opened.append(wave)
    return opened


def _audience_of(survey: Survey) -> Audience:
    """Staff surveys go to the organisation's staff; resident surveys to residents of the survey's area and service."""
    metadata = survey.metadata
    if metadata.audience is SurveyAudience.STAFF:
        return Audience(role="staff", organisations=(metadata.organisation,) if metadata.organisation else ())
    return Audience(
        role="resident",
        areas=(metadata.area,) if metadata.area else (),
        services=(metadata.service,) if metadata.service else (),
    )


async def _scheduled_surveys(runtime: Runtime) -> list[tuple[str, Survey, datetime]]:
    return await runtime.db.fetch(_surveys_with_schedules)


def _surveys_with_schedules(session: Session) -> list[tuple[str, Survey, datetime]]:
    """Each survey's latest version that has a schedule, with the time it was imported."""
    rows = session.execute(
        select(SurveyRow.slug, SurveyVersion.id, SurveyVersion.created_at)
        .join(SurveyVersion, SurveyVersion.survey_id == SurveyRow.id)
        .order_by(SurveyRow.slug, SurveyVersion.number.desc())
    ).all()
    latest: dict[str, tuple[int, datetime]] = {}
    for slug, version_id, created_at in rows:
        latest.setdefault(slug, (version_id, created_at))
    found = []
    for slug, (version_id, created_at) in latest.items():
        _, survey = load_version(session, version_id)
        if survey.metadata.schedule:
            found.append((slug, survey, created_at))
    return found


async def tick(runtime: Runtime, wake: Callable[[], None]) -> None:
    """The scheduler's minute: open due waves, queue due reminders, and wake the sender for them."""
    opened = await open_scheduled_waves(runtime)
    if await send_reminders(runtime) or any(wave.invited for wave in opened):
        wake()
