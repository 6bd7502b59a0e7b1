"""Organisations and their areas, as officers name them: on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.contacts import change_contact, get_or_create_contact
from storage.database import Database
from storage.models import Area
from storage.organisations import AreaListing, OrganisationListing, add_area, list_organisations, name_organisation
from tests.conftest import NOW


def live_in(session: Session, address: str, area: str) -> None:
    contact = get_or_create_contact(session, channel="telegram", address=address, now=NOW)
    change_contact(session, contact, area_id=session.scalar(select(Area.id).where(Area.slug == area)))


async def test_areas_are_listed_under_their_organisation_with_the_contacts_living_there(db: Database) -> None:
    def places(session: Session) -> None:
        assert name_organisation(session, "ancoats-housing", "Ancoats Housing", NOW)
        assert not name_organisation(session, "ancoats-housing", "Ancoats Housing Co-operative", NOW), "a rename"
        name_organisation(session, "gorton-mutual", "Gorton Mutual", NOW)
        assert add_area(session, "ancoats-housing", "central", "Central", NOW)
        assert not add_area(session, "ancoats-housing", "central", "Ancoats Central", NOW), "a rename"
        add_area(session, "ancoats-housing", "beswick", "Beswick", NOW)
        for address in ("1", "2"):
            live_in(session, address, "central")

    await db.write(places)
    async with db.read() as session:
        listed = await session.run_sync(list_organisations)
    assert listed == [
        OrganisationListing(
            "ancoats-housing",
            "Ancoats Housing Co-operative",
            (AreaListing("beswick", "Beswick", 0), AreaListing("central", "Ancoats Central", 2)),
        ),
        OrganisationListing("gorton-mutual", "Gorton Mutual", ()),
    ]
