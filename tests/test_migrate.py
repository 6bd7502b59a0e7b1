"""Migrations: empty to head and back on both databases, models and migrations agree, a newer schema is refused."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.engine import Connection

from storage.database import Database
from storage.errors import SchemaTooNew
from storage.migrate import current_revisions, downgrade, head_revisions, is_current, upgrade
from storage.models import Base, SurveyVersion
from storage.outbox import claim, recover
from surveys.definition import from_definition
from surveys.document import to_document, to_yaml
from surveys.loader import survey_from_document
from surveys.model import Survey
from tests.conftest import NOW, RAW_SURVEY_VERSION, survey_of
from tests.test_catalogue import WORDED


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


async def test_upgrade_from_empty_to_head_and_back(empty_db: Database) -> None:
    assert await current_revisions(empty_db) == set()
    await upgrade(empty_db)
    assert await is_current(empty_db)
    async with empty_db.writer.connect() as connection:
        assert await connection.run_sync(table_names) == set(Base.metadata.tables)
    await downgrade(empty_db)
    assert await current_revisions(empty_db) == set()
    async with empty_db.writer.connect() as connection:
        assert await connection.run_sync(table_names) == set()


async def test_upgrading_twice_changes_nothing(db: Database) -> None:
    await upgrade(db)
    assert await current_revisions(db) == head_revisions()


async def test_models_and_migrations_agree(db: Database) -> None:
    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with db.writer.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_a_schema_newer_than_the_code_is_refused(db: Database) -> None:
    async with db.writer.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    with pytest.raises(SchemaTooNew, match="newer than this version of Chorus"):
        await upgrade(db)


async def test_upgrading_keeps_existing_rows(empty_db: Database) -> None:
    """A batch migration rebuilds the contact table on SQLite; consents that point at contacts must survive it."""
    await upgrade(empty_db, "0001")
    when = "'2026-01-01 00:00:00'"
    async with empty_db.writer.begin() as connection:
        for statement in (
            *RAW_SURVEY_VERSION,
            f"INSERT INTO contact (id, channel, address, role, created_at, last_seen_at) VALUES (1, 'telegram', '42', 'resident', {when}, {when})",
            "INSERT INTO consent (id, contact_id, survey_version_id, question_id, language, notice, decision, recorded_at) "
            f"VALUES (1, 1, 1, 'consent', 'en', 'Notice', 'agree', {when})",
        ):
            await connection.execute(text(statement))
    await upgrade(empty_db)
    async with empty_db.read() as session:
        assert (await session.execute(text("SELECT address FROM contact"))).scalar() == "42"
        assert (await session.execute(text("SELECT notice FROM consent"))).scalar() == "Notice"


async def test_an_outbox_from_before_its_partial_indexes_is_sent_on_as_it_was(empty_db: Database) -> None:
    """0008 rebuilds the sender's indexes from the rows already there: a queued reply and invite are still
    claimed, replies first, a row a crashed sender left in flight is still recovered, and sent rows stay sent."""
    await upgrade(empty_db, "0007")
    rows = [
        ("invite", "queued", "an invite"),
        ("reply", "queued", "a reply"),
        ("reply", "sending", "in flight when it crashed"),
        ("reply", "sent", "sent long ago"),
    ]
    insert = text(
        "INSERT INTO outbox (channel, address, kind, payload, dedupe_key, status, attempts, not_before, created_at) "
        "VALUES ('telegram', :address, :kind, :payload, :address, :status, 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
    )
    values = [
        {"address": str(n), "kind": kind, "status": status, "payload": f'{{"text": "{said}"}}'}
        for n, (kind, status, said) in enumerate(rows)
    ]
    async with empty_db.writer.begin() as connection:
        await connection.execute(insert, values)
    await upgrade(empty_db)
    assert await empty_db.write(recover) == 1
    assert [m.payload["text"] for m in await empty_db.write(lambda s: claim(s, NOW, 10))] == [
        "a reply",
        "in flight when it crashed",
        "an invite",
    ]


async def test_anonymous_answers_released_before_0010_no_longer_share_a_transaction_with_their_person(
    empty_db: Database,
) -> None:
    """On PostgreSQL each row carries the id of the transaction that wrote it (xmin); before 0010 a staff
    member's anonymous answers were written with their invitation's completion. 0010 writes them again."""
    if not empty_db.url.startswith("postgresql"):
        pytest.skip("SQLite keeps no record of which transaction wrote a row")
    await upgrade(empty_db, "0009")
    when = "'2026-01-01 00:00:00'"
    async with empty_db.writer.begin() as connection:
        for statement in (
            *RAW_SURVEY_VERSION,
            f"INSERT INTO contact (id, channel, address, role, created_at, last_seen_at) VALUES (1, 'telegram', '42', 'staff', {when}, {when})",
            f"INSERT INTO wave (id, survey_version_id, name, audience, opened_at) VALUES (1, 1, 'Q4', '{{}}', {when})",
            "INSERT INTO invitation (id, wave_id, contact_id, token, reminders_sent) VALUES (1, 1, 1, 'token', 0)",
        ):
            await connection.execute(text(statement))
    async with empty_db.writer.begin() as connection:  # as a staff member finished before 0010
        for statement in (
            f"UPDATE invitation SET completed_at = {when}",
            "INSERT INTO response (id, survey_version_id, channel, language, status, period) "
            "VALUES ('r', 1, 'telegram', 'en', 'completed', '2026-W01')",
            "INSERT INTO answer (response_id, question_id, value) VALUES ('r', 'mood', '7')",
            "INSERT INTO answer_tally (survey_version_id, period, question_id, value, count) VALUES (1, '2026-W01', 'mood', '7', 1)",
        ):
            await connection.execute(text(statement))
    joined = text(
        "SELECT count(*) FROM invitation i WHERE i.xmin::text IN "
        "(SELECT xmin::text FROM response UNION SELECT xmin::text FROM answer UNION SELECT xmin::text FROM answer_tally)"
    )
    async with empty_db.read() as session:
        assert await session.scalar(joined) == 1
    await upgrade(empty_db)
    async with empty_db.read() as session:
        assert await session.scalar(joined) == 0
        assert await session.scalar(text("SELECT value FROM answer")) == 7


def as_stored_before_0011(survey: Survey) -> dict[str, object]:
    """The survey's document as Chorus stored it until 0011: `other: true` for "Please say", then the default."""
    document = to_document(survey)
    document["questions"] = [
        {**question, "other": True} if question.get("other") == "Please say" else question
        for question in document["questions"]
    ]
    return document


