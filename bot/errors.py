"""Errors the running service reports to an operator: one line, naming what to fix."""

from __future__ import annotations


class ChorusError(Exception):
    """Base of the errors the CLI turns into one line and exit status 2, never a traceback."""

    exit_code = 2


class ConfigError(ChorusError):
    """A setting is missing or wrong; the message starts with the setting's name."""


class StartupError(ChorusError):
    """The service could not start, e.g. its port is taken."""
