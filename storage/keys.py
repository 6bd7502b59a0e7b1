"""Pseudonymous participant keys: answers name a key, never a contact.

The key is an HMAC of the contact's id with CHORUS_SECRET_KEY, so a copy of the
database alone cannot tell whose answers are whose, and erasing the contact
leaves nothing that can rebuild the link.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache


@lru_cache(maxsize=65536)
def participant_key(secret_key: str, contact_id: int) -> str:
    """e.g. participant_key("k" * 40, 7) -> a 64-character hex string, the same every time.

    Every answer looks up its response by this key; remembering the keys of
    those answering now saves an HMAC each time. Nothing is kept that the
    secret key could not rebuild.
    """
    return hmac.new(secret_key.encode(), f"contact:{contact_id}".encode(), hashlib.sha256).hexdigest()
