"""The transport contract: every transport, over its local mock, honours the same rules.

Wed 30 Dec 2026, 09:00: twelve of jo's cases are a day past their visit (referred Fri 18 Dec),
so the sweep makes twelve prompts to jo, the north team's digest and the summaries. The rules
(bot/transports/registry.py lists the transports; tests/transports/conftest.py their sides):
- a rate limit (429) waits for its Retry-After, without using up an attempt;
- a failure that may pass (a 5xx, a terminal gone) is retried with back-off;
- a permanent refusal parks the row and tells the admins;
- a message already delivered is not sent again, by this process or another;
- content over the transport's limit is cut with "and N more" (Slack: 50 blocks, the last
  one counting what was cut; the console: as many parts as a chat message shows; Teams: as
  many as a card holds, cards.py); a
  transport without a limit (email) shows it all, each section counted.

A side's `received()` is what each message shows its reader, a line per line (an email's
HTML body as text, a Teams card's TextBlocks in order), so the checks below look for lines,
whatever frame a message has. Teams cannot read a conversation back, so whether a send whose
answer was lost arrived cannot be checked there: that case is skipped for Teams.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from scheduler.reminders.address import Address
from scheduler.reminders.content import Digest, sections_of
from scheduler.reminders.outbox import Outbox
from store.models import OutboxRow
from tests.builders import at
from tests.transports.conftest import Rig

PROMPT = "Overdue: case 12345{:02d}, Child visited no later than 5 days after the referral, "


def _morning(rig: Rig) -> Outbox:
    rig.clock.now = at(2026, 12, 30, 9)
    outbox = rig.outbox()
    assert outbox.sweep(rig.clock.now).created == 15
    return outbox


def _drain(rig: Rig, outbox: Outbox) -> None:
    for _ in range(100):
        outbox.deliver(rig.clock)
        c = outbox.counts()
        if c["sent"] + c["parked"] + c["withdrawn"] == c["total"]:
            return
        rig.later(5)
    raise AssertionError(f"not drained: {outbox.counts()}")


def _first_row(rig: Rig) -> OutboxRow:
    with rig.casebook.sessions() as s:
        row = s.scalars(select(OutboxRow).where(OutboxRow.last_error.is_not(None))
                        .order_by(OutboxRow.id)).first()
        assert row is not None
        return row


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _with_line(texts: list[str], start: str) -> list[str]:
    """The messages with a line that starts with `start`."""
    return [t for t in texts if any(line.startswith(start) for line in _lines(t))]


def _each_prompt_once(rig: Rig) -> None:
    received = rig.side.received()
    for i in range(12):
        headline = PROMPT.format(i) + "Tue 29 Dec."
        if rig.side.stage_heading:
            # A Teams card: the stage is the card's heading, over the rest of the headline.
            stage, rest = headline.split(": ", 1)
            shown = [stage, rest[0].upper() + rest[1:]]
            assert [t for t in received if _lines(t)[:2] == shown] == ["\n".join(shown)]
            continue
        assert [line for t in received for line in _lines(t)
                if line.startswith(PROMPT.format(i))] == [headline]


def test_a_rate_limit_waits_for_retry_after_without_using_an_attempt(rig: Rig) -> None:
    outbox = _morning(rig)
    rig.side.rate_limit_next(2)  # real seconds: the pace per channel waits them
    assert outbox.deliver(rig.clock, limit=1) == {"retry": 1}
    row = _first_row(rig)
    assert row.attempts == 0
    assert row.next_attempt_at == rig.clock.now + timedelta(seconds=2)
    assert rig.side.received() == []
    _drain(rig, outbox)
    _each_prompt_once(rig)
    assert outbox.counts() == {"total": 15, "sent": 15, "parked": 0, "withdrawn": 0}


def test_a_failure_that_may_pass_is_retried(rig: Rig) -> None:
    outbox = _morning(rig)
    rig.side.fail_next()
    assert outbox.deliver(rig.clock, limit=1) == {"retry": 1}
    row = _first_row(rig)
    assert row.attempts == 1 and row.parked_at is None
    assert row.next_attempt_at > rig.clock.now
    _drain(rig, outbox)
    _each_prompt_once(rig)
    assert outbox.counts()["sent"] == 15


def test_a_permanent_refusal_parks_the_row_and_tells_the_admins(rig: Rig) -> None:
    outbox = _morning(rig)
    rig.side.refuse_next()
    assert outbox.deliver(rig.clock, limit=1) == {"parked": 1}
    row = _first_row(rig)
    assert row.parked_at == rig.clock.now and row.attempts == 1
    _drain(rig, outbox)
    alert = f"caseclock could not deliver notification {row.id} "
    alerts = _with_line(rig.side.received(), alert)
    assert len(alerts) == 1
    assert _with_line(rig.side.received_by("ada"), alert) == alerts  # the admin, by name
    assert "It is parked: once the cause is fixed, `caseclock notify --retry-parked`" in (
        alerts[0])
    assert outbox.counts() == {"total": 16, "sent": 15, "parked": 1, "withdrawn": 0}


def test_a_message_already_delivered_is_not_sent_again(rig: Rig) -> None:
    outbox = _morning(rig)
    _drain(rig, outbox)
    before = rig.side.received()
    assert len(before) == 15
    # The same minute again, and a second process starting afresh: nothing new to send.
    rig.later(60)
    again = rig.outbox()
    assert outbox.sweep(rig.clock.now).created == 0
    assert again.sweep(rig.clock.now).created == 0
    assert outbox.deliver(rig.clock) == {} and again.deliver(rig.clock) == {}
    assert rig.side.received() == before
    _each_prompt_once(rig)


def test_a_send_that_arrived_but_was_not_answered_is_not_sent_again(rig: Rig) -> None:
    if rig.side.kind == "console":
        # A print is not lost in transit: there is nothing to look up afterwards.
        jo = Address.person("jo")
        assert rig.side.transport.already_delivered(jo, "k", rig.clock.now) is False
        return
    outbox = _morning(rig)
    with rig.side.answer_lost():  # Slack: a late answer; email: a 504 after Exchange took it
        assert outbox.deliver(rig.clock, limit=1) == {"retry": 1}
    [key] = rig.side.delivered_keys()
    _drain(rig, outbox)
    assert rig.side.delivered_keys().count(key) == 1
    assert len(rig.side.delivered_keys()) == 15
    _each_prompt_once(rig)


def test_content_over_the_limit_is_cut_with_and_n_more(rig: Rig) -> None:
    # Twelve overdue for jo: the digest shows eight of a person's lines and counts the rest.
    outbox = _morning(rig)
    _drain(rig, outbox)
    # (An email has no limit, but a person's lines are cut the same way.)
    [digest] = _with_line(rig.side.received(), "north, Wed 30 Dec: ")
    assert _with_line([digest], "north, Wed 30 Dec: 12 overdue, 0 due today, ")
    assert "1234507 Child visited" in digest and "1234508 Child visited" not in digest
    assert f"and 4 more, see {rig.side.command('/due team')}" in digest
    assert all(n <= 50 for n in rig.side.blocks())


def test_a_digest_over_the_limit_arrives_cut_with_the_exact_count_of_the_rest(
        rig: Rig) -> None:
    # Sixty workers with an overdue visit each and three due today: more than a message
    # holds. 47 workers fit beside the head line, the section's header and the closing line.
    overdue = [(f"w{i:02d}", [f"12{i:04d} Child visited (Tue 29 Dec)"]) for i in range(60)]
    digest = Digest("north, Wed 30 Dec: 60 overdue, 3 due today.", sections_of([
        ("Overdue", overdue), ("Due today", [("jo", ["1", "2", "3"])])]), "north")
    rig.side.transport.send(Address.person("jo"), digest, "digest:north:cut")
    if rig.side.transport.limits.parts is None:
        _everything_shown_and_counted(rig.side.received()[-1])
        return
    closing = "and 16 more not shown here (13 overdue, 3 due today), see `/due team`"
    text = rig.side.received()[-1]
    lines = text.split("\n")
    # A section's header: "Overdue:" in text, a bold "Overdue" heading on a Teams card.
    assert lines[0] == "north, Wed 30 Dec: 60 overdue, 3 due today."
    assert lines[1].rstrip(":") == "Overdue"
    assert lines[-1] == closing
    shown = [line for line in lines if "Child visited" in line]
    assert len(shown) == 47 and "120046" in shown[-1]
    assert "w46" in text and "w47" not in text  # on a card, a person's name heads their lines
    assert [line for line in lines if line.rstrip(":") == "Due today"] == []
    blocks = rig.side.last_blocks()
    if blocks is not None:
        assert len(blocks) == 50
        assert blocks[-1] == {"type": "context",
                              "elements": [{"type": "mrkdwn", "text": closing}]}
        assert sum(1 for b in blocks if "Child visited" in str(b)) == 47


def _everything_shown_and_counted(text: str) -> None:
    """A transport without a limit (email) shows all sixty workers and the three due today,
    each section with its count, and nothing "not shown here"."""
    lines = _lines(text)
    assert "north, Wed 30 Dec: 60 overdue, 3 due today." in lines
    overdue, due_today = lines.index("Overdue (60)"), lines.index("Due today (3)")
    shown = [line for line in lines[overdue:due_today] if "Child visited" in line]
    assert len(shown) == 60
    assert shown[0] == "w00 120000 Child visited (Tue 29 Dec)"
    assert shown[-1] == "w59 120059 Child visited (Tue 29 Dec)"
    assert lines[due_today + 1:due_today + 4] == ["jo 1", "2", "3"]
    assert "not shown" not in text and "more" not in text
