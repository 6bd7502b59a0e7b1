"""Pseudonymous participant keys: answers name a key, never a contact.

The key is an HMAC of the contact's id with CHORUS_SECRET_KEY, so a copy of the
database alone cannot tell whose answers are whose, and erasing the contact
leaves nothing that can rebuild the link.
"""

from __future__ import annotations

import hashlib
import hmac


def participant_key(secret_key: str, contact_id: int) -> str:
    """e.g. participant_key("k" * 40, 7) -> a 64-character hex string, the same every time."""
    return hmac.new(secret_key.encode(), f"contact:{contact_id}".encode(), hashlib.sha256).hexdigest()
