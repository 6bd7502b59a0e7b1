"""Errors the running service reports to an operator: one line, naming what to fix."""

from __future__ import annotations


class ChorusError(Exception):
    """Base of the errors the CLI turns into one line and exit status 2, never a traceback."""

    exit_code = 2


class ConfigError(ChorusError):
    """A setting is missing or wrong; the message starts with the setting's name."""


class StartupError(ChorusError):
    """The service could not start, e.g. its port is taken."""


class ServiceRunning(ChorusError):
    """A command that must run with the service stopped (a restore) found `chorus run` running."""


class RestoreRunning(ChorusError):
    """`chorus db restore` is replacing the SQLite database a command was about to open."""


class SendFailed(ChorusError):
    """A channel did not take a message. It knows whether trying again can help and how long to wait first."""

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        unreachable: bool = False,
        moved_to: str | None = None,
    ) -> None:
        """`moved_to` is the address the recipient now has (a Telegram group that became a supergroup)."""
        super().__init__(reason)
        self.retryable = retryable
        self.retry_after = retry_after
        self.unreachable = unreachable
        self.moved_to = moved_to


class OutputError(ChorusError):
    """A file Chorus was asked to write could not be written; nothing half-written was left in its place."""


class WaveError(ChorusError):
    """A wave cannot be opened or closed as asked: no such survey, wave or audience."""


class LinkError(ChorusError):
    """A link for a leaflet or a QR code that Telegram could not carry (over 64 characters after ?start=)."""


class NotAnUpdate(ChorusError):
    """A body with the webhook's secret, or from getUpdates, that is not a Telegram update; it names the bad field."""
