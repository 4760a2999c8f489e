"""Who a notification goes to, whatever the platform: a person, or a care team's channel.

The reminders address people and teams; each transport resolves an address to its own id
(Slack: a user's direct message or the team's channel id; Teams: a stored conversation;
email: an address). An outbox row's `recipient` is the address's string form:
- "staff:NAME": a member of staff, on the transport they prefer;
- "team:NAME": the care team's own channel (its duty prompts and morning digest);
- "ooh:NAME": the team's out-of-hours channel, for urgent prompts out of hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AddressKind = Literal["staff", "team", "ooh"]
KINDS: tuple[AddressKind, ...] = ("staff", "team", "ooh")


@dataclass(frozen=True)
class Address:
    """A person ("staff") or a care team's channel ("team", "ooh") by name."""

    kind: AddressKind
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def is_person(self) -> bool:
        return self.kind == "staff"

    @property
    def label(self) -> str:
        """How the console and the dry run name it: "jo", "north (team channel)"."""
        if self.kind == "staff":
            return self.name
        return f"{self.name} ({'team' if self.kind == 'team' else 'out-of-hours'} channel)"

    @classmethod
    def parse(cls, text: str) -> Address:
        """The address an outbox row's `recipient` holds."""
        kind, sep, name = text.partition(":")
        if not sep or not name or kind not in KINDS:
            raise ValueError(f"{text!r} is not an address (staff:NAME, team:NAME, ooh:NAME)")
        return cls(kind, name)

    @classmethod
    def person(cls, name: str) -> Address:
        return cls("staff", name)

    @classmethod
    def team(cls, name: str) -> Address:
        return cls("team", name)

    @classmethod
    def ooh(cls, name: str) -> Address:
        return cls("ooh", name)
