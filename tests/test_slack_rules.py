# ruff: noqa: F811  (`rig` and `prompted` are fixtures imported by name)
"""Buttons and replies obey the rules of commands (issue 8, section 4), through the real Bolt
app over HTTP against the mock Slack: a prompt's buttons are checked against the clicker's
teams, nothing a person typed reaches Slack as a mention, odd digits get one sentence, and
failure logs carry types and ids only."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk import WebClient
from sqlalchemy import select

from bot.commands.handler import CommandHandler
from bot.transports.slack.listeners import confirm
from scheduler.reminders.outbox import Outbox
from store.models import ChecklistTick, Snooze
from tests.test_prompts import prompted  # noqa: F401  (a referral with its prompts sent)
from tests.test_slack import SlackRig, rig  # noqa: F401  (the Slack fixture)

MENTIONS = ("<!channel>", "<!here>", "<!everyone>", "<@U0ABCDEF>", "<#C0123|general>",
            "<https://example.org|click>")


def click(rig: SlackRig, user: str, action: dict[str, Any], channel: str = "DSAM") -> str:
    """Click a prompt's button as `user`; the key of the response_url it answers on."""
    key = f"act{time.time_ns()}"
    payload = {"type": "block_actions", "user": {"id": user}, "team": {"id": "T1"},
               "trigger_id": f"trig-{time.time_ns()}", "api_app_id": "A1",
               "response_url": rig.slack.response_url(key),
               "container": {"type": "message", "channel_id": channel},
               "channel": {"id": channel}, "actions": [action]}
    assert rig.post(urlencode({"payload": json.dumps(payload)})) == 200
    return key


def answer(rig: SlackRig, key: str) -> str:
    reply = rig.slack.wait_until("response_url", lambda c: c.path.endswith("/" + key))
    return str(reply.body["text"])


NOT_YOURS = ("there is no case 123456 in your team: log its referral first, "
             "/referral 123456 s17.")


def test_a_worker_of_another_team_cannot_tick_snooze_or_quote_a_prompt(
        prompted: tuple[SlackRig, Outbox]) -> None:
    rig, _ = prompted
    value = "123456|assessment_initial_15|1|due_today"
    # sam (south) clicks north's prompt: the same refusal as a command, nothing stored.
    ticked = click(rig, "USAM", {"action_id": "caseclock_tick", "block_id": "checklist",
                                 "type": "checkboxes", "selected_options": [
                                     {"value": f"{value}|0"}]})
    assert answer(rig, ticked) == f"Not ticked: {NOT_YOURS}"
    snoozed = click(rig, "USAM", {"action_id": "caseclock_snooze", "type": "button",
                                  "value": value})
    assert answer(rig, snoozed) == f"Not snoozed: {NOT_YOURS}"
    quoted = click(rig, "USAM", {"action_id": "caseclock_quote", "type": "button",
                                 "value": value})
    assert answer(rig, quoted) == NOT_YOURS
    with rig.casebook.sessions() as s:
        assert list(s.scalars(select(ChecklistTick))) == []
        assert list(s.scalars(select(Snooze))) == []
    # jo, of the case's team, may: the same clicks are stored.
    click(rig, "UJO", {"action_id": "caseclock_tick", "block_id": "checklist",
                       "type": "checkboxes", "selected_options": [{"value": f"{value}|0"}]},
          channel="DJO")
    mine = click(rig, "UJO", {"action_id": "caseclock_snooze", "type": "button",
                              "value": value}, channel="DJO")
    assert answer(rig, mine).startswith("Snoozed: it comes back ")
    with rig.casebook.sessions() as s:
        assert [t.item for t in s.scalars(select(ChecklistTick))] == [0]
        assert [z.by for z in s.scalars(select(Snooze))] == ["jo"]


