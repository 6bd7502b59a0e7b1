"""Errors storage raises on purpose: each says what was refused and why, and nothing was written."""

from __future__ import annotations


class StorageError(Exception):
    """Base of storage's own errors; the CLI shows the message as one line."""


class UnknownVersion(StorageError):
    """A response names a survey version that is not in the database."""


class UnknownQuestion(StorageError):
    """An answer names a question that is not in its response's survey version."""


class DuplicateAnswer(StorageError):
    """A second answer to the same question of the same response."""


class ImmutableVersion(StorageError):
    """A survey version that already has answers cannot be changed; import the change as a new version."""


class NotFound(StorageError):
    """The contact, survey or response asked for does not exist (or was erased)."""


class SchemaTooNew(StorageError):
    """The database was upgraded by a newer Chorus than this one."""


class DatabaseUnavailable(StorageError):
    """The database cannot be reached or opened."""


class BackupRefused(StorageError):
    """A backup was not made: the database is not the embedded SQLite file, or the copy failed its check."""


class InvalidName(StorageError):
    """A slug or name an officer gave that Chorus cannot use: a link could not carry it, or it is empty."""
