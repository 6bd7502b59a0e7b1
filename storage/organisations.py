"""The organisations that run surveys, and the areas and services they serve, as officers name them.

A survey that names an organisation creates it under its slug (storage.catalogue),
so residents would read "This survey is run by ancoats-housing"; naming it here
makes that "Ancoats Housing Co-operative". An area or a service must be added here
before a leaflet's `?start=tsm-ancoats` (or `tsm-repairs`, handed out at the repairs
desk) can record it, or a wave can invite its residents. The link's last part names
either, so no organisation has an area and a service of the same slug.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage.audit import audit
from storage.errors import InvalidName, NotFound
from storage.models import Area, Contact, Organisation, Service
from storage.models import Survey as SurveyRow

# What a Telegram start link can carry (letters, digits, _ and -), lower-cased as survey ids are.
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
NAME_LENGTH = 200


# What a link's last part can name, with the contact's column it fills.
Kind = Literal["area", "service"]
PLACES: dict[Kind, tuple[type[Area] | type[Service], str]] = {
    "area": (Area, "area_id"),
    "service": (Service, "service_id"),
}


@dataclass(frozen=True)
class PlaceListing:
    slug: str
    name: str
    contacts: int


@dataclass(frozen=True)
class OrganisationListing:
    slug: str
    name: str
    areas: tuple[PlaceListing, ...]
    services: tuple[PlaceListing, ...]
    staff: int  # who have joined with a code: whom a staff wave of the organisation could invite


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


def add_place(
    session: Session, kind: Kind, organisation: str, slug: str, name: str, now: datetime, actor: str = "cli"
) -> bool:
    """Add an area or a service (`kind`) to the organisation, or rename it; True when it is new."""
    model, _ = PLACES[kind]
    _check(slug, name, f"{_article(kind)} {kind}")
    owner = session.scalar(select(Organisation.id).where(Organisation.slug == organisation))
    if owner is None:
        raise NotFound(f"no organisation '{organisation}': add it with `chorus org add {organisation} --name NAME`")
    for other, (other_model, _) in PLACES.items():
        taken = select(other_model.id).where(other_model.organisation_id == owner, other_model.slug == slug)
        if other != kind and session.scalar(taken) is not None:
            raise InvalidName(
                f"{organisation} already has {_article(other)} {other} called '{slug}', and a link "
                f"?start=SURVEY-{slug} must name one of them: give the {kind} another slug"
            )
    found = session.scalar(select(model.id).where(model.organisation_id == owner, model.slug == slug))
    if found is None:
        session.add(model(organisation_id=owner, slug=slug, name=name.strip()))
    else:
        session.execute(update(model).where(model.id == found).values(name=name.strip()))
    audit(session, now, actor, f"{kind}.name", f"{kind} {organisation}/{slug}", name=name.strip())
    return found is None


def find_place(session: Session, slug: str, organisation: str | None) -> tuple[Kind, int] | None:
    """The area or service a link names, as (kind, id): within the survey's organisation when it has one (two
    may both have a `central`); for a survey of no organisation, the first so named."""
    for kind, (model, _) in PLACES.items():
        query = select(model.id).where(model.slug == slug)
        if organisation:
            query = query.join(Organisation, Organisation.id == model.organisation_id).where(
                Organisation.slug == organisation
            )
        found = session.scalar(query.order_by(model.id).limit(1))
        if found is not None:
            return kind, found
    return None


def unplaced(session: Session, organisation: str | None, named: dict[Kind, str | None]) -> tuple[str, ...]:
    """What to tell an officer of the areas and services a survey file names (`area:`, `service:`) that are not
    added: its scheduled waves, which invite the people recorded there, cannot open until they are."""
    notes = []
    for kind, slug in named.items():
        found = find_place(session, slug, organisation) if slug else None
        if slug and (found is None or found[0] != kind):
            notes.append(
                f"its {kind} '{slug}' is not added yet, so its scheduled waves will not open until it is: "
                f"`chorus org {kind} {organisation or 'ORGANISATION'} {slug} --name NAME`"
            )
    return tuple(notes)


def check_link(session: Session, survey: str, kind: Kind | None = None, slug: str | None = None) -> None:
    """Refuse a leaflet's link to a survey not imported, or to an area or service (`kind`) it would not record."""
    found = session.execute(
        select(Organisation.slug).select_from(SurveyRow).outerjoin(Organisation).where(SurveyRow.slug == survey)
    ).first()
    if found is None:
        raise NotFound(f"no survey called '{survey}': import it with `chorus survey import FILE`")
    if kind is None or slug is None:
        return
    of = f" of {found.slug}" if found.slug else ""
    place = find_place(session, slug, found.slug)
    if place is None:
        raise NotFound(
            f"no {kind} '{slug}'{of}, so the link would record none: "
            f"add it with `chorus org {kind} {found.slug or 'ORGANISATION'} {slug} --name NAME`"
        )
    if place[0] != kind:
        raise NotFound(
            f"'{slug}'{of} is {_article(place[0])} {place[0]}, not {_article(kind)} {kind}: use --{place[0]}"
        )


def list_organisations(session: Session) -> list[OrganisationListing]:
    """Every organisation with its areas and services, how many contacts each has, and how many staff have joined:
    whom a wave could invite."""
    listed: dict[Kind, dict[int, list[PlaceListing]]] = {}
    for kind, (model, column) in PLACES.items():
        counted = (
            select(model.organisation_id, model.slug, model.name, func.count(Contact.id))
            .outerjoin(Contact, getattr(Contact, column) == model.id)
            .group_by(model.id)
            .order_by(model.slug)
        )
        places = listed.setdefault(kind, {})
        for owner, slug, name, contacts in session.execute(counted):
            places.setdefault(owner, []).append(PlaceListing(slug, name, contacts))
    staff = (
        select(func.count(Contact.id))
        .where(Contact.organisation_id == Organisation.id, Contact.role == "staff")
        .scalar_subquery()
    )
    rows = session.execute(
        select(Organisation.id, Organisation.slug, Organisation.name, staff).order_by(Organisation.slug)
    )
    return [
        OrganisationListing(
            slug, name, tuple(listed["area"].get(owner, ())), tuple(listed["service"].get(owner, ())), joined
        )
        for owner, slug, name, joined in rows
    ]


def _article(kind: str) -> str:
    return "an" if kind[0] in "aeiou" else "a"


def _check(slug: str, name: str, what: str) -> None:
    if not SLUG.fullmatch(slug):
        raise InvalidName(
            f"'{slug}' cannot name {what}: use 1 to 64 lower-case letters, digits, _ and -, starting with a letter or "
            "digit, as a Telegram link can carry"
        )
    if not name.strip() or len(name.strip()) > NAME_LENGTH:
        raise InvalidName(f"the name of {what} must be 1 to {NAME_LENGTH} characters, not {len(name.strip())}")
