"""Slack end to end: signed requests over HTTP into the Bolt app, a mock Slack Web API on
localhost, asserting what was stored and what was sent."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import slack_sdk.signature
from slack_sdk.signature import SignatureVerifier

from bot.commands.handler import CommandHandler
from bot.directory import Directory
from bot.transports.slack.dispatch import InProcessBolt
from bot.transports.slack.door import SlackDoor
from bot.transports.slack.listeners import build_slack_app, modal_to_command
from bot.web import build_web_app, make_server
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
    class Clock(slack_sdk.signature.Clock):
        def now(self) -> float:
            return float(DOC_TIMESTAMP)

    verifier = SignatureVerifier(DOC_SECRET, clock=Clock())  # the verifier Bolt uses
    assert verifier.is_valid(DOC_BODY, DOC_TIMESTAMP, DOC_SIGNATURE)
    assert sign(DOC_BODY, int(DOC_TIMESTAMP), DOC_SECRET) == DOC_SIGNATURE
    assert not verifier.is_valid(DOC_BODY.replace("foobar", "foobaz"), DOC_TIMESTAMP,
                                 DOC_SIGNATURE)


def test_slacks_documented_example_is_accepted_by_the_apps_own_endpoint(
    monkeypatch: pytest.MonkeyPatch, casebook: Casebook
) -> None:
    """The request of Slack's worked example, sent over HTTP to caseclock's /slack/events,
    passes the app's verification at the example's moment; one changed byte does not."""
    monkeypatch.setattr(slack_sdk.signature.Clock, "now", lambda _self: float(DOC_TIMESTAMP))
    directory = Directory(casebook.sessions)
    settings = Settings(slack_bot_token="xoxb-test", slack_signing_secret=DOC_SECRET)
    with MockSlack() as slack:
        settings = settings.model_copy(update={"slack_api_url": slack.url})
        bolt = build_slack_app(settings, CommandHandler(casebook, directory), directory)
        heard: list[str] = []

        def collect(ack: Callable[[], None], body: dict[str, Any]) -> None:
            heard.append(body["user_name"])  # the example's command, heard only if verified
            ack()

        bolt.command("/webhook-collect")(collect)
        web = build_web_app(SlackDoor(DOC_SECRET, InProcessBolt(bolt),
                                      clock=lambda: float(DOC_TIMESTAMP)))
        with serving(web) as base:
            url = f"{base}/slack/events"

            def post(body: str) -> int:
                req = urllib.request.Request(url, data=body.encode(), headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Slack-Request-Timestamp": DOC_TIMESTAMP,
                    "X-Slack-Signature": DOC_SIGNATURE})
                try:
                    with urllib.request.urlopen(req, timeout=10) as resp:
                        return int(resp.status)
                except urllib.error.HTTPError as err:
                    return err.code

            assert post(DOC_BODY.replace("foobar", "foobaz")) == 401
            assert post(DOC_BODY) == 200
            # Acknowledged at the door; the listener runs just after, on Bolt's side.
            assert wait_until(lambda: heard == ["roadrunner"]), heard


@contextmanager
def serving(web: Any) -> Iterator[str]:
    """The ASGI app under uvicorn (with caseclock serve's limits) on a free port, in a
    thread of this process; yields its base URL."""
    server = make_server(web, "127.0.0.1", 0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: server.started), "uvicorn did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def wait_until(done: Callable[[], bool], timeout: float = 10) -> bool:
    """Poll `done` until true or the timeout (the door hands work to other threads)."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


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
                return int(resp.status)
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

    def post_timed(self, payload: dict[str, Any]) -> float:
        """Post an interactivity payload (or, with "event", an Events API body); seconds to
        the HTTP answer."""
        if payload.get("type") == "event_callback":
            body, ctype = json.dumps(payload), "application/json"
        else:
            body, ctype = urlencode({"payload": json.dumps(payload)}), (
                "application/x-www-form-urlencoded")
        started = time.monotonic()
        assert self.post(body, content_type=ctype) == 200
        return time.monotonic() - started

    def home_sections(self, user: str) -> dict[str, str]:
        """Open the App Home as `user`; the published view's text under each header."""
        before = len(self.slack.of("views.publish"))
        self.post_timed({"type": "event_callback", "team_id": "T1",
                         "event_id": f"Ev{time.time_ns()}",
                         "event": {"type": "app_home_opened", "user": user, "tab": "home"}})
        published = self.slack.wait_for("views.publish", before + 1)[before]
        assert published.body["user_id"] == user
        view = published.body["view"]
        view = json.loads(view) if isinstance(view, str) else view
        assert view["type"] == "home"
        sections: dict[str, str] = {}
        title = ""
        for block in view["blocks"]:
            if block["type"] == "header":
                title = block["text"]["text"]
                sections[title] = ""
            elif block["type"] == "section":
                sections[title] = sections.get(title, "") + block["text"]["text"]
        return sections

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
        with serving(build_web_app(SlackDoor(SECRET, InProcessBolt(bolt)))) as base:
            yield SlackRig(base, slack, casebook)


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
        assert "there is no case 200100 in your team" in reply["text"]
    assert rig.events() == 1


def test_a_manager_authorises_and_the_worker_sees_their_due_list(rig: SlackRig) -> None:
    rig.command("/referral", "123456 s17")
    rig.command("/case", "123456 allocate <@UJO|jo>", user="UPRIYA")
    rig.command("/case", "123456 complete cin")
    due = rig.command("/due", "")
    assert "Due for you:" in due["text"]
    reply = rig.command("/case", "123456 authorise", user="UPRIYA")
    assert "Met: Assessment completed and authorised" in reply["text"]


def seen_values(case: str = "123456", day: str | None = None) -> dict[str, Any]:
    """The logging modal's state as Slack submits it: child seen, alone, home visited."""
    return {
        "case": {"v": {"value": case}},
        "what": {"v": {"selected_option": {"value": "seen"}}},
        "day": {"v": {"selected_date": day}},
        "time": {"v": {"selected_time": None}},
        "track": {"v": {"selected_option": None}},
        "flags": {"v": {"selected_options": [{"value": "alone"}, {"value": "home"}]}},
    }


def submission(values: dict[str, Any], view_id: str, metadata: str = "",
               user: str = "UJO") -> dict[str, Any]:
    return {"type": "view_submission", "user": {"id": user}, "team": {"id": "T1"},
            "trigger_id": f"trig-{view_id}",
            "view": {"id": view_id, "type": "modal", "callback_id": "caseclock_log",
                     "private_metadata": metadata, "state": {"values": values}}}


def test_empty_command_opens_the_modal_and_its_submission_logs_the_event(
    rig: SlackRig
) -> None:
    body, _ = rig.command_body("/seen", "", channel="CNORTH", trigger="trig-modal-1")
    assert rig.post(body) == 200
    opened = rig.slack.wait_for("views.open")[0]
    view = json.loads(opened.body["view"]) if isinstance(opened.body["view"], str) else (
        opened.body["view"])
    assert opened.body["trigger_id"] == "trig-modal-1" and view["callback_id"] == "caseclock_log"
    rig.command("/referral", "123456 s17")
    # Slack hands the view's private_metadata back with the submission.
    payload = submission(seen_values(), "V123", view["private_metadata"])
    assert rig.post(urlencode({"payload": json.dumps(payload)})) == 200
    note = rig.slack.wait_for("chat.postEphemeral")[0]
    assert note.body["channel"] == "CNORTH" and note.body["user"] == "UJO"
    assert "Logged child seen (alone, home) for 123456" in note.body["text"]
    assert [e.type for e in rig.casebook.timeline("123456")] == ["referral_received",
                                                                 "child_seen"]
    assert not rig.slack.refused  # no call Slack would have refused


def test_a_modal_without_a_channel_confirms_by_direct_message(rig: SlackRig) -> None:
    rig.command("/referral", "123456 s17")
    payload = submission(seen_values(), "V124")  # opened from a prompt button: no channel
    assert rig.post(urlencode({"payload": json.dumps(payload)})) == 200
    # The bot's direct message with jo (a user id as the channel: Slack's documented way).
    dm = rig.slack.wait_until("chat.postMessage", lambda c: c.body["channel"] == "UJO")
    assert "Logged child seen (alone, home) for 123456" in dm.body["text"]
    assert not rig.slack.of("chat.postEphemeral") and not rig.slack.refused


def test_a_modal_with_a_bad_date_is_refused_in_the_modal_and_stores_nothing(
    rig: SlackRig
) -> None:
    rig.command("/referral", "123456 s17")
    future = time.strftime("%Y-%m-%d", time.localtime(time.time() + 86400 * 3))
    body = urlencode({"payload": json.dumps(submission(seen_values(day=future), "V125"))})
    ts = int(time.time())
    req = urllib.request.Request(rig.url + "/slack/events", data=body.encode(), headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sign(body, ts)})
    with urllib.request.urlopen(req, timeout=10) as resp:
        answer = json.loads(resp.read())
    assert answer["response_action"] == "errors"
    assert "in the future" in answer["errors"]["day"]
    time.sleep(0.3)
    assert rig.events() == 1 and not rig.slack.of("chat.postEphemeral")


