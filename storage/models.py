"""The schema: personal data (contacts and what names them) kept apart from answers.

Responses carry a pseudonymous participant key, or none at all for anonymous
surveys. Response and answer rows are keyed by random ids and, on SQLite,
stored WITHOUT ROWID, so neither their ids nor their storage order says when
they were written: an anonymous answer cannot be joined to an invitation by time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import JSONType, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}
NO_ROWID = {"sqlite_with_rowid": False}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
    }


class Organisation(Base):
    __tablename__ = "organisation"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    created_at: Mapped[datetime]


class Area(Base):
    __tablename__ = "area"
    __table_args__ = (UniqueConstraint("organisation_id", "slug"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))


class Service(Base):
    __tablename__ = "service"
    __table_args__ = (UniqueConstraint("organisation_id", "slug"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))


class Contact(Base):
    """A person Chorus can reach: personal data, erased whole by `forget`."""

    __tablename__ = "contact"
    __table_args__ = (UniqueConstraint("channel", "address"), NEVER_REUSE_IDS)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16), default="resident")
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id", ondelete="SET NULL"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id", ondelete="SET NULL"))
    opted_out_at: Mapped[datetime | None]
    current_version_id: Mapped[int | None] = mapped_column(ForeignKey("survey_version.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class StaffCode(Base):
    """A one-time code that lets a member of staff join their organisation; only its hash is kept."""

    __tablename__ = "staff_code"
    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Survey(Base):
    __tablename__ = "survey"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class SurveyVersion(Base):
    """A survey stored whole (surveys.definition); once answered it never changes (a change is a new version)."""

    __tablename__ = "survey_version"
    __table_args__ = (UniqueConstraint("survey_id", "version"), UniqueConstraint("survey_id", "number"))
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="RESTRICT"))
    version: Mapped[str] = mapped_column(String(32))
    number: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]]
    anonymous: Mapped[bool] = mapped_column(Boolean)
    keep_anonymised: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class Consent(Base):
    """The exact notice a person was shown, in the language shown, and what they decided."""

    __tablename__ = "consent"
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    survey_version_id: Mapped[int] = mapped_column(ForeignKey("survey_version.id", ondelete="RESTRICT"))
    question_id: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16))
    notice: Mapped[str] = mapped_column(Text)
    decision: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime]


class Wave(Base):
    """A run of one survey version for an audience; closing it stops its reminders."""

    __tablename__ = "wave"
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_version_id: Mapped[int] = mapped_column(ForeignKey("survey_version.id", ondelete="RESTRICT"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    audience: Mapped[dict[str, Any]]
    reminders_max: Mapped[int] = mapped_column(Integer, default=2)
    reminder_every_days: Mapped[int] = mapped_column(Integer, default=3)
    opened_at: Mapped[datetime]
    closes_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class Invitation(Base):
    """Wave x contact. For anonymous surveys the only record that a person took part, to the day.

    `sent_at` is when the invite was queued in the outbox (the outbox row says when it went).
    """

    __tablename__ = "invitation"
    __table_args__ = (UniqueConstraint("wave_id", "contact_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"), index=True)
    token: Mapped[str | None] = mapped_column(String(64), unique=True)
    sent_at: Mapped[datetime | None]
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_reminded_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class Response(Base):
    __tablename__ = "response"
    __table_args__ = (Index("ix_response_participant", "participant_key", "survey_version_id"), NO_ROWID)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    survey_version_id: Mapped[int] = mapped_column(ForeignKey("survey_version.id", ondelete="RESTRICT"))
    wave_id: Mapped[int | None] = mapped_column(ForeignKey("wave.id", ondelete="SET NULL"))
    participant_key: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id", ondelete="SET NULL"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id", ondelete="SET NULL"))
    language: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    state: Mapped[dict[str, Any] | None]
    period: Mapped[str] = mapped_column(String(8), index=True)
    started_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class Answer(Base):
    """One answer per question per response: the primary key enforces it."""

    __tablename__ = "answer"
    __table_args__ = (NO_ROWID,)
    response_id: Mapped[str] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType, nullable=True)
    text: Mapped[str | None] = mapped_column(Text)


class AnswerTally(Base):
    """Running counts of each choice answer per version and week, kept as responses complete.

    The weekly summary reads these instead of grouping every answer, so its cost
    does not grow with the number of responses.
    """

    __tablename__ = "answer_tally"
    survey_version_id: Mapped[int] = mapped_column(
        ForeignKey("survey_version.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class AnonymousDraft(Base):
    """An anonymous survey in progress: personal side, deleted the moment it is finished (and held: AnonymousHeld)."""

    __tablename__ = "anonymous_draft"
    __table_args__ = (UniqueConstraint("contact_id", "survey_version_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    survey_version_id: Mapped[int] = mapped_column(ForeignKey("survey_version.id", ondelete="RESTRICT"))
    wave_id: Mapped[int | None] = mapped_column(ForeignKey("wave.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))
    state: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class AnonymousHeld(Base):
    """A finished anonymous survey, held on the personal side until enough are or its ISO week ends.

    Then they are released together, in random order, in a transaction
    that writes nothing about anyone (storage.responses.release_held). Released
    as each finished, the keyless rows were written by the transaction that
    marked the person's invitation done, and PostgreSQL stamps every row with
    the transaction that wrote it (xmin): one query joined each member of staff
    to their answers. Erasure takes a held survey with the person.
    """

    __tablename__ = "anonymous_held"
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    survey_version_id: Mapped[int] = mapped_column(ForeignKey("survey_version.id", ondelete="RESTRICT"))
    wave_id: Mapped[int | None] = mapped_column(ForeignKey("wave.id", ondelete="SET NULL"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(16))
    state: Mapped[dict[str, Any]]
    period: Mapped[str] = mapped_column(String(8), index=True)


class TextAnalysis(Base):
    __tablename__ = "text_analysis"
    __table_args__ = (
        ForeignKeyConstraint(
            ["response_id", "question_id"], ["answer.response_id", "answer.question_id"], ondelete="CASCADE"
        ),
        NO_ROWID,
    )
    response_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(32), primary_key=True)
    sentiment: Mapped[str] = mapped_column(String(16))
    polarity: Mapped[float]
    themes: Mapped[list[Any]]


class InboundReceipt(Base):
    """An inbound event's idempotency key, written in the same transaction as its effect."""

    __tablename__ = "inbound_receipt"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)


