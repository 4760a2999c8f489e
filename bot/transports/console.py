"""Sending to the console: notifications printed where the console user sees them."""

from __future__ import annotations

import sys
import threading
from datetime import datetime
from typing import ClassVar, TextIO

from bot.directory import Directory
from bot.transports.plain import plain
from scheduler.reminders.address import Address
from scheduler.reminders.content import PLAIN_BUDGET, Content
from scheduler.reminders.transport import Limits
from store.settings import Settings


def name_of(to: Address) -> str:
    """Who a recipient is, as a line names them: "jo", or the team whose channel it is."""
    return to.name


class ConsoleTransport:
    """Prints notifications where the console user sees them (the embedded default: no
    account, no network)."""

    kind: ClassVar[str] = "console"
    pace: ClassVar[float] = 1.0  # as every transport had before it could say: one a second
    # A terminal scrolls, but a digest shows as much as a chat message does, and the rest is
    # a `/due team` away.
    limits: ClassVar[Limits] = Limits(parts=PLAIN_BUDGET)

    @classmethod
    def from_settings(cls, settings: Settings, directory: Directory) -> ConsoleTransport:
        """Always available."""
        return cls()

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.lock = threading.Lock()

    def reaches(self, to: Address) -> bool:
        """Anyone: the console is where a recipient no other transport reaches is told."""
        return True

    def send(self, to: Address, content: Content, key: str) -> None:
        """Print one notification as plain text."""
        text = plain(content, self.limits.parts)
        with self.lock:
            print(f"\n[caseclock -> {name_of(to)}] {text}", file=self.stream, flush=True)

    def already_delivered(self, to: Address, key: str, since: datetime) -> bool:
        """A print cannot be looked up afterwards; a repeat after a crash is harmless here."""
        return False