def test_someone_not_in_the_directory_is_refused_before_any_modal(rig: SlackRig) -> None:
    reply = rig.command("/seen", "", user="UNOBODY")
    assert "not in caseclock's staff directory" in reply["text"]
    assert reply["response_type"] == "ephemeral"
    assert not rig.slack.of("views.open") and rig.events() == 0


def test_a_command_reply_is_ephemeral_block_kit_with_the_outcome_first(rig: SlackRig) -> None:
    reply = rig.command("/referral", "123456 s47")
    assert reply["response_type"] == "ephemeral"
    blocks = reply["blocks"]
    assert blocks[0]["type"] == "section" and blocks[0]["text"]["type"] == "mrkdwn"
    assert blocks[0]["text"]["text"].startswith("Logged referral received (s47) for 123456")
    assert "Next:" in blocks[0]["text"]["text"] and blocks[0]["text"]["text"] == reply["text"]
    view = rig.command("/case", "123456")
    assert view["response_type"] == "ephemeral"
    assert view["blocks"][0]["text"]["text"].startswith("Case 123456: team north")
    timeline = view["blocks"][1]["text"]["text"]  # monospace, so the columns line up
    assert timeline.startswith("```Timeline:") and "referral received" in timeline
    mention = rig.command("/case", "123456 allocate <@UJO|jo>", user="UPRIYA")
    assert "<@" not in json.dumps(mention["blocks"])  # escaped: nothing becomes a mention


