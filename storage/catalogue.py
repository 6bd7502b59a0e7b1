"""Surveys in the database: importing a file as a new version, listing them, loading a version back.

Versions are content-addressed by the survey's version hash: importing the
same file twice changes nothing, and any change becomes a new version, so a
response always names exactly what its participant was asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import case, event, exists, func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from storage.audit import audit
from storage.errors import ImmutableVersion, UnknownVersion
from storage.models import AnonymousHeld, Organisation, Response, SurveyVersion
from storage.models import Survey as SurveyRow
from surveys.definition import from_definition, to_definition
from surveys.model import Erasure, Survey

_LOADED: WeakKeyDictionary[Engine, dict[int, tuple[VersionInfo, Survey]]] = WeakKeyDictionary()


@dataclass(frozen=True)
class VersionInfo:
    """What the answer path needs of a stored version, detached from any session."""

    id: int
    survey_id: int
    number: int
    version: str
    anonymous: bool
    keep_anonymised: bool


@event.listens_for(SurveyVersion, "before_update")
def _refuse_changing_an_answered_version(_mapper: Any, connection: Connection, target: SurveyVersion) -> None:
    """Answers are only meaningful against what was asked: an answered version never changes."""
    answered = connection.scalar(select(exists().where(Response.survey_version_id == target.id)))
    if answered:
        raise ImmutableVersion(
            f"version {target.number} of this survey already has answers and cannot change; import the change as a new version"
        )


@dataclass(frozen=True)
class Imported:
    slug: str
    number: int
    version: str
    version_id: int
    created: bool
    unplaced: tuple[str, ...] = ()  # what to tell an officer of an area or service it names, not added yet


@dataclass(frozen=True)
class VersionListing:
    number: int
    version: str
    created_at: datetime
    responses: int
    completed: int
    held: int  # finished anonymous surveys, released once enough are held or their week ends


@dataclass(frozen=True)
class SurveyListing:
    slug: str
    title: str
    versions: tuple[VersionListing, ...]


def import_survey(session: Session, survey: Survey, now: datetime, actor: str = "cli") -> Imported:
    """Store the survey, or a new version of it; the same content again is found, not duplicated."""
    row = session.scalar(select(SurveyRow).where(SurveyRow.slug == survey.id))
    if row is None:
        row = SurveyRow(
            slug=survey.id,
            title=survey.title.get(survey.default_language, survey.default_language),
            organisation_id=_organisation_id(session, survey.metadata.organisation, now),
            created_at=now,
        )
        session.add(row)
        session.flush()
    existing = session.scalar(
        select(SurveyVersion).where(SurveyVersion.survey_id == row.id, SurveyVersion.version == survey.version)
    )
    if existing is not None:
        return Imported(survey.id, existing.number, existing.version, existing.id, created=False)
    number = (session.scalar(select(func.max(SurveyVersion.number)).where(SurveyVersion.survey_id == row.id))) or 0
    version = SurveyVersion(
        survey_id=row.id,
        version=survey.version,
        number=number + 1,
        document=to_definition(survey),
        anonymous=survey.metadata.anonymous,
        keep_anonymised=survey.metadata.on_erasure is Erasure.ANONYMISE,
        created_at=now,
    )
    session.add(version)
    session.flush()
    audit(session, now, actor, "survey.import", f"survey {survey.id}", version=survey.version, number=number + 1)
    return Imported(survey.id, version.number, version.version, version.id, created=True)


def _organisation_id(session: Session, slug: str | None, now: datetime) -> int | None:
    if not slug:
        return None
    found = session.scalar(select(Organisation.id).where(Organisation.slug == slug))
    if found is not None:
        return found
    organisation = Organisation(slug=slug, name=slug, created_at=now)
    session.add(organisation)
    session.flush()
    return organisation.id


def list_surveys(session: Session) -> list[SurveyListing]:
    counts = (
        select(
            Response.survey_version_id,
            func.count().label("responses"),
            func.sum(case((Response.status == "completed", 1), else_=0)).label("completed"),
        )
        .group_by(Response.survey_version_id)
        .subquery()
    )
    held = (
        select(AnonymousHeld.survey_version_id, func.count().label("held"))
        .group_by(AnonymousHeld.survey_version_id)
        .subquery()
    )
    rows = session.execute(
        select(SurveyRow.slug, SurveyRow.title, SurveyVersion, counts.c.responses, counts.c.completed, held.c.held)
        .join(SurveyVersion, SurveyVersion.survey_id == SurveyRow.id)
        .outerjoin(counts, counts.c.survey_version_id == SurveyVersion.id)
        .outerjoin(held, held.c.survey_version_id == SurveyVersion.id)
        .order_by(SurveyRow.slug, SurveyVersion.number)
    )
    listings: dict[str, tuple[str, list[VersionListing]]] = {}
    for slug, title, version, responses, completed, waiting in rows:
        entry = listings.setdefault(slug, (title, []))
        entry[1].append(
            VersionListing(
                version.number, version.version, version.created_at, responses or 0, completed or 0, waiting or 0
            )
        )
    return [SurveyListing(slug, title, tuple(versions)) for slug, (title, versions) in listings.items()]


def load_version(session: Session, version_id: int) -> tuple[VersionInfo, Survey]:
    """A stored version and its survey, read once per database and process: versions never change."""
    loaded = _LOADED.setdefault(session.get_bind().engine, {})
    if version_id not in loaded:
        row = session.get(SurveyVersion, version_id)
        if row is None:
            raise UnknownVersion(f"survey version {version_id} does not exist")
        info = VersionInfo(row.id, row.survey_id, row.number, row.version, row.anonymous, row.keep_anonymised)
        loaded[version_id] = (info, from_definition(row.document))
    return loaded[version_id]
