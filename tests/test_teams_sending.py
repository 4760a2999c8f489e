"""TeamsTransport against the mock Bot Connector on localhost: the exact request of a
proactive card, Teams' throttling as TransportError(retry_after), refusals, the hourly cap,
and a person the bot cannot write to yet."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import build_app
from bot.transports.registry import build_transports, router, transport_class
from bot.transports.teams.cards import render_card
from bot.transports.teams.conversations import ConversationRef, Conversations
from bot.transports.teams.sending import AppRate, HourlyCap, TeamsTransport
from bot.transports.teams_feed import chain_id
from scheduler.reminders.address import Address
from scheduler.reminders.content import ActionRef, Alert, Prompt
from scheduler.reminders.transport import TransportError
from store.settings import Settings
from tests.mock_bot_connector import MockBotConnector, RateLimiter, TeamsLimits
from tests.mock_graph import CLIENT_ID, CLIENT_SECRET, MockGraph
from tests.mock_graph import TENANT as GRAPH_TENANT

APP_ID = "99999999-2222-3333-4444-555555555555"
BOT = f"28:{APP_ID}"
TENANT = "tenant-0002"
JO = "aad-1111-jo"
NORTH_CHANNEL = "19:north@thread.tacv2"
CARD = "application/vnd.microsoft.card.adaptive"
PROMPT = Prompt(ref=ActionRef("800001", "visit", 1, "due"),
                lines=("Due today: case 800001, Child visited no later than 5 days after the "
                       "referral.",))


@pytest.fixture
def mock() -> Iterator[MockBotConnector]:
    with MockBotConnector(APP_ID) as m:
        yield m


@pytest.fixture
def settings(tmp_path: Path, mock: MockBotConnector) -> Settings:
    s = Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", teams_app_id=APP_ID,
                 teams_app_password="app-secret", teams_tenant_id=TENANT,
                 teams_openid_metadata_url=mock.metadata_url, teams_login_url=mock.url)
    app = build_app(s)
    app.casebook.add_team("north", "bexley")
    app.casebook.add_team("south", "bexley")
    app.directory.add("jo", "worker", "north", msteams_id=JO)
    app.directory.add("ann", "worker", "north", msteams_id="aad-1111-ann")  # never opened it
    with app.casebook.sessions.begin() as session:
        from sqlalchemy import select

        from store.models import Team
        session.scalars(select(Team).where(Team.name == "north")).one().msteams_channel = (
            NORTH_CHANNEL)
    conversations = Conversations(app.casebook.sessions)
    conversations.remember(ConversationRef("a:personal-jo", "personal", mock.service_url, BOT,
                                           TENANT, aad_object_id=JO))
    conversations.remember(ConversationRef(NORTH_CHANNEL, "channel", mock.service_url, BOT,
                                           TENANT, teams_team_id="19:g@thread.tacv2",
                                           channel_id=NORTH_CHANNEL))
    return s


def transport(settings: Settings) -> TeamsTransport:
    t = TeamsTransport.from_settings(settings, build_app(settings).directory)
    assert t is not None
    return t


def test_a_prompt_goes_to_the_persons_chat_as_an_adaptive_card(settings: Settings,
                                                              mock: MockBotConnector) -> None:
    transport(settings).send(Address.person("jo"), PROMPT, "key-800001-due")
    [posted] = mock.activities()
    assert posted.method == "POST"
    assert posted.path == "/teams/v3/conversations/a:personal-jo/activities"
    assert posted.body == {
        "type": "message", "summary": PROMPT.lines[0],
        "attachments": [{"contentType": CARD, "content": render_card(PROMPT)}],
        "channelData": {"caseclockKey": "key-800001-due"},
        "from": {"id": BOT},
        "conversation": {"id": "a:personal-jo", "conversationType": "personal",
                         "tenantId": TENANT}}
    assert posted.headers["Authorization"].startswith("Bearer ")
    assert mock.token_requests[0]["client_secret"] == ["app-secret"]


def test_a_team_digest_goes_to_the_teams_channel(settings: Settings,
                                                 mock: MockBotConnector) -> None:
    transport(settings).send(Address.team("north"), Alert("Morning digest for north."), "k2")
    [posted] = mock.activities()
    assert posted.path == f"/teams/v3/conversations/{NORTH_CHANNEL}/activities"
    assert posted.body["conversation"] == {"id": NORTH_CHANNEL, "conversationType": "channel",
                                           "tenantId": TENANT}
    assert posted.body["summary"] == "Morning digest for north."


def test_a_429_is_retried_after_its_retry_after_and_goes_once(settings: Settings,
                                                              mock: MockBotConnector) -> None:
    t = transport(settings)
    mock.fail_next(429, retry_after=7)
    with pytest.raises(TransportError) as err:
        t.send(Address.person("jo"), PROMPT, "key-429")
    assert err.value.retry_after == 7.0 and not err.value.permanent
    assert mock.activities() == []  # nothing went
    t.send(Address.person("jo"), PROMPT, "key-429")  # the outbox's retry
    assert [p.body["channelData"]["caseclockKey"] for p in mock.activities()] == ["key-429"]


@pytest.mark.parametrize(("status", "permanent", "retry_after"), [
    (412, False, 3.0), (502, False, 3.0), (503, False, None), (504, False, 3.0),
    (401, True, None), (403, True, None), (404, True, None)])
def test_teams_answers_map_to_retries_or_refusals(settings: Settings, mock: MockBotConnector,
                                                  status: int, permanent: bool,
                                                  retry_after: float | None) -> None:
    mock.fail_next(status, retry_after=retry_after)
    with pytest.raises(TransportError) as err:
        transport(settings).send(Address.person("jo"), PROMPT, "k")
    assert (err.value.permanent, err.value.retry_after) == (permanent, retry_after)
    assert str(status) in str(err.value)


def test_someone_who_never_opened_the_app_is_not_reached_and_admins_are_told_what_to_do(
        settings: Settings, mock: MockBotConnector) -> None:
    t = transport(settings)
    assert t.reaches(Address.person("jo")) is True
    assert t.reaches(Address.person("ann")) is False
    assert t.reaches(Address.team("south")) is False  # no channel linked
    assert t.reaches("staff:jo") is True  # an outbox row's recipient, as the router asks
    with pytest.raises(TransportError) as err:
        t.send(Address.person("ann"), PROMPT, "k")
    assert err.value.permanent
    assert "install the app for them, or ask them to open it once" in str(err.value)
    assert mock.activities() == []


def test_the_hourly_cap_puts_sends_off_until_the_hour_has_room(settings: Settings,
                                                               mock: MockBotConnector) -> None:
    t = transport(settings)
    t.cap = HourlyCap(cap=2, window=3600)
    t.send(Address.person("jo"), PROMPT, "a")
    mock.fail_next(503)  # a send that did not reach Teams does not count
    with pytest.raises(TransportError):
        t.send(Address.person("jo"), PROMPT, "b")
    t.send(Address.person("jo"), PROMPT, "b")
    with pytest.raises(TransportError) as err:
        t.send(Address.person("jo"), PROMPT, "c")
    assert err.value.retry_after is not None and 3500 < err.value.retry_after <= 3600
    # Teams counts the hour per conversation: jo's full hour holds back nobody else.
    t.send(Address.team("north"), PROMPT, "d")
    assert [p.body["channelData"]["caseclockKey"] for p in mock.activities()] == [
        "a", "b", "d"]


def test_the_apps_sends_a_second_stay_within_teams_limit_over_all_conversations(
        settings: Settings, mock: MockBotConnector) -> None:
    # Teams answering as it does: 3 a second for the app (50 in production), whatever the
    # conversation; a transport that counts its own sends is never throttled.
    mock.limiter = RateLimiter(TeamsLimits(per_conversation=100, app_per_second=3,
                                           hourly=None))
    t = transport(settings)
    t.rate = AppRate(per_second=3)
    t.send(Address.team("north"), PROMPT, "warm")  # the token fetched, the client made
    time.sleep(1.1)
    started = time.monotonic()
    for n in range(6):
        to = Address.person("jo") if n % 2 else Address.team("north")
        t.send(to, PROMPT, f"k{n}")
    assert time.monotonic() - started >= 1.0  # the fourth waited for the first's second
    assert mock.rate_limited == 0 and len(mock.delivered_keys()) == 7
    # Without the count, the fourth send of a second is refused with Teams' Retry-After.
    t.rate = AppRate(per_second=1000)
    time.sleep(1.1)
    for n in range(3):
        t.send(Address.person("jo"), PROMPT, f"x{n}")
    with pytest.raises(TransportError) as err:
        t.send(Address.team("north"), PROMPT, "x3")
    assert err.value.retry_after == 1 and not err.value.permanent
    assert mock.rate_limited == 1 and "x3" not in mock.delivered_keys()


def test_teams_is_registered_and_configured_only_with_its_settings(settings: Settings
                                                                   ) -> None:
    assert transport_class("teams") is TeamsTransport
    app = build_app(settings)
    transports = build_transports(settings, app.directory)
    assert "teams" in transports
    assert TeamsTransport.pace == 1 / 7
    unconfigured = Settings(database_url=settings.database_url)
    assert TeamsTransport.from_settings(unconfigured, app.directory) is None
    assert callable(router(transports, app.directory))


# --- urgent prompts raise a Teams activity-feed notification (Graph) -------------------------

URGENT = Prompt(ref=ActionRef("800002", "allocation", 1, "overdue"),
                lines=("Overdue: case 800002, Case allocated within 24 hours of the referral, "
                       "was due 9pm today.",), urgent=True)


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockGraph]:
    with MockGraph() as m:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(m.ca_file))  # the mock authority's CA
        yield m


@pytest.fixture
def with_graph(settings: Settings, graph: MockGraph) -> Iterator[TeamsTransport]:
    t = transport(settings.model_copy(update={
        "graph_tenant_id": GRAPH_TENANT, "graph_client_id": CLIENT_ID,
        "graph_client_secret": CLIENT_SECRET, "graph_api_url": graph.api_url,
        "graph_authority": graph.authority}))
    yield t
    feed = t.feed()
    if feed is not None:
        feed.graph.close()


def test_an_urgent_prompt_to_a_person_also_raises_one_activity_feed_notification(
        with_graph: TeamsTransport, mock: MockBotConnector, graph: MockGraph) -> None:
    with_graph.send(Address.person("jo"), URGENT, "key-800002-overdue")
    [posted] = mock.activities()
    assert posted.path == "/teams/v3/conversations/a:personal-jo/activities"
    [feed] = graph.requests
    assert (feed.method, feed.path) == (
        "POST", f"/v1.0/users/{JO}/teamwork/sendActivityNotification")
    assert feed.headers["authorization"] == f"Bearer {graph.token}"
    assert feed.body == {
        "topic": {"source": "text", "value": "Case 800002",
                  "webUrl": f"https://teams.microsoft.com/l/chat/0/0?users=28:{APP_ID}"},
        "activityType": "urgentDeadline",
        "chainId": chain_id(URGENT),
        "previewText": {"content": URGENT.lines[0]},
        "templateParameters": [{"name": "case", "value": "800002"}]}


def test_a_prompt_that_is_not_urgent_or_not_to_a_person_raises_no_notification(
        with_graph: TeamsTransport, mock: MockBotConnector, graph: MockGraph) -> None:
    with_graph.send(Address.person("jo"), PROMPT, "key-800001-due")
    with_graph.send(Address.team("north"), URGENT, "key-800002-overdue-north")
    assert [p.path.split("/")[4] for p in mock.activities()] == ["a:personal-jo", NORTH_CHANNEL]
    assert graph.requests == [] and graph.token_requests == []


def test_without_graph_an_urgent_prompt_is_sent_with_no_notification(
        settings: Settings, mock: MockBotConnector) -> None:
    t = transport(settings)
    t.send(Address.person("jo"), URGENT, "key-800002-overdue")
    assert len(mock.activities()) == 1 and t.feed() is None


@pytest.mark.parametrize("status", [403, 503])
def test_a_refused_or_failed_notification_never_fails_the_prompts_send(
        with_graph: TeamsTransport, mock: MockBotConnector, graph: MockGraph,
        caplog: pytest.LogCaptureFixture, status: int) -> None:
    graph.fail_next("/sendActivityNotification", status)
    with caplog.at_level(logging.INFO, logger="caseclock.teams_feed"):
        with_graph.send(Address.person("jo"), URGENT, "key-800002-overdue")  # no raise
    assert len(mock.activities()) == 1  # the prompt went, once
    assert len(graph.of("/sendActivityNotification")) == 1  # tried once, not retried
    [line] = [r.getMessage() for r in caplog.records if r.name == "caseclock.teams_feed"]
    assert line.startswith("activity feed notification skipped: Graph answered 403"
                            if status == 403 else
                            "activity feed notification failed: Graph answered 503")
    assert "800002" not in line and JO not in line
