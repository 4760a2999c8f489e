"""Socket Mode end to end, as `caseclock run` uses it with SLACK_APP_TOKEN set: the real Bolt
app behind slack_bolt's SocketModeHandler (slack_sdk's built-in WebSocket client), the URL
from apps.connections.open on the mock Slack Web API, envelopes from a WebSocket server on
localhost, and the store and the replies asserted."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any

import pytest

from bot.app import App, build_app
from bot.commands.handler import NOT_IN_DIRECTORY
from bot.serving import socket_mode_handler
from store import repo
from store.settings import Settings
from tests.mock_slack import Call, MockSlack
from tests.mock_socket_mode import MockSocketMode

TEST_SECONDS = 60  # no test here may take longer, whatever hangs


@pytest.fixture(autouse=True)
def guard() -> Iterator[None]:
    """Fail a test that runs past TEST_SECONDS (pytest-timeout is not installed)."""
    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise TimeoutError(f"test ran past {TEST_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, TEST_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_bounded(what: str, func: Any, seconds: float = 10) -> None:
    """Run `func` in a thread; fail if it has not returned within `seconds`."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            func()
        except BaseException as err:
            errors.append(err)

    thread = threading.Thread(target=target, daemon=True, name=what)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{what} did not return within {seconds} s"
    if errors:
        raise errors[0]


@dataclass
class SocketRig:
    app: App
    slack: MockSlack
    ws: MockSocketMode
    counter: int = 0

    def envelope(self, text: str, user: str = "UJO", command: str = "/referral"
                 ) -> dict[str, Any]:
        """A slash_commands envelope as Slack sends it over Socket Mode."""
        self.counter += 1
        return {
            "envelope_id": f"env-{self.counter}-{time.time_ns()}",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": {
                "token": "x", "team_id": "T1", "team_domain": "council",
                "channel_id": "D1", "channel_name": "directmessage", "user_id": user,
                "user_name": "someone", "command": command, "text": text,
                "api_app_id": "A1", "is_enterprise_install": "false",
                "response_url": self.slack.response_url(f"r{self.counter}"),
                "trigger_id": f"trig-{self.counter}-{time.time_ns()}",
            },
        }

    def deliver(self, envelope: dict[str, Any]) -> float:
        """Send the envelope; the seconds until the client acknowledged its envelope_id."""
        started = time.monotonic()
        self.ws.send(envelope)
        ack = self.ws.wait_for_ack(envelope["envelope_id"], timeout=3)
        assert set(ack) <= {"envelope_id", "payload"}
        return time.monotonic() - started

    def reply_to(self, envelope: dict[str, Any]) -> Call:
        url = envelope["payload"]["response_url"]
        key = url.rsplit("/", 1)[-1]
        return self.slack.wait_until("response_url", lambda c: c.path.endswith("/" + key))

    def replies_to(self, envelope: dict[str, Any]) -> int:
        key = envelope["payload"]["response_url"].rsplit("/", 1)[-1]
        return sum(1 for c in self.slack.of("response_url") if c.path.endswith("/" + key))

    def events(self) -> int:
        with self.app.casebook.sessions() as s:
            return int(repo.count_rows(s)["events"])


@pytest.fixture
def rig(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SocketRig]:
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET",
                 "SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    with MockSlack() as slack, MockSocketMode() as ws:
        slack.socket_url = ws.url
        # What `caseclock run` reads with SLACK_BOT_TOKEN and SLACK_APP_TOKEN set (no
        # signing secret: Socket Mode needs none), the Web API being the mock.
        settings = Settings(_env_file=None, database_url=database_url,  # type: ignore[call-arg]
                            slack_bot_token="xoxb-test", slack_app_token="xapp-test",
                            slack_api_url=slack.url)
        app = build_app(settings)
        app.casebook.add_team("north", "bexley", slack_channel="CNORTH")
        app.directory.add("jo", "worker", "north", "UJO")
        handler = socket_mode_handler(app)
        try:
            run_bounded("SocketModeHandler.connect", handler.connect)
            assert ws.connected.wait(5), "the client never opened the WebSocket"
            opened = slack.wait_for("apps.connections.open")
            assert opened[0].headers.get("Authorization") == "Bearer xapp-test"
            assert ws.paths[0].startswith("/link")
            ws.send({"type": "hello", "num_connections": 1,
                     "debug_info": {"host": "localhost", "approximate_connection_time": 18060},
                     "connection_info": {"app_id": "A1"}})
            yield SocketRig(app, slack, ws)
        finally:
            run_bounded("SocketModeHandler.close", handler.close)


def test_a_slash_command_over_socket_mode_is_acked_stored_once_and_answered(
    rig: SocketRig
) -> None:
    envelope = rig.envelope("123456 s47")
    assert rig.deliver(envelope) < 3  # Slack's limit for the acknowledgement
    reply = rig.reply_to(envelope).body  # Bolt's respond(): a POST to the response_url
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith("Logged referral received (s47) for 123456")
    assert [(e.type, e.recorded_by, e.source) for e in rig.app.casebook.timeline("123456")
            ] == [("referral_received", "jo", "slack:UJO")]
    assert rig.events() == 1
    assert not rig.slack.of("chat.postMessage") and not rig.slack.of("chat.postEphemeral")
    assert not rig.slack.refused

    # Slack redelivers the same envelope (retry_attempt > 0): acknowledged, not stored again.
    again = {**envelope, "retry_attempt": 1, "retry_reason": "timeout"}
    assert rig.deliver(again) < 3
    time.sleep(0.5)  # time for a (wrong) second store or reply to show
    assert rig.events() == 1
    assert rig.replies_to(envelope) == 1
    assert rig.ws.acks(envelope["envelope_id"]) == 2  # each delivery acknowledged once


def test_someone_not_in_the_directory_is_refused_over_socket_mode(rig: SocketRig) -> None:
    envelope = rig.envelope("123456 s47", user="UNOBODY")
    assert rig.deliver(envelope) < 3
    reply = rig.reply_to(envelope).body
    assert reply["text"] == NOT_IN_DIRECTORY and reply["response_type"] == "ephemeral"
    time.sleep(0.3)
    assert rig.events() == 0
    assert not rig.slack.of("chat.postMessage") and not rig.slack.refused
