"""Summaries by email: the real outbox sender and aiosmtplib against a real SMTP server (aiosmtpd) in the test."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from bot.config import Settings, load_settings
from bot.errors import SendFailed
from bot.mail import EmailTransport, email_message
from bot.outbox_sender import OutboxSender
from bot.rate_limit import SendLimits
from bot.runtime import Runtime
from bot.weekly_summary import send_weekly_summaries
from storage.database import Database
from storage.models import Outbox
from tests.conftest import SECRET
from tests.telegram_harness import free_port
from tests.test_weekly_summary import MONDAY, analysed, subscribed


class Inbox:
    """An SMTP server's handler that keeps what it accepts and refuses the addresses it is told to."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.refuse: dict[str, str] = {}

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=default)
        assert isinstance(message, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def only_officer(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    """handled=False: aiosmtpd answers the client itself (235, or 535 on a wrong password)."""
    given = [part.decode() if isinstance(part, bytes) else part for part in (data.login, data.password)]
    return AuthResult(success=isinstance(data, LoginPassword) and given == ["chorus", "right-password"], handled=False)


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    handler = Inbox()
    port = free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, authenticator=only_officer, auth_require_tls=False
    )
    controller.start()
    for name, value in {
        "CHORUS_SECRET_KEY": SECRET,
        "CHORUS_SMTP_HOST": "127.0.0.1",
        "CHORUS_SMTP_PORT": str(port),
        "CHORUS_SMTP_SECURITY": "none",
        "CHORUS_SMTP_USERNAME": "chorus",
        "CHORUS_SMTP_PASSWORD": "right-password",
        "CHORUS_MAIL_FROM": "Chorus <chorus@council.example>",
    }.items():
        monkeypatch.setenv(name, value)
    try:
        yield handler
    finally:
        controller.stop()


async def settled(db: Database, timeout: float = 15) -> Outbox:
    deadline = time.monotonic() + timeout
    while True:
        async with db.read() as session:
            row = await session.scalar(select(Outbox))
        if row is not None and row.status not in ("queued", "sending"):
            return row
        assert time.monotonic() < deadline, f"the row is still {row and row.status}"
        await asyncio.sleep(0.05)


async def test_the_weekly_summary_reaches_a_subscribers_inbox_through_the_outbox(inbox: Inbox, db: Database) -> None:
    await analysed(db, 12)
    await subscribed(db, ana=("email", "ana@council.example", None))
    settings = load_settings(None)
    runtime = Runtime(settings, db, clock=lambda: MONDAY)
    assert await send_weekly_summaries(runtime) == 1
    sender = OutboxSender(runtime, {"email": EmailTransport(settings)}, SendLimits(30))
    sending = asyncio.create_task(sender.run())
    try:
        row = await settled(db)
    finally:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
    assert row.status == "sent" and row.attempts == 1
    [(recipients, message)] = inbox.received
    assert recipients == ["ana@council.example"]
    assert message["To"] == "ana@council.example" and message["From"] == "Chorus <chorus@council.example>"
    assert message["Subject"] == "What people said, 2026-11-23 to 2026-11-29"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    assert "| TP01 | 67% |" in plain.get_content()
    assert "<h1>What people said, 2026-11-23 to 2026-11-29</h1>" in html.get_content()
    assert "Pat" not in plain.get_content(), "quotes are redacted"


def transport() -> EmailTransport:
    return EmailTransport(load_settings(None))


def summary_mail() -> dict[str, Any]:
    return email_message("What people said", "Twelve responses.", "<p>Twelve responses.</p>")


async def test_a_mailbox_that_does_not_exist_fails_for_good(inbox: Inbox) -> None:
    inbox.refuse["gone@council.example"] = "550 5.1.1 No such user"
    with pytest.raises(SendFailed, match=r"refused by the mail server: 550 5\.1\.1 No such user") as refused:
        await transport()("gone@council.example", summary_mail())
    assert not refused.value.retryable and not refused.value.unreachable
    assert inbox.received == []


async def test_a_mailbox_that_is_busy_is_tried_again(inbox: Inbox) -> None:
    inbox.refuse["busy@council.example"] = "451 4.3.0 Try again later"
    with pytest.raises(SendFailed) as busy:
        await transport()("busy@council.example", summary_mail())
    assert busy.value.retryable


async def test_no_mail_server_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "CHORUS_SECRET_KEY": SECRET,
        "CHORUS_SMTP_HOST": "127.0.0.1",
        "CHORUS_SMTP_PORT": str(free_port()),
        "CHORUS_SMTP_SECURITY": "none",
        "CHORUS_MAIL_FROM": "chorus@council.example",
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SendFailed, match="cannot reach the mail server") as down:
        await transport()("ana@council.example", summary_mail())
    assert down.value.retryable


async def test_the_wrong_password_is_refused_and_said(inbox: Inbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHORUS_SMTP_PASSWORD", "wrong-password")
    settings: Settings = load_settings(None)
    with pytest.raises(SendFailed, match="the mail server answered 535") as refused:
        await EmailTransport(settings)("ana@council.example", summary_mail())
    assert not refused.value.retryable and inbox.received == []
