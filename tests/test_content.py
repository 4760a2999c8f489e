"""Content as the outbox stores it: JSON that reads back to the same value, plain text that
counts what it cut, and the chat's own pointer to the rest."""

from __future__ import annotations

import pytest

from bot.transports.plain import plain
from scheduler.reminders.content import (
    Action,
    ActionRef,
    ChecklistItem,
    Digest,
    Entry,
    Prompt,
    Section,
    Summary,
    from_json,
    plain_text,
    to_json,
)

REF = ActionRef("123456", "assessment_initial_15", 1, "due_today")


def test_a_prompt_and_a_summary_read_back_as_they_were_stored() -> None:
    prompt = Prompt(REF, ("Due today: case 123456, ...", "Checklist (Review): 1 of 2 done."),
                    "Review", (ChecklistItem(0, "Child seen alone", True),
                               ChecklistItem(1, "Home visited", False)),
                    (Action("log_it", ActionRef("123456", "assessment_initial_15", 1,
                                                "due_today", event="assessment_completed"),
                            primary=True), Action("reason", REF)), "All assessments ...")
    summary = Summary("Morning summary for north, Thu 12 Nov: ...", (
        Section("Escalated", (Entry("jo", ("100002 Child visited (Mon 9 Nov)",)),), more=3),),
        "north", {"Escalated": 4})
    for content in (prompt, summary):
        assert from_json(to_json(content)) == content
    assert plain(prompt) == ("Due today: case 123456, ... Checklist (Review): 1 of 2 done.\n"
                             "  [x] Child seen alone\n  [ ] Home visited")


def test_an_urgent_prompt_keeps_its_flag_and_a_stored_prompt_without_one_is_not_urgent(
        ) -> None:
    urgent = Prompt(REF, ("Overdue: case 123456, Case allocated within 24 hours, was due 9pm "
                          "today.",), urgent=True)
    stored = to_json(urgent)
    back = from_json(stored)
    assert stored["urgent"] is True and back == urgent
    assert isinstance(back, Prompt) and back.urgent is True
    # Rows stored before the flag existed (the same version 1) read back as not urgent, and
    # a prompt that is not urgent is stored as before, without the key.
    plain_prompt = Prompt(REF, ("Due today: case 123456, ...",))
    assert "urgent" not in to_json(plain_prompt)
    old = {k: v for k, v in stored.items() if k != "urgent"}
    read = from_json(old)
    assert isinstance(read, Prompt) and read.urgent is False and read.lines == urgent.lines


def test_what_a_digest_cuts_is_counted_and_the_chat_says_where_to_see_it() -> None:
    lines = tuple(f"12345{i:02d} Child visited (Tue 10 Nov)" for i in range(12))
    digest = Digest("north, Thu 12 Nov: 12 overdue, 5 due today.", (
        Section("Overdue", (Entry("jo", lines),)),
        Section("Due today", (), more=5)))  # carried as a count only
    text = plain_text(digest)
    assert "  jo: 1234500 Child visited (Tue 10 Nov); " in text
    assert "1234507" in text and "1234508" not in text
    assert text.endswith("    and 4 more\nand 5 more not shown here (5 due today)")
    assert plain(digest).endswith("    and 4 more, see `/due team`\n"
                                  "and 5 more not shown here (5 due today), see `/due team`")


def test_a_malformed_stored_content_is_one_content_error_not_a_crash() -> None:
    from scheduler.reminders.content import ContentError, from_json

    for broken in ({"v": 1, "kind": "prompt"},  # no reference
                   {"v": 1, "kind": "digest", "head": "north", "sections": [{"x": 1}]},
                   {"v": 1, "kind": "alert"},
                   {"v": 99, "kind": "alert", "text": "x"}):
        with pytest.raises(ContentError) as err:
            from_json(broken)
        assert str(err.value).startswith("outbox content")
    assert from_json({"v": 1, "kind": "alert", "text": "fine"}).text == "fine"  # type: ignore[union-attr]
