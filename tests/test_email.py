"""Outlook email through Microsoft Graph: the real msgraph-sdk client and azure-identity's
ClientSecretCredential against a mock Graph and a mock token endpoint on localhost
(tests/mock_graph.py).

jo (north) has an email address, sam (north) has none; north's digest goes to
north-team@council.gov.uk, south has no digest address.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot.app import build_app
from bot.directory import Directory
from bot.transports.email import KEY_HEADER, KEY_PROPERTY, EmailTransport, graph_failure
from bot.transports.graph import CALL_SECONDS
from bot.transports.teams_feed import ActivityFeed, chain_id
from scheduler.casebook import Casebook
from scheduler.reminders.address import Address
from scheduler.reminders.content import Action, ActionRef, Prompt
from scheduler.reminders.delivery import LEASE
from scheduler.reminders.transport import AMBIGUOUS, TransportError
from store import repo
from store.settings import Settings
from tests.mock_graph import CLIENT_ID, CLIENT_SECRET, SENDER, TENANT, MockGraph, param

JO = Address.person("jo")
KEY = "overdue|123456|visit|1|staff:jo"
REF = ActionRef("123456", "visit", 1, "overdue")
PROMPT = Prompt(REF, ("Overdue: case 123456, Child visited, was due 7pm today.",),
                actions=(Action("reason", REF),))
SINCE = datetime(2026, 12, 1, 9, tzinfo=UTC)


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockGraph]:
    with MockGraph() as mock:
        # azure-identity's requests transport trusts the mock authority's CA through this.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(mock.ca_file))
        yield mock


def settings_for(graph: MockGraph, **changes: str) -> Settings:
    values = {"graph_tenant_id": TENANT, "graph_client_id": CLIENT_ID,
              "graph_client_secret": CLIENT_SECRET, "graph_sender": SENDER,
              "graph_api_url": graph.api_url, "graph_authority": graph.authority, **changes}
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def directory(casebook: Casebook) -> Directory:
    casebook.add_team("north", "bexley")
    casebook.add_team("south", "bexley")
    with casebook.sessions.begin() as s:
        repo.set_digest_email(s, "north", "north-team@council.gov.uk")
    d = Directory(casebook.sessions)
    d.add("jo", "worker", "north", email="jo.smith@council.gov.uk")
    d.add("sam", "worker", "north")
    return d


@pytest.fixture
def email(graph: MockGraph, directory: Directory) -> Iterator[EmailTransport]:
    transport = EmailTransport.from_settings(settings_for(graph), directory)
    assert transport is not None
    yield transport
    transport.graph.close()


def test_an_email_is_one_sendmail_from_the_sender_with_the_apps_token(
        email: EmailTransport, graph: MockGraph) -> None:
    email.send(JO, PROMPT, KEY)
    (token,) = graph.token_requests
    assert token.path == f"/{TENANT}/oauth2/v2.0/token"
    assert {k: token.body[k] for k in ("grant_type", "client_id", "client_secret", "scope")} == {
        "grant_type": "client_credentials", "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET, "scope": "https://graph.microsoft.com/.default"}
    (sent,) = graph.requests
    assert (sent.method, sent.path) == ("POST", f"/v1.0/users/{SENDER}/sendMail")
    assert sent.headers["authorization"] == f"Bearer {graph.token}"
    assert sent.content_type == "application/json"
    message = param(sent.body, "message")
    assert param(sent.body, "saveToSentItems") is True
    html = message["body"].pop("content")
    assert "Overdue: case 123456, Child visited, was due 7pm today." in html
    assert message == {
        "@odata.type": "#microsoft.graph.message",
        "subject": "Overdue: case 123456, Child visited, was due 7pm today",
        "body": {"contentType": "html"},
        "toRecipients": [{"emailAddress": {"address": "jo.smith@council.gov.uk"}}],
        "internetMessageHeaders": [{"name": KEY_HEADER, "value": KEY}],
        "singleValueExtendedProperties": [{"id": KEY_PROPERTY, "value": KEY}]}
    # The token is kept: a second email asks for none.
    email.send(Address.team("north"), PROMPT, KEY + "|2")
    assert len(graph.token_requests) == 1
    assert param(graph.requests[1].body, "message")["toRecipients"] == [
        {"emailAddress": {"address": "north-team@council.gov.uk"}}]


def test_email_reaches_people_and_teams_with_an_address_only(email: EmailTransport) -> None:
    assert email.reaches(JO)
    assert email.reaches(Address.team("north"))
    assert not email.reaches(Address.person("sam"))
    assert not email.reaches(Address.team("south"))
    assert not email.reaches(Address.ooh("north"))  # out of hours needs a chat
    assert not email.reaches(Address.person("nobody"))


def test_someone_without_an_address_is_refused_without_a_request(
        email: EmailTransport, graph: MockGraph) -> None:
    with pytest.raises(TransportError) as err:
        email.send(Address.person("sam"), PROMPT, KEY)
    assert err.value.permanent and "sam has no email address" in str(err.value)
    assert graph.requests == []


def test_a_429_is_one_request_and_its_retry_after_goes_to_the_outbox(
        email: EmailTransport, graph: MockGraph) -> None:
    graph.fail_next("/sendMail", 429, retry_after=7)
    with pytest.raises(TransportError) as err:
        email.send(JO, PROMPT, KEY)
    assert err.value.retry_after == 7.0 and not err.value.permanent
    assert len(graph.of("/sendMail")) == 1  # msgraph-sdk's retry handler is not in the way
    assert graph.sent() == []


@pytest.mark.parametrize("status", [503, 504])
def test_a_5xx_is_not_retried_by_the_sdk_and_counts_as_ambiguous(
        email: EmailTransport, graph: MockGraph, status: int) -> None:
    graph.fail_next("/sendMail", status)
    with pytest.raises(TransportError) as err:
        email.send(JO, PROMPT, KEY)
    assert str(err.value).startswith(f"{AMBIGUOUS}: Graph answered {status}")
    assert not err.value.permanent and err.value.retry_after is None
    assert len(graph.of("/sendMail")) == 1


def test_a_503_with_retry_after_passes_it_on(email: EmailTransport, graph: MockGraph) -> None:
    graph.fail_next("/sendMail", 503, retry_after=30)
    with pytest.raises(TransportError) as err:
        email.send(JO, PROMPT, KEY)
    assert err.value.retry_after == 30.0 and len(graph.of("/sendMail")) == 1


def test_a_refusal_is_permanent_and_says_what_to_grant(
        email: EmailTransport, graph: MockGraph) -> None:
    graph.fail_next("/sendMail", 403)
    with pytest.raises(TransportError) as err:
        email.send(JO, PROMPT, KEY)
    assert err.value.permanent
    assert str(err.value) == ("Graph answered 403 (ErrorAccessDenied): grant the app Mail.Send "
                              "(and Mail.Read) for the sender mailbox, see the README")


def test_a_wrong_secret_is_permanent_and_nothing_reaches_graph(
        graph: MockGraph, directory: Directory) -> None:
    transport = EmailTransport.from_settings(
        settings_for(graph, graph_client_secret="wrong"), directory)
    assert transport is not None
    try:
        with pytest.raises(TransportError) as err:
            transport.send(JO, PROMPT, KEY)
    finally:
        transport.graph.close()
    assert err.value.permanent and "GRAPH_CLIENT_SECRET" in str(err.value)
    assert len(graph.token_requests) >= 1 and graph.requests == []


def test_already_delivered_finds_the_key_in_the_sent_items(
        email: EmailTransport, graph: MockGraph) -> None:
    assert not email.already_delivered(JO, KEY, SINCE)
    email.send(JO, PROMPT, KEY)
    assert email.already_delivered(JO, KEY, SINCE)
    assert not email.already_delivered(JO, KEY + "|other", SINCE)
    # Graph compares a string property's value case-insensitively; caseclock does not.
    assert not email.already_delivered(JO, KEY.upper(), SINCE)
    lookup = graph.of("/messages", "GET")[-1]
    assert lookup.path == f"/v1.0/users/{SENDER}/mailFolders/SentItems/messages"
    assert lookup.headers["authorization"] == f"Bearer {graph.token}"
    assert lookup.query["$filter"] == (
        f"singleValueExtendedProperties/Any(ep: ep/id eq '{KEY_PROPERTY}' "
        f"and ep/value eq '{KEY.upper()}')")
    assert lookup.query["$expand"] == (
        f"singleValueExtendedProperties($filter=id eq '{KEY_PROPERTY}')")


def test_a_key_with_a_quote_is_an_odata_literal(email: EmailTransport, graph: MockGraph) -> None:
    key = "digest|o'brien-team|2026-12-01"
    email.send(Address.team("north"), PROMPT, key)
    assert email.already_delivered(Address.team("north"), key, SINCE)
    assert "ep/value eq 'digest|o''brien-team|2026-12-01'" in graph.of("/messages")[-1].query[
        "$filter"]


def test_an_email_never_goes_twice_when_the_outbox_retries_after_an_ambiguous_failure(
        email: EmailTransport, graph: MockGraph) -> None:
    """Exchange takes the message and the answer is lost (a 504): the outbox's next attempt
    asks `already_delivered` first, as it does after any failure marked ambiguous
    (scheduler/reminders/delivery.py), and finds it in the Sent Items."""
    graph.fail_next("/sendMail", 504, after_delivery=True)
    with pytest.raises(TransportError) as err:
        email.send(JO, PROMPT, KEY)
    assert str(err.value).startswith(AMBIGUOUS)
    assert email.already_delivered(JO, KEY, SINCE)  # the retry stops here
    assert len(graph.sent()) == 1 and len(graph.of("/sendMail")) == 1
    # Had it not arrived, the same check says so and the retry sends it, once.
    graph.fail_next("/sendMail", 504)
    with pytest.raises(TransportError):
        email.send(JO, PROMPT, KEY + "|b")
    assert not email.already_delivered(JO, KEY + "|b", SINCE)
    email.send(JO, PROMPT, KEY + "|b")
    assert [m.key_property(KEY_PROPERTY) for m in graph.sent()] == [KEY, KEY + "|b"]


def test_when_the_sent_items_cannot_be_read_the_row_is_parked_not_resent(
        email: EmailTransport, graph: MockGraph) -> None:
    graph.fail_next("/messages", 403)
    with pytest.raises(TransportError) as err:
        email.already_delivered(JO, KEY, SINCE)
    assert err.value.permanent and "Sent Items could not be read" in str(err.value)
    graph.fail_next("/messages", 429, retry_after=5)
    with pytest.raises(TransportError) as err:
        email.already_delivered(JO, KEY, SINCE)
    assert str(err.value).startswith(AMBIGUOUS) and err.value.retry_after == 5.0
    assert graph.of("/sendMail") == []


def test_a_send_fits_inside_the_outboxs_claim(email: EmailTransport) -> None:
    assert email.max_call_seconds == CALL_SECONDS < LEASE.total_seconds() - 1


def test_email_is_off_until_graph_and_a_sender_are_set(graph: MockGraph,
                                                      directory: Directory) -> None:
    assert EmailTransport.from_settings(Settings(), directory) is None
    assert EmailTransport.from_settings(settings_for(graph, graph_sender=""), directory) is None
    assert ActivityFeed.from_settings(Settings()) is None


# --- the Teams activity feed ------------------------------------------------------------

USER = "6f2c0d2e-0000-4000-8000-000000000001"


@pytest.fixture
def feed(graph: MockGraph) -> Iterator[ActivityFeed]:
    found = ActivityFeed.from_settings(settings_for(graph), bot_app_id="bot-app-id")
    assert found is not None
    yield found
    found.graph.close()


def test_an_urgent_prompt_raises_an_activity_notification_linking_to_the_chat(
        feed: ActivityFeed, graph: MockGraph) -> None:
    assert feed.notify(USER, PROMPT) == "sent"
    (sent,) = graph.requests
    assert (sent.method, sent.path) == (
        "POST", f"/v1.0/users/{USER}/teamwork/sendActivityNotification")
    assert sent.headers["authorization"] == f"Bearer {graph.token}"
    assert sent.body == {
        "topic": {"source": "text", "value": "Case 123456",
                  "webUrl": "https://teams.microsoft.com/l/chat/0/0?users=28:bot-app-id"},
        "activityType": "urgentDeadline",
        "chainId": chain_id(PROMPT),
        "previewText": {"content": "Overdue: case 123456, Child visited, was due 7pm today."},
        "templateParameters": [{"name": "case", "value": "123456"}]}
    # The next stage of the same deadline replaces it in the feed; another deadline does not.
    assert chain_id(Prompt(ActionRef("123456", "visit", 1, "escalated"), ("x",))) == chain_id(
        PROMPT) != chain_id(Prompt(ActionRef("123457", "visit", 1, "overdue"), ("x",)))


@pytest.mark.parametrize("status", [403, 404])
def test_where_the_tenant_refuses_the_feed_is_skipped_with_one_line_and_no_case(
        feed: ActivityFeed, graph: MockGraph, caplog: pytest.LogCaptureFixture,
        status: int) -> None:
    graph.fail_next("/sendActivityNotification", status)
    with caplog.at_level(logging.INFO, logger="caseclock.teams_feed"):
        assert feed.notify(USER, PROMPT) == "skipped"
    (line,) = [r.getMessage() for r in caplog.records if r.name == "caseclock.teams_feed"]
    assert line.startswith(f"activity feed notification skipped: Graph answered {status}")
    assert "123456" not in line and USER not in line
    assert len(graph.requests) == 1


def test_a_feed_failure_never_raises_into_the_prompts_send(
        feed: ActivityFeed, graph: MockGraph) -> None:
    graph.fail_next("/sendActivityNotification", 503)
    assert feed.notify(USER, PROMPT) == "failed"
    assert len(graph.requests) == 1  # not retried either: it is a nudge


def test_email_is_used_where_preferred_or_where_only_it_reaches(tmp_path: Path) -> None:
    app = build_app(Settings(database_url=f"sqlite:///{tmp_path}/c.db",  # type: ignore[call-arg]
                             slack_bot_token="xoxb-test", graph_tenant_id=TENANT,
                             graph_client_id=CLIENT_ID, graph_client_secret=CLIENT_SECRET,
                             graph_sender=SENDER))
    try:
        app.casebook.add_team("north", "bexley", slack_channel="CNORTH")
        app.casebook.add_team("south", "bexley")
        with app.casebook.sessions.begin() as s:
            repo.set_digest_email(s, "north", "north-team@council.gov.uk")
            repo.set_digest_email(s, "south", "south-team@council.gov.uk")
        app.directory.add("jo", "worker", "north", "UJO", email="jo@council.gov.uk",
                          prefers="email")
        app.directory.add("sam", "worker", "north", "USAM", email="sam@council.gov.uk")
        app.directory.add("kim", "worker", "south", email="kim@council.gov.uk")
        route = app.outbox.transport_for
        assert route("staff:jo") == "email"  # on Slack too, but prefers email
        assert route("staff:sam") == "slack"  # both reach him: Slack comes first
        assert route("staff:kim") == "email"  # no Slack id: email reaches her
        assert route("team:north") == "slack" and route("team:south") == "email"
        assert route("ooh:south") == "unreachable"  # out of hours is never an inbox
        # south has no chat channel: its shared mailbox is its channel, so its morning
        # digest goes there by email rather than straight to its managers.
        planned = app.outbox.plan(datetime(2026, 12, 1, 8, 30, tzinfo=UTC))
        south = [(p.stage, p.recipient) for p, _ in planned if p.team == "south"]
        assert ("digest", "team:south") in south
        assert route("team:south") == "email"
    finally:
        app.outbox.delivery.transports["email"].graph.close()  # type: ignore[attr-defined]


def test_only_a_failure_after_the_request_left_is_ambiguous() -> None:
    request = httpx.Request("POST", "https://graph.microsoft.com/v1.0/users/x/sendMail")
    read = graph_failure(httpx.ReadTimeout("slow", request=request), sending=True)
    assert str(read) == f"{AMBIGUOUS}: ReadTimeout" and not read.permanent
    refused = graph_failure(httpx.ConnectError("refused", request=request), sending=True)
    assert str(refused) == "ConnectError" and not refused.permanent
    waited = graph_failure(TimeoutError(), sending=True)  # the bound on the whole call
    assert str(waited).startswith(AMBIGUOUS)
    # A lookup is never "ambiguous" about a message: it sent none.
    assert not str(graph_failure(TimeoutError(), sending=False)).startswith(AMBIGUOUS)