def test_every_listener_answers_slack_at_once_however_slow_slack_is(rig: SlackRig) -> None:
    """Slack waits 3 seconds for the HTTP answer; the work (the store, views, replies) comes
    after it, so a slow Slack API cannot make caseclock miss it."""
    rig.command("/referral", "123456 s17")
    rig.slack.delay = 2.0
    home = rig.post_timed({"type": "event_callback", "team_id": "T1", "event_id": "EvSlow",
                           "event": {"type": "app_home_opened", "user": "UJO",
                                     "tab": "home"}})
    view = rig.post_timed(submission(seen_values(), "VSLOW", json.dumps({"channel": "CNORTH"})))
    button = rig.post_timed({
        "type": "block_actions", "user": {"id": "UJO"}, "team": {"id": "T1"},
        "trigger_id": "trig-slow-button", "response_url": rig.slack.response_url("btn"),
        "actions": [{"action_id": "caseclock_log_it", "block_id": "b",
                     "value": "123456|child_seen_s17|0|due|seen", "type": "button"}]})
    assert home < 1 and view < 1 and button < 1, (home, view, button)
    # ...and the work is still done, after the answers.
    rig.slack.wait_for("views.publish")
    rig.slack.wait_for("chat.postEphemeral")
    opened = rig.slack.wait_for("views.open")[0]
    assert "123456" in json.dumps(opened.body["view"])
    assert [e.type for e in rig.casebook.timeline("123456")] == ["referral_received",
                                                                 "child_seen"]


