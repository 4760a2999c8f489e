"""One rig per transport, each over its local mock, for the contract suite (test_contract.py).

A side gives the suite the transport under test and the few levers and views the contract
needs: what reached the other end, and the faults its platform can answer with. A new
transport adds a side here (its own mock server) and the whole suite runs over it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.directory import Directory
from bot.transports.console import ConsoleTransport
from bot.transports.slack.sending import SlackTransport
from scheduler.casebook import Casebook
from scheduler.reminders.outbox import Outbox
from scheduler.reminders.transport import Transport
from tests.builders import at
from tests.conftest import FakeClock
from tests.mock_slack import MockSlack

KINDS = ("console", "slack")


class SlackSide:
    """Slack's Web API, mocked on localhost."""

    kind = "slack"

    def __init__(self, slack: MockSlack, directory: Directory) -> None:
        self.slack = slack
        client = WebClient(token="xoxb-test", base_url=slack.url, timeout=1, retry_handlers=[])
        self.transport: Transport = SlackTransport(client, directory)

    def received(self) -> list[str]:
        """The text of every message that reached Slack."""
        return [str(c.body.get("text")) for c in self.slack.of("chat.postMessage")]

    def blocks(self) -> list[int]:
        """How many blocks each message that reached Slack had."""
        return [len(c.body.get("blocks") or []) for c in self.slack.of("chat.postMessage")]

    def last_blocks(self) -> list[dict[str, Any]] | None:
        """The blocks of the last message that reached Slack."""
        blocks = self.slack.of("chat.postMessage")[-1].body.get("blocks") or []
        return json.loads(blocks) if isinstance(blocks, str) else list(blocks)

    def rate_limit_next(self, seconds: int) -> None:
        self.slack.fail_next("chat.postMessage", 429, retry_after=seconds)

    def fail_next(self) -> None:
        self.slack.fail_next("chat.postMessage", 503)

    def refuse_next(self) -> None:
        self.slack.fail_next("chat.postMessage", 403)


class FlakyStream(io.StringIO):
    """The console's terminal: a write can fail once, as a closed pipe would."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0

    def write(self, s: str) -> int:
        if self.failures:
            self.failures -= 1
            raise OSError("the terminal went away")
        return super().write(s)


class ConsoleSide:
    """The console: printed lines, nothing to rate-limit or refuse."""

    kind = "console"

    def __init__(self) -> None:
        self.stream = FlakyStream()
        self.transport: Transport = ConsoleTransport(self.stream)

    def received(self) -> list[str]:
        """The text of every notification printed (one per "[caseclock -> ...]" line)."""
        out: list[str] = []
        for chunk in self.stream.getvalue().split("\n[caseclock -> ")[1:]:
            out.append(chunk.split("] ", 1)[1].rstrip("\n"))
        return out

    def blocks(self) -> list[int]:
        return []

    def last_blocks(self) -> list[dict[str, Any]] | None:
        return None  # plain text only

    def rate_limit_next(self, seconds: int) -> None:
        pytest.skip("the console has no rate limit")

    def fail_next(self) -> None:
        self.stream.failures = 1

    def refuse_next(self) -> None:
        pytest.skip("the console refuses no one")


@dataclass
class Rig:
    """A casebook of six cases for jo (team north), an admin, and one transport's side."""

    casebook: Casebook
    clock: FakeClock
    side: Any
    outboxes: list[Outbox] = field(default_factory=list)

    def outbox(self, **kw: Any) -> Outbox:
        params: dict[str, Any] = {"pace": 0.0, "base_backoff": 0.01}
        params.update(kw)
        kind = self.side.kind
        box = Outbox(self.casebook.sessions, self.casebook.library, {kind: self.side.transport},
                     transport_for=lambda _r: kind, **params)
        self.outboxes.append(box)
        return box

    def later(self, seconds: float) -> None:
        self.clock.now += timedelta(seconds=seconds)


@pytest.fixture(params=KINDS)
def rig(request: pytest.FixtureRequest, casebook: Casebook, clock: FakeClock) -> Iterator[Rig]:
    directory = Directory(casebook.sessions)
    casebook.add_team("north", "bexley", slack_channel="CNORTH")
    directory.add("jo", "worker", "north", "UJO")
    directory.add("priya", "manager", "north", "UPRIYA")
    directory.add("ada", "admin", None, "UADA")
    clock.now = at(2026, 12, 18, 12)
    for i in range(12):  # twelve cases referred Fri 18 Dec 2026, allocated to jo
        ref = f"12345{i:02d}"
        casebook.log(ref, "referral_received", at(2026, 12, 18, 10), {"track": "s17"},
                     actor="priya", source="test", team="north")
        casebook.log(ref, "allocated", at(2026, 12, 18, 11), {"worker": "jo"}, actor="priya",
                     source="test")
    if request.param == "slack":
        with MockSlack() as slack:
            slack.clock = lambda: clock.now.timestamp()
            yield Rig(casebook, clock, SlackSide(slack, directory))
    else:
        yield Rig(casebook, clock, ConsoleSide())
