"""The reminders through Teams: the outbox's sweep and delivery with TeamsTransport over the
mock Bot Connector, routed as `caseclock serve` routes them. Each prompt arrives once as a
card in the person's chat, the team's digest in its channel; a 429 waits for its Retry-After
without using up an attempt; nothing goes twice.

Wed 30 Dec 2026, 09:00: twelve of jo's cases are a day past their visit (referred Fri 18 Dec).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.directory import Directory
from bot.transports.console import ConsoleTransport
from bot.transports.registry import router
from bot.transports.teams.conversations import ConversationRef, Conversations
from bot.transports.teams.sending import TeamsTransport
from scheduler.casebook import Casebook
from scheduler.reminders.outbox import Outbox
from store.models import OutboxRow
from store.settings import Settings
from tests.builders import at
from tests.conftest import FakeClock
from tests.mock_bot_connector import MockBotConnector

APP_ID = "77777777-2222-3333-4444-555555555555"
BOT = f"28:{APP_ID}"
NORTH = "19:north@thread.tacv2"
PEOPLE = {"jo": "aad-jo", "priya": "aad-priya", "ada": "aad-ada"}


@pytest.fixture
def mock() -> Iterator[MockBotConnector]:
    with MockBotConnector(APP_ID) as m:
        yield m


@pytest.fixture
def outbox(casebook: Casebook, clock: FakeClock, mock: MockBotConnector) -> Outbox:
    directory = Directory(casebook.sessions)
    casebook.add_team("north", "bexley", teams_channel=NORTH)
    directory.add("jo", "worker", "north", msteams_id=PEOPLE["jo"])
    directory.add("priya", "manager", "north", msteams_id=PEOPLE["priya"])
    directory.add("ada", "admin", None, msteams_id=PEOPLE["ada"])
    conversations = Conversations(casebook.sessions)
    for name, aad in PEOPLE.items():
        conversations.remember(ConversationRef(f"a:{name}", "personal", mock.service_url, BOT,
                                               "tenant", aad_object_id=aad))
    conversations.remember(ConversationRef(NORTH, "channel", mock.service_url, BOT, "tenant",
                                           teams_team_id="19:g@thread.tacv2",
                                           channel_id=NORTH))
    clock.now = at(2026, 12, 18, 12)
    for i in range(12):
        ref = f"12345{i:02d}"
        casebook.log(ref, "referral_received", at(2026, 12, 18, 10), {"track": "s17"},
                     actor="priya", source="test", team="north")
        casebook.log(ref, "allocated", at(2026, 12, 18, 11), {"worker": "jo"}, actor="priya",
                     source="test")
    teams = TeamsTransport.from_settings(Settings(
        teams_app_id=APP_ID, teams_app_password="secret", teams_tenant_id="tenant",
        teams_openid_metadata_url=mock.metadata_url, teams_login_url=mock.url), directory)
    assert teams is not None
    transports = {"console": ConsoleTransport(), "teams": teams}
    return Outbox(casebook.sessions, casebook.library, transports,
                  transport_for=router(transports, directory), pace=0.0, base_backoff=0.01)


def _drain(outbox: Outbox, clock: FakeClock) -> None:
    for _ in range(100):
        outbox.deliver(clock)
        c = outbox.counts()
        if c["sent"] + c["parked"] + c["withdrawn"] == c["total"]:
            return
        clock.now += timedelta(seconds=5)
    raise AssertionError(f"not drained: {outbox.counts()}")


def test_the_mornings_reminders_arrive_once_each_in_teams(outbox: Outbox, clock: FakeClock,
                                                        mock: MockBotConnector,
                                                        casebook: Casebook) -> None:
    clock.now = at(2026, 12, 30, 9)
    assert outbox.sweep(clock.now).created == 15
    with casebook.sessions() as s:
        assert set(s.scalars(select(OutboxRow.transport))) == {"teams"}
    mock.fail_next(429, retry_after=2)
    assert outbox.deliver(clock, limit=1) == {"retry": 1}
    with casebook.sessions() as s:
        row = s.scalars(select(OutboxRow).where(OutboxRow.last_error.is_not(None))).one()
        assert row.attempts == 0 and row.next_attempt_at == clock.now + timedelta(seconds=2)
    assert mock.activities() == []
    _drain(outbox, clock)
    assert outbox.counts() == {"total": 15, "sent": 15, "parked": 0, "withdrawn": 0}
    posted = mock.activities()
    keys = [p.body["channelData"]["caseclockKey"] for p in posted]
    assert len(keys) == 15 == len(set(keys))  # nothing went twice
    where = Counter(p.path.split("/v3/conversations/")[1].split("/")[0] for p in posted)
    assert where["a:jo"] == 12 and where[NORTH] == 1
    prompts = [p.body for p in posted if p.path.endswith("/a:jo/activities")]
    assert sorted(b["summary"].split(",")[0] for b in prompts) == [
        f"Overdue: case 12345{i:02d}" for i in range(12)]
    card = prompts[0]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert {a.get("verb") for a in card["content"]["actions"]} >= {"log_it", "quote"}
    # The same minute again: nothing new to send.
    clock.now += timedelta(seconds=60)
    assert outbox.sweep(clock.now).created == 0
    assert outbox.deliver(clock) == {}
    assert len(mock.activities()) == 15
