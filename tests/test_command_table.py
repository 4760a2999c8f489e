# ruff: noqa: F811  (`chat` is a fixture imported by name)
"""One command table (issue 9, item 5) drives the grammar, help, the Slack modal, a prompt's
"Log it" and the console: every row parses as it says, help lists exactly the table, and
the modal's choices are the table's."""

from __future__ import annotations

import io
import re
from datetime import datetime

import pytest

from bot.commands.grammar import parse
from bot.commands.table import (
    CASE_WORDS,
    COMMANDS,
    FORM,
    Command,
    case_help,
    command_for_event,
    logging_words,
)
from bot.console import run_console
from bot.transports.slack.listeners import _modal, modal_to_command
from scheduler.timescales.calendar import LONDON
from scheduler.timescales.vocabulary import EVENT_TYPES
from tests.test_chat_rules import Chat, chat  # noqa: F401

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=LONDON)  # Mon 30 Nov 2026


def example(c: Command) -> str:
    """The row's shape as a person would type it for case 123456: the first of each choice,
    no optional parts, a worker, a rule, a reason."""
    shape = re.sub(r"\s*\[[^]]*\]", "", c.shape)
    shape = re.sub(r"(\S+)\|\S+", r"\1", shape)
    shape = (shape.replace("@name", "@jo").replace("RULE", "child_visited")
             .replace("EVENT-ID", "E1").replace("why", "family away"))
    return f"123456 {shape}".strip()


@pytest.mark.parametrize("row", [c for c in (*COMMANDS, *CASE_WORDS) if c.event],
                         ids=lambda c: f"{c.command} {c.word}".strip())
def test_every_row_that_logs_parses_to_its_event(row: Command) -> None:
    text = example(row) + (" s47" if row.command == "/referral" else "")
    intent = parse(row.command, text, NOW)
    assert [e.type for e in intent.events] == [row.event]
    for alias in row.aliases:
        again = parse("/case", text.replace(row.word, alias, 1), NOW)
        assert [e.type for e in again.events] == [row.event]


def test_help_lists_exactly_the_table_and_every_event_is_in_it(chat: Chat) -> None:
    shown = chat.say("jo", "/case", "help").text
    assert shown == case_help()
    lines = shown.splitlines()
    # One line per /case row (the timeline, then each word), then how to add a date.
    assert len(lines) == 1 + len(CASE_WORDS) + 1
    for row in CASE_WORDS:
        assert f"/case CASE {row.shape}" in shown and row.help in shown
    assert lines[0].startswith("/case CASE ") and "timeline" in lines[0]
    assert lines[-1].startswith("Add a date and time to any of them: today, yesterday 16:00")
    logged = {c.event for c in (*COMMANDS, *CASE_WORDS) if c.event}
    assert logged == set(EVENT_TYPES)
    # A mistaken word lists the table's words, and only them.
    reply = chat.say("jo", "/case", "123456 reviewed")
    assert reply.text.startswith("Nothing was stored: 'reviewed' is not something I can log")
    assert ", ".join(logging_words()) in reply.text and "share" not in logging_words()


def test_the_console_help_lists_every_command_and_case_word(chat: Chat) -> None:
    out = io.StringIO()
    run_console(chat.handler, chat.directory.by_name("jo"), stdin=io.StringIO("help\n"),
                stdout=out, notify=False)
    text = out.getvalue()
    for c in COMMANDS:
        assert c.usage in text
    for row in CASE_WORDS:
        assert row.help_line in text
    assert text.startswith("Type a command as you would in Slack")


def test_the_slack_modal_offers_exactly_the_forms_rows_and_reads_them_back() -> None:
    view = _modal("/seen")
    what = next(b for b in view["blocks"] if b["block_id"] == "what")["element"]
    assert [(o["value"], o["text"]["text"]) for o in what["options"]] == [
        ("referral", "Referral received"), ("seen", "Child seen"),
        ("strategy", "Strategy discussion held"), ("review", "Manager review held"),
        ("complete", "Assessment completed"), ("authorise", "Assessment authorised"),
        ("close", "Case closed")]
    assert [o["value"] for o in what["options"]] == [c.form_value for c in FORM]
    assert what["initial_option"]["value"] == "seen"
    for row in FORM:
        values = {"case": {"v": {"value": "123456"}},
                  "what": {"v": {"selected_option": {"value": row.form_value}}},
                  "day": {"v": {"selected_date": "2026-11-27"}},
                  "track": {"v": {"selected_option": {"value": "s17"}}}}
        command, text = modal_to_command(values)
        intent = parse(command, text, NOW)
        assert [e.type for e in intent.events] == [row.event], row.form_value
        # A closure is dated when it is logged: the form puts its date into the reason (a
        # gap of the form as it was, reported, not changed here).
        if row.form_value != "close":
            assert intent.events[0].at.date().isoformat() == "2026-11-27"


# The prompts' own list of "Log it" commands, as scheduler/messages.py had it before the
# scheduler stopped naming commands: the table gives each event exactly this command.
LOG_COMMAND: dict[str, tuple[str, str]] = {
    "referral_received": ("/referral", ""), "child_seen": ("/seen", ""),
    "strategy_discussion_held": ("/strategy", ""),
    "contact_received": ("/case", "contact"), "management_decision": ("/case", "decision"),
    "assessment_started": ("/case", "started"), "family_contacted": ("/case", "family"),
    "assessment_review_held": ("/case", "review"), "s47_started": ("/case", "s47"),
    "s47_outcome": ("/case", "outcome"), "multi_agency_planning_held": ("/case", "planning"),
    "family_network_meeting_held": ("/case", "network"),
    "icpc_report_shared": ("/case", "report"), "icpc_held": ("/case", "icpc"),
    "core_group_held": ("/case", "coregroup"), "review_conference_held": ("/case", "rcpc"),
    "plan_agreed": ("/case", "plan"), "cin_meeting_held": ("/case", "cin"),
    "assessment_completed": ("/case", "complete"),
    "assessment_authorised": ("/case", "authorise"), "allocated": ("/case", "allocate"),
    "extension_agreed": ("/case", "extend"), "agency_info_received": ("/case", "received"),
}


def test_log_it_reads_the_table_as_the_prompts_did() -> None:
    # The prompts' own list (above) and the table agree on every event, so the Slack
    # renderer reads the table instead.
    assert {e: command_for_event(e) for e in EVENT_TYPES if command_for_event(e)} == LOG_COMMAND
    assert command_for_event("assessment_review_held") == ("/case", "review")
    assert command_for_event("child_seen") == ("/seen", "")
    assert command_for_event("delay_reason") is None  # a reason has a button of its own