def test_modal_answers_read_as_the_same_command_line() -> None:
    values = {"case": {"v": {"value": " 123456 "}},
              "what": {"v": {"selected_option": {"value": "referral"}}},
              "day": {"v": {"selected_date": "2026-11-21"}},
              "time": {"v": {"selected_time": "14:30"}},
              "track": {"v": {"selected_option": {"value": "s47"}}}}
    assert modal_to_command(values) == ("/referral", "123456 s47 2026-11-21 14:30")


def test_home_tab_my_deadlines_and_for_a_manager_awaiting_and_overdue(rig: SlackRig) -> None:
    # 111111: completed, waiting for the manager's authorisation.
    rig.command("/referral", "111111 s17")
    rig.command("/case", "111111 allocate <@UJO|jo>", user="UPRIYA")
    rig.command("/case", "111111 complete cin")
    # 222222: a section 47 referral three weeks ago, jo's, with nothing done: overdue.
    weeks_ago = time.strftime("%d/%m/%Y", time.localtime(time.time() - 21 * 86400))
    rig.command("/referral", f"222222 s47 {weeks_ago} 10:00")
    rig.command("/case", "222222 allocate <@UJO|jo>", user="UPRIYA")
    # 333333: referred just now, so every deadline is still ahead of it.
    rig.command("/referral", "333333 s17")
    # 444444: another team's overdue case.
    rig.command("/referral", f"444444 s47 {weeks_ago} 10:00", user="USAM")

    worker = rig.home_sections("UJO")
    assert list(worker) == ["My deadlines"]  # no manager's sections for a worker
    assert "222222" in worker["My deadlines"] and "Overdue" in worker["My deadlines"]
    assert "333333" not in worker["My deadlines"]  # not jo's: nobody allocated yet

    manager = rig.home_sections("UPRIYA")
    assert list(manager) == ["My deadlines", "Awaiting my authorisation",
                             "Overdue in my team"]
    awaiting = manager["Awaiting my authorisation"]
    assert "111111 completed" in awaiting and "222222" not in awaiting
    overdue = manager["Overdue in my team"]
    assert "222222" in overdue and "was due" in overdue
    assert "333333" not in overdue  # due in the future: not in the overdue section
    assert "444444" not in overdue  # another team's

    rig.command("/case", "111111 authorise", user="UPRIYA")
    after = rig.home_sections("UPRIYA")
    assert after["Awaiting my authorisation"] == "Nothing is waiting for your authorisation."


def test_home_tab_for_someone_not_in_the_directory(rig: SlackRig) -> None:
    sections = rig.home_sections("UNOBODY")
    assert "not in caseclock's staff directory" in "".join(sections.values())


def test_someone_not_in_the_directory_is_told_one_sentence_everywhere(rig: SlackRig) -> None:
    from bot.commands.handler import NOT_IN_DIRECTORY

    assert rig.command("/due", "", user="UNOBODY")["text"] == NOT_IN_DIRECTORY
    assert NOT_IN_DIRECTORY in rig.home_sections("UNOBODY").values()
    rig.post_timed({
        "type": "block_actions", "user": {"id": "UNOBODY"}, "team": {"id": "T1"},
        "trigger_id": "trig-nobody-snooze", "response_url": rig.slack.response_url("nobody"),
        "actions": [{"action_id": "caseclock_snooze", "block_id": "buttons", "type": "button",
                     "value": "123456|child_visited|1|due_today"}]})
    reply = next(c for c in rig.slack.wait_for("response_url", 2)
                 if c.path.endswith("/nobody"))
    assert reply.body["text"] == NOT_IN_DIRECTORY


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


# Web API methods caseclock calls -> the bot scopes Slack requires for them (api.slack.com).
METHOD_SCOPES = {
    "chat_postMessage": {"chat:write"},
    "chat_postEphemeral": {"chat:write"},
    "conversations_open": {"im:write"},
    # Read back after a crash: a team's public or private channel, or a direct message.
    "conversations_history": {"channels:history", "groups:history", "im:history"},
    "views_open": set(),
    "views_publish": set(),
}


