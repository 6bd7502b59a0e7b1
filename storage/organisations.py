"""The organisations that run surveys and the areas they serve, as officers name them.

A survey that names an organisation creates it under its slug (storage.catalogue),
so residents would read "This survey is run by ancoats-housing"; naming it here
makes that "Ancoats Housing Co-operative". An area must be added here before a
leaflet's `?start=tsm-ancoats` can record it, or a wave can invite its residents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.audit import audit
from storage.errors import InvalidName, NotFound
from storage.models import Area, Contact, Organisation
from storage.models import Survey as SurveyRow

# What a Telegram start link can carry (letters, digits, _ and -), lower-cased as survey ids are.
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
NAME_LENGTH = 200


@dataclass(frozen=True)
class AreaListing:
    slug: str
    name: str
    contacts: int


@dataclass(frozen=True)
class OrganisationListing:
    slug: str
    name: str
    areas: tuple[AreaListing, ...]


def name_organisation(session: Session, slug: str, name: str, now: datetime, actor: str = "cli") -> bool:
    """Add the organisation, or rename it; True when it is new."""
    _check(slug, name, "an organisation")
    found = session.scalar(select(Organisation).where(Organisation.slug == slug))
    if found is None:
        session.add(Organisation(slug=slug, name=name.strip(), created_at=now))
    else:
        found.name = name.strip()
    audit(session, now, actor, "organisation.name", f"organisation {slug}", name=name.strip())
    return found is None


def add_area(session: Session, organisation: str, slug: str, name: str, now: datetime, actor: str = "cli") -> bool:
    """Add an area to the organisation, or rename it; True when it is new."""
    _check(slug, name, "an area")
    owner = session.scalar(select(Organisation.id).where(Organisation.slug == organisation))
    if owner is None:
        raise NotFound(f"no organisation '{organisation}': add it with `chorus org add {organisation} --name NAME`")
    found = session.scalar(select(Area).where(Area.organisation_id == owner, Area.slug == slug))
    if found is None:
        session.add(Area(organisation_id=owner, slug=slug, name=name.strip()))
    else:
        found.name = name.strip()
    audit(session, now, actor, "area.name", f"area {organisation}/{slug}", name=name.strip())
    return found is None


def find_area(session: Session, slug: str, organisation: str | None) -> int | None:
    """The area a link names, within the survey's organisation when it has one (two may both have a `central`);
    for a survey of no organisation, the first area so named."""
    query = select(Area.id).where(Area.slug == slug)
    if organisation:
        query = query.join(Organisation, Organisation.id == Area.organisation_id).where(
            Organisation.slug == organisation
        )
    return session.scalar(query.order_by(Area.id).limit(1))


def check_link(session: Session, survey: str, area: str | None) -> None:
    """Refuse a leaflet's link to a survey not imported, or to an area it would not record."""
    found = session.execute(
        select(Organisation.slug).select_from(SurveyRow).outerjoin(Organisation).where(SurveyRow.slug == survey)
    ).first()
    if found is None:
        raise NotFound(f"no survey called '{survey}': import it with `chorus survey import FILE`")
    if area is not None and find_area(session, area, found.slug) is None:
        owner = found.slug or "ORGANISATION"
        raise NotFound(
            f"no area '{area}'{f' of {found.slug}' if found.slug else ''}, so the link would record none: "
            f"add it with `chorus org area {owner} {area} --name NAME`"
        )


def list_organisations(session: Session) -> list[OrganisationListing]:
    """Every organisation with its areas and how many contacts each area has (those a wave of it could invite)."""
    counted = (
        select(Area.organisation_id, Area.slug, Area.name, func.count(Contact.id))
        .outerjoin(Contact, Contact.area_id == Area.id)
        .group_by(Area.id)
        .order_by(Area.slug)
    )
    areas: dict[int, list[AreaListing]] = {}
    for owner, slug, name, contacts in session.execute(counted):
        areas.setdefault(owner, []).append(AreaListing(slug, name, contacts))
    rows = session.execute(select(Organisation.id, Organisation.slug, Organisation.name).order_by(Organisation.slug))
    return [OrganisationListing(slug, name, tuple(areas.get(owner, ()))) for owner, slug, name in rows]


def _check(slug: str, name: str, what: str) -> None:
    if not SLUG.fullmatch(slug):
        raise InvalidName(
            f"'{slug}' cannot name {what}: use 1 to 64 lower-case letters, digits, _ and -, starting with a letter or "
            "digit, as a Telegram link can carry"
        )
    if not name.strip() or len(name.strip()) > NAME_LENGTH:
        raise InvalidName(f"the name of {what} must be 1 to {NAME_LENGTH} characters, not {len(name.strip())}")
