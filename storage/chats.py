"""What happens to what Chorus holds for a Telegram chat when the chat changes under it.

- A group that became a supergroup has a new chat id: the messages still
  waiting for it and its summary subscriptions follow it. Telegram says so
  twice, in a service message to the group as it moves and in refusing
  (ChatMigrated) anything sent to the old id after; whichever comes first
  moves them, and the other finds nothing left to move.
- A chat the bot can no longer write to (a person blocked it, a group removed
  it): the person is opted out, nothing more is sent there, and the chat's
  summary subscriptions end, or every week's summary would be refused again.
  Telegram says so in a my_chat_member update, and again with a 403 to the
  next message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from storage.contacts import BLOCKED, opt_out_address
from storage.outbox import cancel_queued, readdress
from storage.subscriptions import end_for_address, move_chat


def follow(session: Session, channel: str, old: str, new: str, now: datetime) -> tuple[int, int]:
    """The messages still waiting for `old`, and its summary subscriptions, take `new`; how many of each."""
    return readdress(session, channel, old, new), move_chat(session, channel, old, new, now)


@dataclass(frozen=True)
class Lost:
    """What ended with a chat: the contact opted out (None for a group or a chat Chorus never knew), and how
    many summary subscriptions."""

    contact_id: int | None
    subscriptions: int

    def __str__(self) -> str:
        """e.g. 'contact 12 opted out; 1 summary subscription ended (...)', for the log: no chat id, which is personal."""
        said = [] if self.contact_id is None else [f"contact {self.contact_id} opted out"]
        if self.subscriptions:
            plural = "" if self.subscriptions == 1 else "s"
            said.append(
                f"{self.subscriptions} summary subscription{plural} ended (to resume, add the bot back and run "
                "`chorus subscribers add` again)"
            )
        return "; ".join(said) or "nothing was held for it"


def lost(session: Session, channel: str, address: str, now: datetime) -> Lost:
    """Nothing more goes to this chat: its person is opted out, what waits for it cancelled, its subscriptions ended."""
    contact_id = opt_out_address(session, channel, address, now, BLOCKED)
    if contact_id is None:  # a person's opt-out cancels what waits for them; a group has no contact
        cancel_queued(session, channel, [address], BLOCKED)
    return Lost(contact_id, end_for_address(session, channel, address, now))
