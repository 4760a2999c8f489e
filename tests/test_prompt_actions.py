# ruff: noqa: F811  (`chat` is a fixture imported by name)
"""The one prompt-actions service (issue 9, item 5), called directly as a Teams card or the
console would call it: (reference, actor, where). A button obeys the rules of commands: a
worker of another team is refused with the same sentence as a command and nothing is stored;
someone not in the directory is told so."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.commands.handler import NOT_IN_DIRECTORY
from scheduler.reminders.actions import PromptActions, checklist_choice
from scheduler.reminders.content import ActionRef
from store.models import ChecklistTick, Snooze
from tests.test_chat_rules import Chat, chat  # noqa: F401  (north: jo, priya; south: bob)

REF = ActionRef("123456", "assessment_initial_15", 1, "due_today")
NOT_YOURS = ("there is no case 123456 in your team: log its referral first, "
             "/referral 123456 s17.")


@pytest.fixture
def actions(chat: Chat) -> PromptActions:
    chat.ok("jo", "/referral", "123456 s17")  # Mon 30 Nov 2026, 12:00
    return chat.handler.prompt_actions()  # as every transport gets it


def test_the_reference_is_written_and_read_in_one_place() -> None:
    assert REF.to_token() == "123456|assessment_initial_15|1|due_today"
    assert ActionRef.from_token(REF.to_token()) == REF
    log_it = ActionRef("123456", "child_visited", 0, "overdue", "child_seen")
    assert log_it.to_token() == "123456|child_visited|0|overdue|child_seen"
    assert ActionRef.from_token(log_it.to_token()) == log_it
    assert checklist_choice("123456|assessment_initial_15|1|due_today|3") == (REF, 3)
    for bad in ("", "checklist", "123456|rule|x|stage", "a|b|1|c|d|e", "123456||1|due"):
        with pytest.raises(ValueError):
            ActionRef.from_token(bad)


def test_only_actionref_reads_a_buttons_token() -> None:
    # The Slack listeners (and next Teams') parse no token themselves: one place reads it.
    root = Path(__file__).resolve().parents[1]
    splitting = sorted(str(f.relative_to(root)) for folder in ("bot", "scheduler")
                       for f in (root / folder).rglob("*.py")
                       if 'split("|")' in f.read_text(encoding="utf-8"))
    assert splitting == ["scheduler/reminders/content.py"]


def test_another_teams_worker_is_refused_every_action_and_nothing_is_stored(
        chat: Chat, actions: PromptActions) -> None:
    bob = chat.directory.by_name("bob")  # south; the case is north's
    snoozed = actions.snooze(REF, bob, where=None)
    assert (snoozed.done, snoozed.text) == (False, f"Not snoozed: {NOT_YOURS}")
    ticked = actions.tick(REF, bob, [0, 2])
    assert (ticked.done, ticked.text) == (False, f"Not ticked: {NOT_YOURS}")
    quoted = actions.quote(REF, bob)
    assert (quoted.done, quoted.text) == (False, NOT_YOURS)
    reason = actions.reason(REF, bob, "family away", source="test")
    assert not reason.done and NOT_YOURS in reason.text
    with chat.casebook.sessions() as s:
        assert list(s.scalars(select(ChecklistTick))) == []
        assert list(s.scalars(select(Snooze))) == []
    assert [e.type for e in chat.casebook.timeline("123456")] == ["referral_received"]


def test_someone_not_in_the_directory_is_told_so_and_nothing_is_stored(
        chat: Chat, actions: PromptActions) -> None:
    assert actions.snooze(REF, None, where=None).text == NOT_IN_DIRECTORY
    assert actions.quote(REF, None).text == NOT_IN_DIRECTORY
    assert actions.reason(REF, None, "family away", source="test").text == NOT_IN_DIRECTORY
    assert not actions.tick(REF, None, [1]).done
    with chat.casebook.sessions() as s:
        assert list(s.scalars(select(ChecklistTick))) == []
        assert list(s.scalars(select(Snooze))) == []


def test_the_cases_own_worker_snoozes_ticks_quotes_and_records_a_reason(
        chat: Chat, actions: PromptActions) -> None:
    jo = chat.directory.by_name("jo")
    snoozed = actions.snooze(REF, jo, where=None)
    # Monday noon: back the next working morning.
    assert (snoozed.done, snoozed.text) == (True, "Snoozed: it comes back Tue 1 Dec at 08:30.")
    ticked = actions.tick(REF, jo, [2, 0])
    assert ticked.done and ticked.refresh and ticked.text == ""
    quoted = actions.quote(REF, jo)
    assert quoted.done and quoted.text.startswith("Assessment completed within the first 15")
    assert "\u201c" in quoted.text and quoted.text.endswith(")")
    reason = actions.reason(REF, jo, "family away until Friday", source="test",
                            request_id="V1")
    assert reason.done and reason.text.startswith("Logged delay reason for 123456")
    again = actions.reason(REF, jo, "family away until Friday", source="test",
                           request_id="V1")  # a retried submission: stored once
    assert again.done
    with chat.casebook.sessions() as s:
        assert sorted(t.item for t in s.scalars(select(ChecklistTick))) == [0, 2]
        assert [(z.by, z.stage) for z in s.scalars(select(Snooze))] == [("jo", "due_today")]
    assert [e.type for e in chat.casebook.timeline("123456")] == [
        "referral_received", "delay_reason"]


def test_log_it_opens_the_command_line_of_the_event_that_meets_the_prompt(
        actions: PromptActions) -> None:
    review = ActionRef("123456", "assessment_review", 0, "due_soon", "assessment_review_held")
    assert actions.log_it(review) == ("/case", "123456 review ")
    seen = ActionRef("123456", "child_visited", 0, "overdue", "child_seen")
    assert actions.log_it(seen) == ("/seen", "123456 ")