def test_the_manifest_grants_exactly_the_scopes_the_code_uses() -> None:
    import re
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[1]
    manifest = yaml.safe_load((root / "slack-manifest.yaml").read_text(encoding="utf-8"))
    api_call = re.compile(r"client\.((?:chat|conversations|views|users|reactions)_\w+)\b")
    called = {m for f in (root / "bot").rglob("*.py")
              for m in api_call.findall(f.read_text(encoding="utf-8"))}
    assert called <= set(METHOD_SCOPES), f"scopes unknown for {called - set(METHOD_SCOPES)}"
    needed = {"commands"}.union(*(METHOD_SCOPES[m] for m in called))
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed
    home = manifest["features"]["app_home"]
    # Reminders are direct messages: without the Messages tab nobody could read them.
    assert home["home_tab_enabled"] and home["messages_tab_enabled"]
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert commands == {"/referral", "/seen", "/strategy", "/case", "/due"}


def test_caseclock_serve_as_a_process_answers_health_and_a_signed_command(
    database_url: str, tmp_path: Path
) -> None:
    """`caseclock serve` as an operator starts it: settings from the environment, Slack's Web
    API (here the mock, through SLACK_API_URL) and the database shared with the CLI."""
    from tests.test_cli_deadlines import ROOT, caseclock

    with MockSlack() as slack:
        env = {"DATABASE_URL": database_url, "HOME": str(tmp_path),
               "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": slack.url}
        for args in (("team", "add", "north", "--policy", "bexley"),
                     ("staff", "add", "jo", "--team", "north", "--role", "worker",
                      "--slack", "UJO")):
            assert caseclock(*args, env=env, cwd=tmp_path).returncode == 0
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
        server = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--no-scheduler"],
            env={**full_env, **env, "PYTHONPATH": str(ROOT)}, cwd=tmp_path,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(base + "/healthz", timeout=2) as resp:
                        assert resp.status == 200 and resp.read() == b"ok\n"
                        break
                except OSError:
                    assert server.poll() is None, server.communicate()[1]
                    assert time.monotonic() < deadline, "serve never answered /healthz"
                    time.sleep(0.2)
            rig = SlackRig(base, slack, None)  # type: ignore[arg-type]
            reply = rig.command("/referral", "123456 s47")
            assert reply["response_type"] == "ephemeral"
            assert reply["text"].startswith("Logged referral received (s47) for 123456")
            body, _ = rig.command_body("/referral", "123457 s47")
            assert rig.post(body, signature=sign(body, int(time.time()), "wrong")) == 401
        finally:
            server.terminate()
            server.wait(10)
        shown = caseclock("case", "123456", env=env, cwd=tmp_path)
        assert "referral_received (track=s47)" in shown.stdout and "by jo via slack:UJO" in (
            shown.stdout)
        assert caseclock("case", "123457", env=env, cwd=tmp_path).returncode == 2


def test_a_retried_event_is_acknowledged_and_not_handled_again(rig: SlackRig) -> None:
    event = json.dumps({"type": "event_callback", "team_id": "T1", "event_id": "EvRetry1",
                        "event": {"type": "app_home_opened", "user": "UJO", "tab": "home"}})
    assert rig.post(event, content_type="application/json") == 200
    rig.slack.wait_for("views.publish")
    assert rig.post(event, content_type="application/json",
                    headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
                    ) == 200
    time.sleep(0.5)
    assert len(rig.slack.of("views.publish")) == 1


def test_where_the_bot_cannot_post_the_confirmation_comes_by_direct_message(
    rig: SlackRig
) -> None:
    # /seen typed in a DM between two people: the bot is no member there, Slack refuses.
    rig.command("/referral", "123456 s17")
    rig.slack.fail_next("chat.postEphemeral", 404)
    payload = submission(seen_values(), "V126", json.dumps({"channel": "DPEOPLE"}))
    assert rig.post(urlencode({"payload": json.dumps(payload)})) == 200
    dm = rig.slack.wait_until("chat.postMessage", lambda c: c.body["channel"] == "UJO")
    assert "Logged child seen (alone, home) for 123456" in dm.body["text"]
