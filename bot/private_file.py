"""Files Chorus writes for someone to take away: a subject access export, an analysis of what residents
wrote, a theme model learnt from it, a backup of the database, a leaflet's QR code.

All but the QR code hold personal data, so the file is readable by its owner
alone from its first byte (not chmod-ed after it was written), and every one
appears whole or not at all: it is written beside its destination under another name and renamed onto
it only once complete, so an export or a backup that failed half-way never
replaces a good one. A folder that does not exist, or a disk that is full, is
one line naming the file, not a traceback.

Usage:
    with private_file(Path("42.json")) as partial:
        partial.write_bytes(data)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.errors import OutputError


@contextmanager
def private_file(path: Path) -> Iterator[Path]:
    """A new, empty file only its owner can read, which becomes `path` when the block succeeds."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.unlink(missing_ok=True)  # a leftover keeps its own permissions through O_CREAT
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as error:
        raise cannot_write(path, error) from None
    try:
        yield partial
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise cannot_write(path, error) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def cannot_write(path: Path, error: OSError) -> OutputError:
    """e.g. 'cannot write backups/chorus.db: No such file or directory'."""
    return OutputError(f"cannot write {path}: {error.strerror}")