async def test_survey_versions_stored_as_documents_before_0011_keep_their_words_and_hash(empty_db: Database) -> None:
    """0011 stores each version with every word it asks, "Please say" included though this release asks "Please
    type your answer": a resident part-way through it goes on. A document that cannot be read is left as it was."""
    asked = survey_of(to_yaml(WORDED).replace("other: true", "other: Please say"))
    await upgrade(empty_db, "0010")
    async with empty_db.writer.begin() as connection:
        await connection.execute(text(RAW_SURVEY_VERSION[0]))
        await connection.execute(text(RAW_SURVEY_VERSION[1]))
        await connection.execute(
            insert(SurveyVersion.__table__).values(
                id=2,
                survey_id=1,
                version=asked.version,
                number=2,
                document=as_stored_before_0011(asked),
                anonymous=False,
                keep_anonymised=False,
                created_at=NOW,
            )
        )
    await upgrade(empty_db)
    async with empty_db.read() as session:
        rows = await session.execute(select(SurveyVersion.id, SurveyVersion.document))
        stored = {row.id: row.document for row in rows}
    assert stored[1] == {}
    assert from_definition(stored[2]) == asked and from_definition(stored[2]).version == asked.version
    assert asked.question("issue_other").label.get("en", "en") == "Please say"  # type: ignore[union-attr]
    await downgrade(empty_db, "0010")
    async with empty_db.read() as session:
        document = await session.scalar(select(SurveyVersion.document).where(SurveyVersion.id == 2))
    assert survey_from_document(document).version == asked.version, "read by the release before, as it was"
