"""Slack end to end: signed requests over HTTP into the Bolt app, a mock Slack Web API on
localhost, asserting what was stored and what was sent."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from bot.commands.handler import CommandHandler
from bot.directory import Directory
from bot.slack import build_slack_app, make_http_server, modal_to_command
from scheduler.casebook import Casebook
from scheduler.timescales.calendar import LONDON
from store import repo
from store.settings import Settings
from tests.conftest import FakeClock
from tests.mock_slack import MockSlack

SECRET = "test-signing-secret-0123456789"

# Slack's own worked example ("Verifying requests from Slack").
DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DOC_TIMESTAMP = "1531420618"
DOC_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
    "channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
    "command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
    "commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
    "trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def sign(body: str, ts: int, secret: str = SECRET) -> str:
    base = f"v0:{ts}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def test_slacks_documented_signing_example_verifies() -> None:
    class Clock:
        def now(self) -> float:
            return float(DOC_TIMESTAMP)

    verifier = SignatureVerifier(DOC_SECRET, clock=Clock())  # the verifier Bolt uses
    assert verifier.is_valid(DOC_BODY, DOC_TIMESTAMP, DOC_SIGNATURE)
    assert sign(DOC_BODY, int(DOC_TIMESTAMP), DOC_SECRET) == DOC_SIGNATURE
    assert not verifier.is_valid(DOC_BODY.replace("foobar", "foobaz"), DOC_TIMESTAMP,
                                 DOC_SIGNATURE)


@dataclass
class SlackRig:
    url: str
    slack: MockSlack
    casebook: Casebook
    counter: int = 0

    def post(self, body: str, content_type: str = "application/x-www-form-urlencoded",
             ts: int | None = None, signature: str | None = None,
             headers: dict[str, str] | None = None) -> int:
        ts = ts if ts is not None else int(time.time())
        req = urllib.request.Request(self.url + "/slack/events", data=body.encode(), headers={
            "Content-Type": content_type, "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature or sign(body, ts), **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status
        except urllib.error.HTTPError as err:
            return err.code

    def command_body(self, command: str, text: str, user: str = "UJO",
                     channel: str = "D1", trigger: str | None = None) -> tuple[str, str]:
        self.counter += 1
        key = f"r{self.counter}"
        return urlencode({
            "token": "x", "team_id": "T1", "channel_id": channel, "user_id": user,
            "command": command, "text": text, "response_url": self.slack.response_url(key),
            "trigger_id": trigger or f"trig-{self.counter}-{time.time_ns()}",
        }), key

    def command(self, command: str, text: str, user: str = "UJO", channel: str = "D1"
                ) -> dict[str, Any]:
        """Send a signed slash command; return the ephemeral reply it produced."""
        body, key = self.command_body(command, text, user, channel)
        started = time.monotonic()
        assert self.post(body) == 200
        assert time.monotonic() - started < 3  # acknowledged well inside Slack's 3 seconds
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for c in self.slack.of("response_url"):
                if c.path.endswith("/" + key):
                    return c.body
            time.sleep(0.02)
        raise AssertionError(f"no reply to {command} {text}")

    def events(self) -> int:
        with self.casebook.sessions() as s:
            return repo.count_rows(s)["events"]


@pytest.fixture
def rig(casebook: Casebook, clock: FakeClock) -> Iterator[SlackRig]:
    directory = Directory(casebook.sessions)
    casebook.add_team("north", "bexley", slack_channel="CNORTH")
    casebook.add_team("south", "suffolk", slack_channel="CSOUTH")
    directory.add("jo", "worker", "north", "UJO")
    directory.add("priya", "manager", "north", "UPRIYA")
    directory.add("sam", "worker", "south", "USAM")
    # The lazy listener threads read the clock: keep it in step with real time so signed
    # requests and logged events agree, pinned to an ordinary Monday otherwise.
    clock.now = datetime.now(LONDON)
    settings = Settings(slack_bot_token="xoxb-test", slack_signing_secret=SECRET)
    with MockSlack() as slack:
        settings = settings.model_copy(update={"slack_api_url": slack.url})
        bolt = build_slack_app(settings, CommandHandler(casebook, directory), directory)
        server = make_http_server(bolt, "127.0.0.1", 0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield SlackRig(f"http://127.0.0.1:{server.server_address[1]}", slack, casebook)
        finally:
            server.shutdown()
            server.server_close()


def test_referral_then_seen_is_stored_and_replied_to_ephemerally(rig: SlackRig) -> None:
    reply = rig.command("/referral", "123456 s47")
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith("Logged referral received (s47) for 123456")
    assert "(id " in reply["text"] and "Next:" in reply["text"]
    seen = rig.command("/seen", "123456 alone home")
    assert "Logged child seen (alone, home) for 123456" in seen["text"]
    assert "Met: Child visited no later than 5 days" in seen["text"]
    timeline = rig.casebook.timeline("123456")
    assert [(e.type, e.recorded_by, e.source) for e in timeline] == [
        ("referral_received", "jo", "slack:UJO"), ("child_seen", "jo", "slack:UJO")]
    assert not rig.slack.of("chat.postMessage")  # nothing posted to any channel


def test_siblings_share_one_visit(rig: SlackRig) -> None:
    rig.command("/referral", "123456 s17")
    rig.command("/referral", "123457 s17")
    reply = rig.command("/seen", "123456 123457 alone")
    assert "for 123456" in reply["text"] and "for 123457" in reply["text"]
    assert rig.events() == 4


def test_forged_stale_and_unsigned_requests_are_refused_and_store_nothing(
    rig: SlackRig
) -> None:
    body, _ = rig.command_body("/referral", "123456 s47")
    assert rig.post(body, signature="v0=" + "0" * 64) == 401
    assert rig.post(body, signature=sign(body, int(time.time()), "wrong-secret")) == 401
    stale = int(time.time()) - 6 * 60  # outside the 5-minute replay window
    assert rig.post(body, ts=stale, signature=sign(body, stale)) == 401
    time.sleep(0.3)
    assert rig.events() == 0 and not rig.slack.of("response_url")


def test_a_replayed_delivery_stores_the_event_once(rig: SlackRig) -> None:
    body, _ = rig.command_body("/referral", "123456 s47", trigger="trig-replay-1")
    assert rig.post(body) == 200
    rig.slack.wait_for("response_url", 1)
    assert rig.post(body, headers={"X-Slack-Retry-Num": "1",
                                   "X-Slack-Retry-Reason": "http_timeout"}) == 200
    body2, _ = rig.command_body("/referral", "123456 s47", trigger="trig-replay-1")
    assert rig.post(body2) == 200  # the same delivery again, without a retry header
    time.sleep(0.5)
    assert rig.events() == 1


@pytest.mark.parametrize(
    ("user", "command", "text", "says"),
    [
        ("UNOBODY", "/referral", "123456 s47", "not in caseclock's staff directory"),
        ("UJO", "/case", "123456 authorise", "only a manager can authorise"),
        ("UJO", "/referral", "Jane s47", "not a case reference"),
        ("UJO", "/seen", "123456 tomorrow", "I did not understand 'tomorrow'"),
        ("UJO", "/case", "123456 frobnicate", "is not something I can log"),
        ("UJO", "/case", "123456 close", "the reason for closing is empty"),
        ("UJO", "/referral", "123456 s47 23:59", ""),  # placeholder: replaced below
    ],
)
def test_refusals_are_one_sentence_and_store_nothing(
    rig: SlackRig, user: str, command: str, text: str, says: str
) -> None:
    if not says:  # a time later today is in the future, unless it is just before midnight
        text, says = "123456 s47 " + time.strftime("%d/%m/%Y", time.localtime(
            time.time() + 86400 * 2)), "in the future"
    reply = rig.command(command, text, user=user)
    assert says in reply["text"] and reply["response_type"] == "ephemeral"
    assert rig.events() == 0


def test_a_worker_cannot_see_or_log_another_teams_case(rig: SlackRig) -> None:
    rig.command("/referral", "200100 s17", user="USAM")
    for cmd, text in (("/case", "200100"), ("/seen", "200100 alone")):
        reply = rig.command(cmd, text, user="UJO")
        assert "belongs to another team" in reply["text"]
    assert rig.events() == 1


def test_a_manager_authorises_and_the_worker_sees_their_due_list(rig: SlackRig) -> None:
    rig.command("/referral", "123456 s17")
    rig.command("/case", "123456 allocate <@UJO|jo>", user="UPRIYA")
    rig.command("/case", "123456 complete cin")
    due = rig.command("/due", "")
    assert "Due for you:" in due["text"]
    reply = rig.command("/case", "123456 authorise", user="UPRIYA")
    assert "Met: Assessment completed and authorised" in reply["text"]


def test_empty_command_opens_the_modal_and_its_submission_logs_the_event(
    rig: SlackRig
) -> None:
    body, _ = rig.command_body("/seen", "", trigger="trig-modal-1")
    assert rig.post(body) == 200
    opened = rig.slack.wait_for("views.open")[0]
    view = json.loads(opened.body["view"]) if isinstance(opened.body["view"], str) else (
        opened.body["view"])
    assert opened.body["trigger_id"] == "trig-modal-1" and view["callback_id"] == "caseclock_log"
    rig.command("/referral", "123456 s17")
    values = {
        "case": {"v": {"value": "123456"}},
        "what": {"v": {"selected_option": {"value": "seen"}}},
        "day": {"v": {"selected_date": None}},
        "time": {"v": {"selected_time": None}},
        "track": {"v": {"selected_option": None}},
        "flags": {"v": {"selected_options": [{"value": "alone"}, {"value": "home"}]}},
    }
    payload = {"type": "view_submission", "user": {"id": "UJO"}, "team": {"id": "T1"},
               "view": {"id": "V123", "type": "modal", "callback_id": "caseclock_log",
                        "state": {"values": values}}}
    assert rig.post(urlencode({"payload": json.dumps(payload)})) == 200
    note = rig.slack.wait_for("chat.postEphemeral")[0]
    assert "Logged child seen (alone, home) for 123456" in note.body["text"]
    assert [e.type for e in rig.casebook.timeline("123456")] == ["referral_received",
                                                                 "child_seen"]


def test_modal_answers_read_as_the_same_command_line() -> None:
    values = {"case": {"v": {"value": " 123456 "}},
              "what": {"v": {"selected_option": {"value": "referral"}}},
              "day": {"v": {"selected_date": "2026-11-21"}},
              "time": {"v": {"selected_time": "14:30"}},
              "track": {"v": {"selected_option": {"value": "s47"}}}}
    assert modal_to_command(values) == ("/referral", "123456 s47 2026-11-21 14:30")


def test_home_tab_shows_my_deadlines_and_for_managers_the_team(rig: SlackRig) -> None:
    rig.command("/referral", "123456 s17")
    event = {"type": "event_callback", "team_id": "T1", "event_id": "Ev1",
             "event": {"type": "app_home_opened", "user": "UPRIYA", "tab": "home"}}
    assert rig.post(json.dumps(event), content_type="application/json") == 200
    published = rig.slack.wait_for("views.publish")[0]
    view = published.body["view"]
    view = json.loads(view) if isinstance(view, str) else view
    text = json.dumps(view)
    assert published.body["user_id"] == "UPRIYA" and view["type"] == "home"
    assert "Awaiting my authorisation and overdue in my team" in text and "123456" in text


def test_a_case_is_shared_only_in_its_team_channel(rig: SlackRig) -> None:
    rig.command("/referral", "123456 s17")
    refused = rig.command("/case", "123456 share", channel="CGENERAL")
    assert "only be shared in its team's own channel" in refused["text"]
    assert not rig.slack.of("chat.postMessage")
    shared = rig.command("/case", "123456 share", channel="CNORTH")
    assert "Shared case 123456" in shared["text"]
    posts = rig.slack.of("chat.postMessage")
    assert [p.body["channel"] for p in posts] == ["CNORTH"]


def test_healthz(rig: SlackRig) -> None:
    with urllib.request.urlopen(rig.url + "/healthz", timeout=5) as resp:
        assert resp.status == 200 and resp.read() == b"ok\n"
