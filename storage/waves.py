"""Waves and invitations: who is asked to take part in a run of a survey, and how far each has got.

The audience of a wave is the contacts who can be reached for it: they agreed
to a Chorus consent notice (or joined as staff with their organisation's code),
have not opted out, match the wave's areas, services or organisations, and were
not invited to the same survey within the cool-off period.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeAlias

from sqlalchemy import ColumnElement, Row, bindparam, exists, func, or_, select, update
from sqlalchemy.orm import Session

from storage.errors import NotFound
from storage.models import (
    Area,
    Consent,
    Contact,
    Invitation,
    Organisation,
    Outbox,
    ScheduledRun,
    Service,
    Survey,
    SurveyVersion,
    Wave,
)
from storage.outbox import CANCELLED, INVITE, QUEUED, status_is
from storage.prepared import Prepared
from storage.upsert import insert_many_once, insert_once

# Why an invite or reminder still queued was not sent (the outbox row's last_error).
WAVE_CLOSED = "the wave closed"
BEGAN = "they had begun answering"
FINISHED = "they had finished the survey"
OPTED_OUT = "they had opted out"
FORGOTTEN = "they had asked to be forgotten"

# A contact a wave would invite: (id, channel, address, language, organisation id). Plain rows,
# not ORM objects: a wave's audience can be tens of thousands, loaded while the writer is held.
Reachable: TypeAlias = "Row[int, str, str, str | None, int | None]"


@dataclass(frozen=True)
class Audience:
    """Who a wave is for: slugs of areas, services and organisations (empty: any), and the role."""

    role: str = "resident"
    areas: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    organisations: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "areas": list(self.areas),
            "services": list(self.services),
            "organisations": list(self.organisations),
        }

    @classmethod
    def from_json(cls, stored: dict[str, Any]) -> Audience:
        return cls(
            role=stored.get("role", "resident"),
            areas=tuple(stored.get("areas", ())),
            services=tuple(stored.get("services", ())),
            organisations=tuple(stored.get("organisations", ())),
        )


@dataclass(frozen=True)
class Invitee:
    invitation_id: int
    contact_id: int
    channel: str
    address: str
    language: str | None
    organisation_id: int | None  # a member of staff's employer, who asks when the survey names nobody


# How an officer adds what a wave's audience names.
_ADD = {
    "area": " (add it with `chorus org area ORGANISATION SLUG --name NAME`)",
    "service": " (add it with `chorus org service ORGANISATION SLUG --name NAME`)",
    "organisation": " (add it with `chorus org add SLUG --name NAME`)",
}


def _ids(session: Session, model: Any, slugs: tuple[str, ...], what: str) -> list[int]:
    found: dict[str, int] = dict((session.execute(select(model.slug, model.id).where(model.slug.in_(slugs)))).all())
    missing = [slug for slug in slugs if slug not in found]
    if missing:
        raise NotFound(f"no {what} called {', '.join(missing)}{_ADD.get(what, '')}")
    return list(found.values())


def select_audience(
    session: Session, audience: Audience, survey_id: int, *, cool_off_since: datetime, contact_id: int | None = None
) -> Sequence[Reachable]:
    """The contacts a new wave of this survey would invite, oldest first (of them, only `contact_id` if given)."""
    consented = exists().where(Consent.contact_id == Contact.id, Consent.decision == "agree")
    recently = (
        exists()
        .where(Invitation.contact_id == Contact.id, Invitation.sent_at >= cool_off_since)
        .where(Invitation.wave_id == Wave.id, Wave.survey_version_id == SurveyVersion.id)
        .where(SurveyVersion.survey_id == survey_id)
    )
    query = select(Contact.id, Contact.channel, Contact.address, Contact.language, Contact.organisation_id).where(
        Contact.opted_out_at.is_(None),
        Contact.role == audience.role,
        or_(consented, Contact.role == "staff"),
        ~recently,
    )
    if audience.areas:
        query = query.where(Contact.area_id.in_(_ids(session, Area, audience.areas, "area")))
    if audience.services:
        query = query.where(Contact.service_id.in_(_ids(session, Service, audience.services, "service")))
    if audience.organisations:
        organisations = _ids(session, Organisation, audience.organisations, "organisation")
        query = query.where(Contact.organisation_id.in_(organisations))
    if contact_id is not None:
        query = query.where(Contact.id == contact_id)
    return (session.execute(query.order_by(Contact.id))).all()


def open_waves_for(session: Session, contact_id: int, *, cool_off_since: datetime) -> list[tuple[int, int, Reachable]]:
    """The open waves that would invite this contact if they opened now, as (wave id, survey version id, the
    contact as a wave invites them).

    Someone who joins as staff while their organisation's pulse is open would
    otherwise not be asked until the next one, a quarter later.
    """
    waves = session.execute(
        select(Wave.id, Wave.survey_version_id, SurveyVersion.survey_id, Wave.audience)
        .join(SurveyVersion, SurveyVersion.id == Wave.survey_version_id)
        .where(Wave.closed_at.is_(None))
        .where(~exists().where(Invitation.wave_id == Wave.id, Invitation.contact_id == contact_id))
        .order_by(Wave.id)
    ).all()
    found = []
    for wave_id, version_id, survey_id, audience in waves:
        found += [
            (wave_id, version_id, reachable)
            for reachable in select_audience(
                session, Audience.from_json(audience), survey_id, cool_off_since=cool_off_since, contact_id=contact_id
            )
        ]
    return found


def create_wave(
    session: Session,
    *,
    version_id: int,
    name: str,
    audience: Audience,
    now: datetime,
    reminders_max: int,
    reminder_every_days: int,
    organisation_id: int | None = None,
) -> Wave:
    wave = Wave(
        survey_version_id=version_id,
        organisation_id=organisation_id,
        name=name,
        audience=audience.to_json(),
        reminders_max=reminders_max,
        reminder_every_days=reminder_every_days,
        opened_at=now,
    )
    session.add(wave)
    session.flush()
    return wave


def invite(session: Session, wave_id: int, contacts: Sequence[Reachable], now: datetime) -> list[Invitee]:
    """One invitation per contact, in batches; returns them with where to reach each person."""
    rows = (
        {"wave_id": wave_id, "contact_id": contact_id, "token": secrets.token_urlsafe(16), "sent_at": now}
        for contact_id, *_ in contacts
    )
    insert_many_once(session, Invitation, rows)
    invited = select(Invitation.contact_id, Invitation.id).where(Invitation.wave_id == wave_id)
    if len(contacts) == 1:  # someone joining an open wave: their invitation, not the whole wave's
        invited = invited.where(Invitation.contact_id == contacts[0][0])
    ids = dict(session.execute(invited).all())
    # Unpacked, not read by name: a row's attributes cost 170 ms over 10,000 contacts, all of it holding the loop.
    return [
        Invitee(ids[contact_id], contact_id, channel, address, language, organisation_id)
        for contact_id, channel, address, language, organisation_id in contacts
    ]


def close_wave(session: Session, wave_id: int, now: datetime) -> int:
    """Close the wave, and cancel its invites and reminders still queued; how many were cancelled.

    A 10,000-person wave takes over five minutes to go out at Telegram's 30
    a second; an officer who closes it meanwhile (opened by mistake, say)
    means nobody more to be asked. What the sender has already taken (its
    window, at most 64) it looks up before sending (`no_longer_wanted`).
    """
    wave = session.get(Wave, wave_id)
    if wave is None:
        raise NotFound(f"no wave {wave_id}; `chorus wave list` shows them")
    if wave.closed_at is None:
        wave.closed_at = now
    its_invitations = select(Invitation.id).where(Invitation.wave_id == wave_id)
    result = session.execute(
        update(Outbox)
        .where(status_is(Outbox.status, QUEUED), Outbox.invitation_id.in_(its_invitations))
        .values(status=CANCELLED, last_error=WAVE_CLOSED)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def claim_slot(session: Session, job: str, slot: str, now: datetime) -> bool:
    """Record that a scheduled job's slot ran, in the caller's transaction; False when it already had."""
    return insert_once(session, ScheduledRun, job=job, slot=slot, ran_at=now)


def slot_ran(session: Session, job: str, slot: str) -> bool:
    """Whether a scheduled job's slot has run: a cheap check before work that claim_slot will settle."""
    return session.get(ScheduledRun, (job, slot)) is not None


