"""One rig per transport, each over its local mock, for the contract suite (test_contract.py).

A side gives the suite the transport under test and the few levers and views the contract
needs: what reached the other end, and the faults its platform can answer with. A new
transport adds a side here (its own mock server) and the whole suite runs over it.
"""

from __future__ import annotations

import io
import json
import re
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
from bot.transports.teams.conversations import ConversationRef, Conversations
from bot.transports.teams.sending import TeamsTransport
from scheduler.casebook import Casebook
from scheduler.reminders.address import Address
from scheduler.reminders.outbox import Outbox
from scheduler.reminders.transport import Transport
from store import repo
from store.settings import Settings
from tests.builders import at
from tests.conftest import FakeClock
from tests.mock_bot_connector import MockBotConnector
from tests.mock_graph import CLIENT_ID, CLIENT_SECRET, SENDER, TENANT, MockGraph
from tests.mock_slack import MockSlack

KINDS = ("console", "slack", "email", "teams")
TEAMS_APP_ID = "77777777-2222-3333-4444-555555555555"
NORTH_CHANNEL = "19:north@thread.tacv2"


def aad_of(name: str) -> str:
    """The rig's Entra object ids: jo's is aad-jo."""
    return f"aad-{name}"


def email_of(name: str) -> str:
    """The rig's staff addresses: jo is jo@council.gov.uk."""
    return f"{name}@council.gov.uk"


class SlackSide:
    """Slack's Web API, mocked on localhost."""

    kind = "slack"
    stage_heading = False  # a prompt's stage begins its headline

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
    stage_heading = False  # a prompt's stage begins its headline

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
    stage_heading = False  # a prompt's stage begins its headline

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


_ESCAPED = re.compile(r"\\(.)")


def card_text(card: dict[str, Any]) -> str:
    """An Adaptive Card as its reader sees its words: every TextBlock's text in order (in
    containers too), a line per line; a Markdown list item ("- a", Teams' line break \\r
    between items) a line of its own without its marker; Markdown escapes undone."""
    lines: list[str] = []

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            if item.get("type") == "TextBlock":
                for line in str(item["text"]).replace("\r", "\n").split("\n"):
                    line = line[2:] if line.startswith("- ") else line
                    lines.append(_ESCAPED.sub(r"\1", line))
            walk(item.get("items") or [])

    walk(card.get("body") or [])
    return "\n".join(lines)


class TeamsSide:
    """Teams: the real TeamsTransport (the Teams SDK's API client) against the Bot
    Connector and token endpoint mocked on localhost (tests/mock_bot_connector.py); everyone
    and the north team's channel have a stored conversation (they opened the app)."""

    kind = "teams"
    stage_heading = True  # a prompt's stage is its card's heading ("Overdue")

    def __init__(self, mock: MockBotConnector, directory: Directory) -> None:
        self.mock = mock
        conversations = Conversations(directory.sessions)
        bot = f"28:{TEAMS_APP_ID}"
        for name in ("jo", "priya", "ada"):
            conversations.remember(ConversationRef(f"a:{name}", "personal", mock.service_url,
                                                   bot, "tenant", aad_object_id=aad_of(name)))
        conversations.remember(ConversationRef(NORTH_CHANNEL, "channel", mock.service_url,
                                               bot, "tenant", teams_team_id="19:g@thread.tacv2",
                                               channel_id=NORTH_CHANNEL))
        transport = TeamsTransport.from_settings(Settings(
            teams_app_id=TEAMS_APP_ID, teams_app_password="secret", teams_tenant_id="tenant",
            teams_openid_metadata_url=mock.metadata_url, teams_login_url=mock.url),
            directory)
        assert transport is not None
        self.transport: Transport = transport

    def _cards(self, conversation: str | None = None) -> list[dict[str, Any]]:
        return [p.body["attachments"][0]["content"] for p in self.mock.activities()
                if p.method == "POST" and (conversation is None or p.path.endswith(
                    f"/v3/conversations/{conversation}/activities"))]

    def received(self) -> list[str]:
        """What each card that reached Teams shows its reader, a line per line."""
        return [card_text(c) for c in self._cards()]

    def received_by(self, name: str) -> list[str]:
        """The cards in `name`'s chat with the bot (the rig's conversation a:jo is jo's)."""
        return [card_text(c) for c in self._cards(f"a:{name}")]

    def blocks(self) -> list[int]:
        return []  # Teams counts a card's bytes, not blocks (cards.py keeps it in budget)

    def last_blocks(self) -> list[dict[str, Any]] | None:
        return None  # an Adaptive Card, no Slack blocks

    def command(self, typed: str) -> str:
        return f"`{typed}`"  # a card has no code spans: the backticks are shown as typed

    def rate_limit_next(self, seconds: int) -> None:
        self.mock.fail_next(429, retry_after=seconds)

    def fail_next(self) -> None:
        self.mock.fail_next(503)

    def refuse_next(self) -> None:
        self.mock.fail_next(403)  # the app was removed there, or the tenant blocks it

    @contextmanager
    def answer_lost(self) -> Iterator[None]:
        pytest.skip("Teams cannot read a conversation back (the Bot Connector has no read, "
                    "Graph's message reads need tenant-wide protected permissions): a send "
                    "whose answer was lost cannot be checked, already_delivered is False")
        yield  # pragma: no cover

    def delivered_keys(self) -> list[str]:
        return self.mock.delivered_keys()


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
    casebook.add_team("north", "bexley", slack_channel="CNORTH", teams_channel=NORTH_CHANNEL)
    with casebook.sessions.begin() as s:
        repo.set_digest_email(s, "north", "north-team@council.gov.uk")
    directory.add("jo", "worker", "north", "UJO", aad_of("jo"), email=email_of("jo"))
    directory.add("priya", "manager", "north", "UPRIYA", aad_of("priya"),
                  email=email_of("priya"))
    directory.add("ada", "admin", None, "UADA", aad_of("ada"), email=email_of("ada"))
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
    elif request.param == "teams":
        with MockBotConnector(TEAMS_APP_ID) as mock:
            yield Rig(casebook, clock, TeamsSide(mock, directory))
    else:
        yield Rig(casebook, clock, ConsoleSide())