def test_mentions_typed_by_a_person_never_reach_slack_unescaped(rig: SlackRig) -> None:
    rig.command("/referral", "123456 s17")
    for mention in MENTIONS:
        reply = rig.command("/seen", f"123456 {mention}")
        escaped = mention.replace("<", "&lt;").replace(">", "&gt;")
        assert f"I did not understand '{escaped}'" in reply["text"]
        assert "<" not in reply["text"] and ">" not in reply["text"]
        assert escaped in json.dumps(reply["blocks"])
        assert mention not in json.dumps(reply["blocks"])


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.sampled_from([*MENTIONS, "alone", "home", "today", "10:00",
                                       "123456", "654321", "review", "close", "nfa",
                                       "reason", "child_visited", "&", "<b>", "a>b"]),
                      min_size=1, max_size=5),
       command=st.sampled_from(["/seen", "/case", "/referral", "/strategy", "/due"]))
def test_no_reply_carries_an_unescaped_angle_bracket(rig: SlackRig, words: list[str],
                                                     command: str) -> None:
    reply = rig.command(command, " ".join(words))
    assert reply["text"] and "<" not in reply["text"] and ">" not in reply["text"]
    for block in reply.get("blocks") or []:
        assert "<" not in block["text"]["text"] and ">" not in block["text"]["text"]


def test_a_confirmation_by_direct_message_is_escaped_too(rig: SlackRig) -> None:
    client = WebClient(token="xoxb-test", base_url=rig.slack.url)
    confirm(client, "UJO", None, "Nothing was stored: I did not understand '<!here>'.")
    [sent] = rig.slack.wait_for("chat.postMessage")
    assert sent.body["text"] == ("Nothing was stored: I did not understand "
                                 "'&lt;!here&gt;'.")


def test_a_superscript_digit_gets_one_sentence_in_slack(rig: SlackRig) -> None:
    rig.command("/referral", "123456 s17")
    reply = rig.command("/case", "123456 decision seen \u00b2", user="UPRIYA")
    assert reply["text"].startswith("Nothing was stored: seen needs a day number: type "
                                    "decision seen 5.")
    assert rig.events() == 1


@pytest.fixture
def failing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        # An unexpected failure whose message holds user text and a case reference.
        raise ValueError("invalid literal for int() with base 10: '123456 Jane'")

    monkeypatch.setattr(CommandHandler, "handle", broken)
    yield


def test_failure_logs_carry_the_exception_type_and_ids_only(
        rig: SlackRig, failing: None, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    body, _key = rig.command_body("/case", "123456 Jane close nfa")
    assert rig.post(body) == 200
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(
            "failed" in r.getMessage().lower() for r in caplog.records):
        time.sleep(0.02)
    for record in caplog.records:  # caseclock's own and Bolt's
        logged = record.getMessage() + (record.exc_text or "") + str(record.exc_info or "")
        assert "123456" not in logged and "Jane" not in logged, logged
    failures = [r.getMessage() for r in caplog.records if "failed" in r.getMessage().lower()]
    assert failures == [failures[0]]
    assert failures[0].startswith("/case from UJO failed: ValueError at "), failures


def test_a_failing_form_check_is_logged_as_its_type_and_ids_only(
        rig: SlackRig, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    from tests.test_slack import seen_values, submission

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise KeyError("123456 Jane")

    # the form's check, before the ack
    monkeypatch.setattr("bot.transports.slack.listeners.parse", broken)
    caplog.set_level(logging.INFO)
    payload = submission(seen_values(), "V900")
    assert rig.post(urlencode({"payload": json.dumps(payload)})) == 500
    for record in caplog.records:
        logged = record.getMessage() + (record.exc_text or "") + str(record.exc_info or "")
        assert "123456" not in logged and "Jane" not in logged, logged
    failures = [r.getMessage() for r in caplog.records if "failed" in r.getMessage().lower()]
    assert len(failures) == 1
    assert failures[0].startswith("caseclock_log from UJO failed: KeyError at "), failures