def only(condition: str) -> dict[str, Any]:
    """A partial index's WHERE, on both databases: the index holds just the rows that meet it."""
    where = text(condition)
    return {"sqlite_where": where, "postgresql_where": where}


class Outbox(Base):
    """One outgoing message. Status: queued, sending (claimed by the sender), sent, failed or cancelled.

    `kind` says why it was queued (reply, invite, reminder, summary, erasure); an
    erasure confirmation is deleted as it is claimed, so nothing of the person stays.
    """

    __tablename__ = "outbox"
    # Sent rows are kept for the retention period, so nearly every row is sent. While the
    # sender's indexes held every row, a reply was written into five indexes as it was
    # queued and moved within three as it was settled; now it goes into three and leaves
    # one, and the sender's walks pass over no sent rows. Queries that use the indexes of
    # queued rows say the status in their SQL (storage.outbox.status_is), as a partial index requires.
    __table_args__ = (
        # The sender walks queued rows in order and stops at its batch, replies first,
        # and asks "does an earlier row to them wait?"; `recover` finds what a crashed sender left.
        Index("ix_outbox_claim", "id", **only("status = 'queued'")),
        Index("ix_outbox_conversation", "kind", "id", **only("status = 'queued'")),
        Index("ix_outbox_order", "channel", "address", "id", **only("status = 'queued'")),
        Index("ix_outbox_in_flight", "id", **only("status = 'sending'")),
        # A wave's invites and reminders, which `chorus wave open --follow` counts every second.
        Index("ix_outbox_invitation", "invitation_id", **only("invitation_id IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(255), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="reply")
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitation.id", ondelete="SET NULL"))
    payload: Mapped[dict[str, Any]]
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    not_before: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class ScheduledRun(Base):
    """A scheduled job's slot that has run (a wave opened, a summary sent): the key that makes it run once."""

    __tablename__ = "scheduled_run"
    job: Mapped[str] = mapped_column(String(128), primary_key=True)
    slot: Mapped[str] = mapped_column(String(32), primary_key=True)
    ran_at: Mapped[datetime]


class SummarySubscription(Base):
    """Who gets the weekly summary and where: an officer's or commissioner's address, so personal data.

    `survey` limits it to one survey (and so to that survey's organisation); none means every survey.
    """

    __tablename__ = "summary_subscription"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(255))
    survey: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]


class User(Base):
    """An officer, admin or commissioner who signs in; scopes say which organisations and areas they see."""

    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]


class UserScope(Base):
    __tablename__ = "user_scope"
    __table_args__ = (UniqueConstraint("user_id", "organisation_id", "area_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id", ondelete="CASCADE"))


class Action(Base):
    """ "You said, we did": what was done about what people said."""

    __tablename__ = "action"
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("survey.id", ondelete="SET NULL"))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id", ondelete="SET NULL"))
    theme: Mapped[str | None] = mapped_column(String(100))
    you_said: Mapped[str] = mapped_column(Text)
    we_did: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="planned")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class AuditEntry(Base):
    """Who did what to which record; never holds the personal data it speaks of."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]]
