"""Sending to the console: notifications printed where the console user sees them."""

from __future__ import annotations

import sys
import threading
from datetime import datetime
from typing import Any, ClassVar, TextIO

from bot.directory import Directory
from store.settings import Settings


class ConsoleTransport:
    """Prints notifications where the console user sees them (the embedded default: no
    account, no network)."""

    kind: ClassVar[str] = "console"
    pace: ClassVar[float] = 1.0  # as every transport had before it could say: one a second

    @classmethod
    def from_settings(cls, settings: Settings, directory: Directory) -> ConsoleTransport:
        """Always available."""
        return cls()

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.lock = threading.Lock()

    def reaches(self, recipient: str) -> bool:
        """Anyone: the console is where a recipient no other transport reaches is told."""
        return True

    def send(self, recipient: str, message: dict[str, Any]) -> None:
        """Print one notification."""
        with self.lock:
            print(f"\n[caseclock -> {recipient.split(':', 1)[1]}] {message.get('text', '')}",
                  file=self.stream, flush=True)

    def already_delivered(self, recipient: str, key: str, since: datetime) -> bool:
        """A print cannot be looked up afterwards; a repeat after a crash is harmless here."""
        return False