@dataclass(frozen=True)
class WaveListing:
    id: int
    survey: str
    name: str
    opened_at: datetime
    closed_at: datetime | None
    invited: int
    started: int
    completed: int
    reminded: int


def list_waves(session: Session) -> list[WaveListing]:
    rows = session.execute(
        select(
            Wave.id,
            Survey.slug,
            Wave.name,
            Wave.opened_at,
            Wave.closed_at,
            func.count(Invitation.id),
            func.count(Invitation.started_at),
            func.count(Invitation.completed_at),
            func.count(Invitation.last_reminded_at),
        )
        .join(SurveyVersion, SurveyVersion.id == Wave.survey_version_id)
        .join(Survey, Survey.id == SurveyVersion.survey_id)
        .outerjoin(Invitation, Invitation.wave_id == Wave.id)
        .group_by(Wave.id, Survey.slug, Wave.name, Wave.opened_at, Wave.closed_at)
        .order_by(Wave.id)
    )
    return [WaveListing(*row) for row in rows]


def wave_sends(session: Session, wave_id: int) -> dict[str, int]:
    """How the wave's invites stand in the outbox, by status (queued, sending, sent, failed, cancelled)."""
    rows = session.execute(
        select(Outbox.status, func.count())
        .join(Invitation, Invitation.id == Outbox.invitation_id)
        .where(Invitation.wave_id == wave_id, Outbox.kind == INVITE)
        .group_by(Outbox.status)
    )
    return {status: int(count) for status, count in rows}


