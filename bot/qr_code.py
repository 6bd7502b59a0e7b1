"""A leaflet's QR code: a survey's Telegram link as a PNG or an SVG, whole or not at all.

Imported by `chorus survey link --qr` alone, so the service never loads segno.
"""

from __future__ import annotations

from pathlib import Path

import segno

from bot.errors import OutputError
from bot.private_file import private_file

KINDS = ("png", "svg")
MODULE_SIZE = 10  # pixels a module in a PNG: a short link's code is about 330 pixels, 2.8 cm at 300 dpi
QUIET_ZONE = 4  # modules of margin, as the QR standard asks, so a phone finds the code on a busy leaflet


def kind_of(path: Path) -> str:
    """The file's kind from its name, checked before anything is asked of the database or Telegram."""
    kind = path.suffix.lower().removeprefix(".")
    if kind not in KINDS:
        raise OutputError(f"cannot write {path}: a QR code is written as a .png or an .svg file")
    return kind


def write_qr_code(link: str, path: Path) -> None:
    """Error correction M (15%), the usual for print: a crease or a smudge still scans."""
    code = segno.make(link, error="m", micro=False)
    with private_file(path) as partial:
        code.save(str(partial), kind=kind_of(path), scale=MODULE_SIZE, border=QUIET_ZONE)
