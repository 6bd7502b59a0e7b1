"""The past a benchmark's database begins with: residents, their finished responses, sent messages, update receipts.

A benchmark on an empty database flatters every index and every scan: a
service in its second year keeps two years of sent messages (the retention
period) and of responses, and a month of receipts. Their times are spread
evenly over `span` up to NOW, oldest first, as a service's would be.

Usage:
    sent_before(session, 500_000)                           # bench/turn.py and bench/ingest.py --sent
    write_history(runtime, History(residents=50_000, responses=100_000))   # bench/turn.py --responses, bench/purge.py
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bot.runtime import Runtime
from bot.telegram.conversation import _apply
from bot.telegram.updates import Inbound
from storage.keys import participant_key
from storage.models import Answer, Contact, InboundReceipt, Outbox, Response

NOW = datetime(2026, 11, 28, tzinfo=UTC)
RETENTION = timedelta(days=730)
ADDRESSES = 900_000  # the past's chat ids begin here, clear of those the benchmarks answer from
PAST_CHAT = 1  # the resident whose finished response the others' are copies of
CHUNK = 20_000


@dataclass(frozen=True)
class History:
    residents: int = 0
    responses: int = 0  # finished, every question answered
    messages: int = 0  # sent
    receipts: int = 0
    span: timedelta = RETENTION
    receipts_span: timedelta = timedelta(days=30)


def when(number: int, count: int, span: timedelta) -> datetime:
    """The `number`th of `count` moments spread evenly over `span` up to NOW, oldest first."""
    return NOW - span + span * (number / count)


def sent_before(session: Session, count: int, span: timedelta = RETENTION, residents: int = 20_000) -> None:
    """`count` replies sent to `residents` people, their payloads emptied as sending leaves them."""
    _sent(session, range(count), count, span, residents)


def write_history(runtime: Runtime, history: History) -> None:
    """Write the past on the SQLite writer's own connection, a chunk of rows per transaction."""
    connection = runtime.db._connection()

    def chunked(rows: Callable[[Session, range], None], count: int) -> None:
        for start in range(0, count, CHUNK):
            with connection.begin(), Session(bind=connection) as session:
                rows(session, range(start, min(start + CHUNK, count)))

    with connection.begin(), Session(bind=connection, expire_on_commit=False) as session:
        response, answers = _one_finished(runtime, session)
    secret = runtime.secret_key

    def residents(session: Session, numbers: range) -> None:
        times = [when(n, history.residents, history.span) for n in numbers]
        rows = [
            {"channel": "telegram", "address": str(ADDRESSES + n), "role": "resident", "language": "en"}
            | {"created_at": at, "last_seen_at": at}
            for n, at in zip(numbers, times, strict=True)
        ]
        session.execute(insert(Contact), rows)

    def finished(session: Session, numbers: range) -> None:
        rows, answer_rows = [], []
        for n in numbers:
            at = when(n, history.responses, history.span)
            response_id = f"past{n:028d}"
            key = participant_key(secret, 1 + n % max(history.residents, 1))
            times = {"started_at": at, "updated_at": at, "completed_at": at}
            rows.append(response | {"id": response_id, "participant_key": key} | times)
            answer_rows += [answer | {"response_id": response_id} for answer in answers]
        session.execute(insert(Response), rows)
        session.execute(insert(Answer), answer_rows)

    def sent(session: Session, numbers: range) -> None:
        _sent(session, numbers, history.messages, history.span, max(history.residents, 1))

    def received(session: Session, numbers: range) -> None:
        times = (when(n, history.receipts, history.receipts_span) for n in numbers)
        rows = [{"key": f"telegram:past:{n}", "received_at": at} for n, at in zip(numbers, times, strict=True)]
        session.execute(insert(InboundReceipt), rows)

    chunked(residents, history.residents)
    chunked(finished, history.responses)
    chunked(sent, history.messages)
    chunked(received, history.receipts)


def _sent(session: Session, numbers: range, count: int, span: timedelta, residents: int) -> None:
    rows = [
        {
            "channel": "telegram",
            "address": str(ADDRESSES + n % residents),
            "kind": "reply",
            "payload": {},
            "dedupe_key": f"past:{n}",
            "status": "sent",
            "attempts": 1,
        }
        | dict.fromkeys(("not_before", "created_at", "sent_at"), when(n, count, span))
        for n in numbers
    ]
    session.execute(insert(Outbox), rows)


def _one_finished(runtime: Runtime, session: Session) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A response and its answers as a resident's turns leave them, to copy: the real state, not a guess at it."""
    texts = ["/start bench", *(str(1 + n % 5) for n in range(20))]
    for update_id, text in enumerate(texts, start=1):
        _apply(runtime, session, Inbound(update_id, PAST_CHAT, "en", text=text, message_id=update_id), False, True)
    session.flush()
    response = session.scalars(select(Response)).one()
    row = {column.key: getattr(response, column.key) for column in Response.__table__.columns}
    answers = [
        {"question_id": answer.question_id, "value": answer.value, "text": answer.text}
        for answer in session.scalars(select(Answer).where(Answer.response_id == response.id))
    ]
    return row, answers