@dataclass(frozen=True)
class Pending:
    """An invitation that has not been completed, in an open wave, to a contact who can still be reached."""

    invitation_id: int
    wave_id: int
    version_id: int
    contact_id: int
    channel: str
    address: str
    language: str | None
    organisation_id: int | None
    invited_at: datetime
    reminders_sent: int
    last_reminded_at: datetime | None
    started: bool
    reminders_max: int
    reminder_every_days: int


def pending_invitations(session: Session) -> list[Pending]:
    rows = session.execute(
        select(
            Invitation.id.label("invitation_id"),
            Wave.id.label("wave_id"),
            Wave.survey_version_id.label("version_id"),
            Contact.id.label("contact_id"),
            Contact.channel,
            Contact.address,
            Contact.language,
            Contact.organisation_id,
            Invitation.sent_at.label("invited_at"),
            Invitation.reminders_sent,
            Invitation.last_reminded_at,
            Invitation.started_at.is_not(None).label("started"),
            Wave.reminders_max,
            Wave.reminder_every_days,
        )
        .join(Wave, Wave.id == Invitation.wave_id)
        .join(Contact, Contact.id == Invitation.contact_id)
        .where(
            Wave.closed_at.is_(None),
            Invitation.completed_at.is_(None),
            Invitation.sent_at.is_not(None),
            Invitation.reminders_sent < Wave.reminders_max,
            Contact.opted_out_at.is_(None),
        )
        .order_by(Invitation.id)
    )
    return [Pending(**row._asdict()) for row in rows]


def mark_reminded(session: Session, invitation_ids: list[int], now: datetime) -> None:
    if invitation_ids:
        session.execute(
            update(Invitation)
            .where(Invitation.id.in_(invitation_ids))
            .values(reminders_sent=Invitation.reminders_sent + 1, last_reminded_at=now)
        )


def day_of(now: datetime) -> datetime:
    """Invitations of anonymous surveys keep times only to the day, so they cannot be matched to answers."""
    return datetime(now.year, now.month, now.day, tzinfo=UTC)


def open_invitation(session: Session, contact_id: int, version_id: int) -> Invitation | None:
    """The contact's invitation to this version in a wave still open, if any."""
    return session.scalar(
        select(Invitation)
        .join(Wave, Wave.id == Invitation.wave_id)
        .where(Invitation.contact_id == contact_id, Wave.survey_version_id == version_id, Wave.closed_at.is_(None))
        .order_by(Invitation.id.desc())
        .limit(1)
    )


