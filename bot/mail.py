"""Email, the second outbox channel: summaries to officers' and commissioners' inboxes over SMTP.

A payload is plain JSON, so it can wait in the outbox across restarts:

    {"method": "email", "subject": "What people said, …", "text": "# What people said…", "html": "<!doctype html>…"}

Sending maps SMTP's answers to SendFailed the way the Telegram transport maps
the Bot API's: a 4xx reply or a connection that fails is tried again later
with backoff; a 5xx reply (no such mailbox, refused) is final and recorded.

Usage:
    transport = EmailTransport(settings)          # CHORUS_SMTP_* and CHORUS_MAIL_FROM
    await transport("commissioner@council.example", email_message(subject, text, html))
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import aiosmtplib

from bot.config import Settings
from bot.errors import SendFailed

TIMEOUT_SECONDS = 30


def email_message(subject: str, text: str, html: str | None = None) -> dict[str, Any]:
    return {"method": "email", "subject": subject, "text": text, "html": html}


class EmailTransport:
    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host and settings.mail_from, "load_settings checks both are set together"
        self.settings = settings
        self.sender = settings.mail_from

    def compose(self, address: str, payload: dict[str, Any]) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = address
        message["Subject"] = payload["subject"]
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.sender.rsplit("@", 1)[1].rstrip(">"))
        message.set_content(payload["text"])
        if payload.get("html"):
            message.add_alternative(payload["html"], subtype="html")
        return message

    async def __call__(self, address: str, payload: dict[str, Any]) -> None:
        """Hand one message to the SMTP server; raises SendFailed saying whether to retry."""
        if payload.get("method") != "email":
            raise SendFailed(f"unknown email payload method {payload.get('method')!r}", retryable=False)
        settings = self.settings
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        try:
            await aiosmtplib.send(
                self.compose(address, payload),
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username,
                password=password,
                use_tls=settings.smtp_security == "tls",
                start_tls=settings.smtp_security == "starttls",
                timeout=TIMEOUT_SECONDS,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [refused.code for refused in error.recipients]
            raise SendFailed(f"refused by the mail server: {_reasons(error)}", retryable=min(codes) < 500) from None
        except aiosmtplib.SMTPResponseException as error:
            reason = f"the mail server answered {error.code} {error.message}"
            raise SendFailed(reason, retryable=error.code < 500) from None
        except (aiosmtplib.SMTPException, OSError) as error:
            raise SendFailed(f"cannot reach the mail server: {error}", retryable=True) from None


def _reasons(error: aiosmtplib.SMTPRecipientsRefused) -> str:
    return "; ".join(f"{refused.code} {refused.message}" for refused in error.recipients)
