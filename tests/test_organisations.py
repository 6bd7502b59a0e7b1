"""Organisations and their areas and services, as officers name them: on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.contacts import change_contact, get_or_create_contact
from storage.database import Database
from storage.errors import InvalidName
from storage.models import Area, Organisation, Service
from storage.organisations import (
    OrganisationListing,
    PlaceListing,
    add_place,
    find_place,
    list_organisations,
    name_organisation,
)
from tests.conftest import NOW


def live_in(session: Session, address: str, area: str) -> None:
    contact = get_or_create_contact(session, channel="telegram", address=address, now=NOW)
    change_contact(session, contact, area_id=session.scalar(select(Area.id).where(Area.slug == area)))


def use(session: Session, address: str, service: str) -> None:
    contact = get_or_create_contact(session, channel="telegram", address=address, now=NOW)
    change_contact(session, contact, service_id=session.scalar(select(Service.id).where(Service.slug == service)))


async def test_areas_and_services_are_listed_under_their_organisation_with_their_contacts(db: Database) -> None:
    def places(session: Session) -> None:
        assert name_organisation(session, "ancoats-housing", "Ancoats Housing", NOW)
        assert not name_organisation(session, "ancoats-housing", "Ancoats Housing Co-operative", NOW), "a rename"
        name_organisation(session, "gorton-mutual", "Gorton Mutual", NOW)
        assert add_place(session, "area", "ancoats-housing", "central", "Central", NOW)
        assert not add_place(session, "area", "ancoats-housing", "central", "Ancoats Central", NOW), "a rename"
        add_place(session, "area", "ancoats-housing", "beswick", "Beswick", NOW)
        assert add_place(session, "service", "ancoats-housing", "repairs", "Repairs desk", NOW)
        assert add_place(session, "service", "gorton-mutual", "central", "Central library", NOW), "another's slug"
        for address in ("1", "2"):
            live_in(session, address, "central")
        use(session, "2", "repairs")
        colleague = get_or_create_contact(session, channel="telegram", address="3", now=NOW)
        owner = session.scalar(select(Organisation.id).where(Organisation.slug == "gorton-mutual"))
        change_contact(session, colleague, role="staff", organisation_id=owner)

    await db.write(places)
    async with db.read() as session:
        listed = await session.run_sync(list_organisations)
    assert listed == [
        OrganisationListing(
            "ancoats-housing",
            "Ancoats Housing Co-operative",
            (PlaceListing("beswick", "Beswick", 0), PlaceListing("central", "Ancoats Central", 2)),
            (PlaceListing("repairs", "Repairs desk", 1),),
            0,
        ),
        OrganisationListing("gorton-mutual", "Gorton Mutual", (), (PlaceListing("central", "Central library", 0),), 1),
    ]


async def test_a_links_last_part_names_one_area_or_service_of_the_surveys_organisation(db: Database) -> None:
    def places(session: Session) -> dict[str, object]:
        for slug in ("ancoats-housing", "gorton-mutual"):
            name_organisation(session, slug, slug.title(), NOW)
        add_place(session, "area", "ancoats-housing", "central", "Ancoats Central", NOW)
        add_place(session, "service", "gorton-mutual", "central", "Gorton's central library", NOW)
        add_place(session, "service", "ancoats-housing", "repairs", "Repairs desk", NOW)
        with pytest.raises(InvalidName) as clash:
            add_place(session, "service", "ancoats-housing", "central", "Central office", NOW)
        return {
            "clash": str(clash.value),
            "ancoats central": find_place(session, "central", "ancoats-housing"),
            "gorton central": find_place(session, "central", "gorton-mutual"),
            "repairs": find_place(session, "repairs", "ancoats-housing"),
            "repairs at gorton": find_place(session, "repairs", "gorton-mutual"),
            "no organisation": find_place(session, "repairs", None),
            "unknown": find_place(session, "moss-side", "ancoats-housing"),
            "service ids": dict(session.execute(select(Service.slug, Service.id)).all()),
            "area ids": dict(session.execute(select(Area.slug, Area.id)).all()),
        }

    found = await db.write(places)
    assert found["clash"] == (
        "ancoats-housing already has an area called 'central', and a link ?start=SURVEY-central must name one of "
        "them: give the service another slug"
    )
    assert found["ancoats central"] == ("area", found["area ids"]["central"])
    assert found["gorton central"] == ("service", found["service ids"]["central"])
    assert found["repairs"] == found["no organisation"] == ("service", found["service ids"]["repairs"])
    assert found["repairs at gorton"] is None and found["unknown"] is None