def mark_started(session: Session, invitation_id: int, now: datetime, *, channel: str, address: str) -> None:
    """They began answering (from a leaflet, say, while their invite waited in a wave): what the wave
    still has queued for them asks them to start, and is cancelled."""
    session.execute(
        update(Invitation)
        .where(Invitation.id == invitation_id, Invitation.started_at.is_(None))
        .values(started_at=day_of(now))
    )
    _CANCEL_BEGUN.execute(session, {"to_channel": channel, "to_address": address, "invitation": invitation_id})


_INVITATION = Invitation.metadata.tables["invitation"]
_OUTBOX = Outbox.metadata.tables["outbox"]
_WAVE = Wave.metadata.tables["wave"]


def _cancelling_theirs(invitations: ColumnElement[bool], reason: str) -> Prepared:
    """A person's invites and reminders (the rows with an invitation_id) still queued, cancelled.

    Built once: as an ORM UPDATE built on each call it cost 0.8 ms a finished
    survey, against 31 us for the rest of marking it. Found by channel and
    address through ix_outbox_order: filtered by kind as well, SQLite walked
    ix_outbox_conversation, every invite a wave still has queued.
    """
    return Prepared(
        update(_OUTBOX)
        .where(
            status_is(_OUTBOX.c.status, QUEUED),
            _OUTBOX.c.channel == bindparam("to_channel"),
            _OUTBOX.c.address == bindparam("to_address"),
            invitations,
        )
        .values(status=CANCELLED, last_error=reason)
    )


_CANCEL_BEGUN = _cancelling_theirs(_OUTBOX.c.invitation_id == bindparam("invitation"), BEGAN)
_TO_VERSION = (
    select(_INVITATION.c.id)
    .join(_WAVE, _WAVE.c.id == _INVITATION.c.wave_id)
    .where(_INVITATION.c.contact_id == bindparam("who"), _WAVE.c.survey_version_id == bindparam("version"))
)
_CANCEL_FINISHED = _cancelling_theirs(_OUTBOX.c.invitation_id.in_(_TO_VERSION), FINISHED)
# Built once: it runs whenever anyone finishes a survey.
_COMPLETE = Prepared(
    update(_INVITATION).where(
        _INVITATION.c.contact_id == bindparam("who"),
        _INVITATION.c.wave_id.in_(select(Wave.id).where(Wave.survey_version_id == bindparam("version"))),
        _INVITATION.c.completed_at.is_(None),
    )
)


def mark_completed(
    session: Session, contact_id: int, version_id: int, now: datetime, *, channel: str, address: str
) -> None:
    """The contact finished this version: their invitations to it are done (to the day), and an invite
    or reminder to it still queued is cancelled."""
    _COMPLETE.execute(session, {"who": contact_id, "version": version_id, "completed_at": day_of(now)})
    theirs = {"to_channel": channel, "to_address": address, "who": contact_id, "version": version_id}
    _CANCEL_FINISHED.execute(session, theirs)


def no_longer_wanted(session: Session, invitation_id: int, kind: str) -> str | None:
    """Why an invite or reminder the sender has taken should not go after all; None when it should.

    Closing the wave, an opt-out, an erasure, beginning and finishing cancel
    what is still queued, but not what the sender has already taken: its
    window holds up to 64 rows, two seconds of a wave at Telegram's limit,
    and a resident who sent /stop was still invited. A reminder still goes to
    someone who has begun, as the reminders that ask them to continue do.
    """
    row = session.execute(
        select(
            Wave.closed_at, Invitation.contact_id, Invitation.started_at, Invitation.completed_at, Contact.opted_out_at
        )
        .join(Wave, Wave.id == Invitation.wave_id)
        .outerjoin(Contact, Contact.id == Invitation.contact_id)
        .where(Invitation.id == invitation_id)
    ).first()
    if row is None or row.contact_id is None:
        return FORGOTTEN
    if row.closed_at is not None:
        return WAVE_CLOSED
    if row.opted_out_at is not None:
        return OPTED_OUT
    if row.completed_at is not None:
        return FINISHED
    if row.started_at is not None and kind == INVITE:
        return BEGAN
    return None
