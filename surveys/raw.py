"""The plain document a loader reads from an officer's file, still remembering where each part was written.

Both loaders (YAML and XLSForm) produce this shape, so one builder checks
everything and every error can point at a line or a row.
"""

from __future__ import annotations

from typing import Any

from surveys.errors import Location


class Raw(dict[str, Any]):
    """A mapping from the file, with the location of the mapping and of each key."""

    def __init__(self, location: Location, key_locations: dict[str, Location] | None = None) -> None:
        super().__init__()
        self.location = location
        self.key_locations = key_locations if key_locations is not None else {}

    def where(self, key: str | None = None) -> Location:
        if key is None:
            return self.location
        return self.key_locations.get(key, self.location)
