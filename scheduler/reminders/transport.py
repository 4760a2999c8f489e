"""What the delivery asks of a transport, and the one error a transport raises.

A transport (bot/transports/<kind>) sends one message to one recipient on one platform. The
delivery knows nothing of platforms: it claims a row, asks the row's transport whether an
earlier try already arrived (when one may have), sends, and reacts to `TransportError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Protocol

from scheduler.reminders.address import Address
from scheduler.reminders.content import Content

AMBIGUOUS = "ambiguous"  # a failure after which the message may still have been delivered


@dataclass(frozen=True)
class Limits:
    """What one message of a transport can hold: `parts` (Slack: 50 blocks; a digest's
    section header and each person's lines are a part each, see Digest.fit) and `chars` in
    one text part (Slack: 3,000 in a section). None: no limit (email)."""

    parts: int | None = None
    chars: int | None = None


class TransportError(Exception):
    """A failed send: `retry_after` (seconds) when the other side said when to come back,
    `permanent` when trying again cannot help (a refusal: the row is parked, admins told)."""

    def __init__(self, message: str, retry_after: float | None = None,
                 permanent: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class DeliveryUnknown(TransportError):
    """Whether an earlier try arrived cannot be told (the channel's history cannot be read
    to the end): the row is parked and the admins told, never sent again blind. The message
    starts with AMBIGUOUS, so a re-queued row is checked again before it is sent."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"{AMBIGUOUS}: it may already have arrived, and {reason}",
                         permanent=True)


class Transport(Protocol):
    """Delivers content to one recipient, an Address ("staff:NAME", "team:NAME",
    "ooh:NAME"; scheduler/reminders/address.py) that the transport resolves to its own id,
    rendered within its own `limits`.

    Declared by each transport (bot/transports/<kind>):
    - `kind`: its name in the registry and in outbox rows' `transport` column;
    - `pace`: seconds between two messages to one destination (the platform's rate);
    - `limits`: what one message holds (Limits): the transport shows what fits of the
      content and counts the rest ("and 13 more not shown here");
    - `send(to, content, key)`: render the content its own way and send it, carrying the
      outbox row's `key` where the platform allows (so `already_delivered` finds it);
    - `max_call_seconds` (optional): how long one `send` can take at worst (its timeouts
      and retries); the claim's lease must be longer;
    - `already_delivered(to, key, since)`: whether a message with this outbox key
      reached the recipient since `since` (False where the platform cannot tell and a
      repeat is harmless);
    - `prepare(to)` (optional): work before the send that is not part of it.
    """

    kind: ClassVar[str]
    pace: ClassVar[float]
    limits: ClassVar[Limits]

    def send(self, to: Address, content: Content, key: str) -> None: ...

    def already_delivered(self, to: Address, key: str, since: datetime) -> bool: ...


def max_call_seconds(transport: object) -> float:
    """The longest one send through `transport` can take (0: it does not say, it is local)."""
    return float(getattr(transport, "max_call_seconds", 0.0))
