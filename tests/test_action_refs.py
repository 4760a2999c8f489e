"""A prompt's buttons and ticks carry one typed reference, written and read in one place."""

from __future__ import annotations

import pytest

from scheduler.reminders.content import ActionRef
from scheduler.timescales.vocabulary import EventError


def test_the_reference_reads_back_as_written_in_the_form_slack_carries_today() -> None:
    ref = ActionRef("1234500", "child_visited", 1, "overdue")
    assert ref.to_token() == "1234500|child_visited|1|overdue"
    log_it = ActionRef("1234500", "child_visited", 1, "overdue", event="child_seen")
    assert log_it.to_token() == "1234500|child_visited|1|overdue|child_seen"
    tick = ActionRef("1234500", "assessment_45", 2, "due_today", item=3)
    assert tick.to_token() == "1234500|assessment_45|2|due_today|3"
    assert ActionRef.from_token(ref.to_token()) == ref
    assert ActionRef.from_token(log_it.to_token()) == log_it
    assert ActionRef.from_token(tick.to_token(), with_item=True) == tick


@pytest.mark.parametrize("token", ["", "1234500|child_visited", "1234500|rule|one|overdue",
                                   "1234500|rule|1|overdue|a|b", "|rule|1|overdue"])
def test_a_token_not_made_by_caseclock_is_refused_in_one_sentence(token: str) -> None:
    with pytest.raises(EventError) as err:
        ActionRef.from_token(token)
    assert str(err.value) == ("that button no longer matches a reminder: use the latest "
                              "message, or type the command instead.")
