"""One rig per transport, each over its local mock, for the contract suite (test_contract.py).

A side gives the suite the transport under test and the few levers and views the contract
needs: what reached the other end, and the faults its platform can answer with. A new
transport adds a side here (its own mock server) and the whole suite runs over it.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any, ClassVar

import pytest
from slack_sdk import WebClient

from bot.directory import Directory
from bot.transports.console import ConsoleTransport
from bot.transports.email import KEY_PROPERTY, EmailTransport
from bot.transports.slack.sending import SlackTransport
from scheduler.casebook import Casebook
from scheduler.reminders.address import Address
from scheduler.reminders.outbox import Outbox
from scheduler.reminders.transport import Transport
from store import repo
from store.settings import Settings
from tests.builders import at
from tests.conftest import FakeClock
from tests.mock_graph import CLIENT_ID, CLIENT_SECRET, SENDER, TENANT, MockGraph
from tests.mock_slack import MockSlack

KINDS = ("console", "slack", "email")


def email_of(name: str) -> str:
    """The rig's staff addresses: jo is jo@council.gov.uk."""
    return f"{name}@council.gov.uk"


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

    def received_by(self, name: str) -> list[str]:
        """The text of every message to `name`'s direct message (the rig's Slack id of jo
        is UJO; the mock opens D + the user's id)."""
        channel = f"DU{name.upper()}"
        return [str(c.body.get("text")) for c in self.slack.of("chat.postMessage")
                if c.body.get("channel") == channel]

    def command(self, typed: str) -> str:
        """A command as a message shows it: code, in mrkdwn."""
        return f"`{typed}`"

    @contextmanager
    def answer_lost(self) -> Iterator[None]:
        """The next post arrives but its answer comes after the client's 1 s timeout."""
        self.transport.channel_of(Address.person("jo"))  # type: ignore[attr-defined]
        self.slack.delay = 1.5
        yield
        self.slack.delay = 0.0
        time.sleep(1.6)  # the late answer is in: the post is recorded

    def delivered_keys(self) -> list[str]:
        return self.slack.delivered_keys()


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
        return [t for _to, t in self._lines()]

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

    def received_by(self, name: str) -> list[str]:
        return [t for to, t in self._lines() if to == name]

    def command(self, typed: str) -> str:
        return f"`{typed}`"  # as a chat message would show it

    def _lines(self) -> list[tuple[str, str]]:
        out = []
        for chunk in self.stream.getvalue().split("\n[caseclock -> ")[1:]:
            to, text = chunk.split("] ", 1)
            out.append((to, text.rstrip("\n")))
        return out


class VisibleText(HTMLParser):
    """An HTML email's text as its reader sees it: a line per paragraph, table row and
    line break, cells of a row side by side; the page's <title> (in <head>) is not shown."""

    BREAKS: ClassVar[frozenset[str]] = frozenset(
        {"br", "tr", "p", "div", "table", "h1", "h2", "h3", "li"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head":
            self.in_head = True
        elif tag in self.BREAKS:
            self.parts.append("\n")
        elif tag == "td":
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self.in_head = False
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.in_head:
            self.parts.append(data)

    @classmethod
    def of(cls, html: str) -> str:
        parser = cls()
        parser.feed(html)
        parser.close()
        lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
        return "\n".join(line for line in lines if line)


class EmailSide:
    """Outlook email: the real msgraph-sdk client and azure-identity's credential, against
    Graph's sendMail and token endpoint mocked on localhost (tests/mock_graph.py)."""

    kind = "email"

    def __init__(self, graph: MockGraph, directory: Directory) -> None:
        self.graph = graph
        values = {"graph_tenant_id": TENANT, "graph_client_id": CLIENT_ID,
                  "graph_client_secret": CLIENT_SECRET, "graph_sender": SENDER,
                  "graph_api_url": graph.api_url, "graph_authority": graph.authority}
        settings = Settings(**values)  # type: ignore[arg-type]
        transport = EmailTransport.from_settings(settings, directory)
        assert transport is not None
        self.email = transport
        self.transport: Transport = transport

    def received(self) -> list[str]:
        """What each email in the sender's Sent Items (what Exchange took) shows its reader."""
        return [VisibleText.of(m.message["body"]["content"]) for m in self.graph.sent()]

    def received_by(self, name: str) -> list[str]:
        return [VisibleText.of(m.message["body"]["content"]) for m in self.graph.sent()
                if m.message["toRecipients"] == [{"emailAddress": {"address": email_of(name)}}]]

    def blocks(self) -> list[int]:
        return []

    def last_blocks(self) -> list[dict[str, Any]] | None:
        return None  # HTML, no blocks

    def command(self, typed: str) -> str:
        return typed  # HTML shows no mrkdwn: the backticks are left out

    def rate_limit_next(self, seconds: int) -> None:
        self.graph.fail_next("/sendMail", 429, retry_after=seconds)

    def fail_next(self) -> None:
        self.graph.fail_next("/sendMail", 503)

    def refuse_next(self) -> None:
        self.graph.fail_next("/sendMail", 403)  # Mail.Send not granted for the mailbox

    @contextmanager
    def answer_lost(self) -> Iterator[None]:
        """The next sendMail is taken by Exchange, then answered 504 (the answer lost)."""
        self.graph.fail_next("/sendMail", 504, after_delivery=True)
        yield

    def delivered_keys(self) -> list[str]:
        return [m.key_property(KEY_PROPERTY) or "" for m in self.graph.sent()]


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
def rig(request: pytest.FixtureRequest, casebook: Casebook, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    directory = Directory(casebook.sessions)
    casebook.add_team("north", "bexley", slack_channel="CNORTH")
    with casebook.sessions.begin() as s:
        repo.set_digest_email(s, "north", "north-team@council.gov.uk")
    directory.add("jo", "worker", "north", "UJO", email=email_of("jo"))
    directory.add("priya", "manager", "north", "UPRIYA", email=email_of("priya"))
    directory.add("ada", "admin", None, "UADA", email=email_of("ada"))
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
    elif request.param == "email":
        with MockGraph() as graph:
            # azure-identity's requests transport trusts the mock authority's CA through this.
            monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(graph.ca_file))
            side = EmailSide(graph, directory)
            try:
                yield Rig(casebook, clock, side)
            finally:
                side.email.graph.close()
    else:
        yield Rig(casebook, clock, ConsoleSide())
