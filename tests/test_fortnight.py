"""A simulated fortnight, Mon 23 Mar to Mon 6 Apr 2026: the clocks go forward on Sunday
29 March, Good Friday (3 Apr) and Easter Monday (6 Apr) are bank holidays. Time moves in
half-hour steps under time-machine; every step sweeps and delivers, as the scheduler would.
Every prompt, escalation, exception and digest is asserted, with what one of each stage says,
and none is sent twice."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import time_machine
from slack_sdk import WebClient

from bot.directory import Directory
from bot.transports.slack.sending import SlackTransport
from scheduler.casebook import Casebook
from scheduler.reminders.outbox import Outbox
from scheduler.timescales.calendar import LONDON
from tests.builders import at
from tests.mock_slack import MockSlack

# (when, case, type, fields): what the team logs, as it happens.
SCRIPT: list[tuple[datetime, str, str, dict[str, Any]]] = [
    (at(2026, 3, 23, 10), "300001", "referral_received", {"track": "s17"}),
    (at(2026, 3, 23, 11), "300001", "allocated", {"worker": "jo"}),
    (at(2026, 3, 28, 20), "300002", "referral_received", {"track": "s47"}),  # Saturday night
    (at(2026, 3, 31, 10), "300001", "child_seen", {"alone": True}),
]
# Case 300003, referred Fri 23 Jan 2026, allocated, seen and extended: its 45 working days
# run out on Fri 27 Mar, in the fortnight. Logged before it starts.
BEFORE: list[tuple[datetime, str, str, dict[str, Any]]] = [
    (at(2026, 1, 23, 10), "300003", "referral_received", {"track": "s17"}),
    (at(2026, 1, 23, 11), "300003", "allocated", {"worker": "jo"}),
    (at(2026, 1, 26, 10), "300003", "child_seen", {"alone": True}),
    (at(2026, 2, 12, 10), "300003", "extension_agreed",
     {"until": date(2026, 4, 30), "reason": "awaiting health information"}),
]


def test_a_fortnight_of_reminders_across_the_clock_change_and_easter(casebook: Casebook) -> None:
    directory = Directory(casebook.sessions)
    casebook.add_team("north", "bexley", slack_channel="CNORTH", ooh_channel="COOH")
    directory.add("jo", "worker", "north", "UJO")
    directory.add("priya", "manager", "north", "UPRIYA")
    directory.add("morgan", "service_manager", None, "UMORGAN")
    sent: list[tuple[str, str, str]] = []  # (local time, key, Slack channel)
    texts: dict[str, str] = {}  # key -> the message as sent

    def clock() -> datetime:
        return datetime.now(UTC)

    casebook.clock = clock
    with MockSlack() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.url, timeout=5, retry_handlers=[])
        outbox = Outbox(casebook.sessions, casebook.library,
                        {"slack": SlackTransport(client, directory)},
                        transport_for=lambda _r: "slack", pace=0.0)
        now = at(2026, 3, 23, 0, 0)
        end = at(2026, 4, 6, 23, 30)
        with time_machine.travel(now, tick=False):
            for when, case, etype, fields in BEFORE:
                casebook.log(case, etype, when, fields, actor="priya", source="test",
                             team="north")
        script = list(SCRIPT)
        while now <= end:
            with time_machine.travel(now, tick=False):
                while script and script[0][0] <= now:
                    when, case, etype, fields = script.pop(0)
                    casebook.log(case, etype, when, fields, actor="jo", source="test",
                                 team="north")
                before = len(slack.of("chat.postMessage"))
                outbox.sweep(now)
                for _ in range(5):
                    outbox.deliver(clock)
                for call in slack.of("chat.postMessage")[before:]:
                    key = call.body["metadata"]["event_payload"]["key"]
                    sent.append((now.astimezone(LONDON).strftime("%a %d %b %H:%M %Z"), key,
                                 call.body["channel"]))
                    texts[key] = call.body["text"]
            now = (now.astimezone(UTC) + timedelta(minutes=30)).astimezone(LONDON)

    keys = Counter(k for _, k, _ in sent)
    assert max(keys.values()) == 1, [k for k, n in keys.items() if n > 1]

    def short(key: str, channel: str) -> str:
        # A person by name; a team's channel by the Slack channel it was posted into.
        parts = key.split(":")
        who = parts[-1] if parts[-2] == "staff" else channel
        if parts[0] == "digest":
            return f"digest {parts[2]} -> {who}"
        case, rule, _seq, *_due, stage, _kind, _name = parts
        return f"{case} {rule} {stage} -> {who}"

    got = [f"{when}  {short(k, channel)}" for when, k, channel in sent]
    working_days = ["Mon 23 Mar", "Tue 24 Mar", "Wed 25 Mar", "Thu 26 Mar", "Fri 27 Mar",
                    "Mon 30 Mar", "Tue 31 Mar", "Wed 01 Apr", "Thu 02 Apr"]
    zone = {d: ("GMT" if d.endswith("Mar") and int(d[4:6]) < 29 else "BST")
            for d in working_days}
    digests = []
    for d in working_days:
        iso = datetime.strptime(f"{d} 2026", "%a %d %b %Y").date().isoformat()
        digests += [f"{d} 08:30 {zone[d]}  digest {iso} -> CNORTH",
                    f"{d} 08:30 {zone[d]}  digest {iso} -> priya",
                    f"{d} 08:30 {zone[d]}  digest {iso} -> morgan"]  # service manager
    prompts = [
        # Case 300001: referred Mon 23 Mar, child visit due Mon 30 Mar (5 working days).
        "Thu 26 Mar 08:30 GMT  300001 child_visited upcoming -> jo",
        "Mon 30 Mar 08:30 BST  300001 child_visited due_today -> jo",
        "Tue 31 Mar 08:30 BST  300001 child_visited overdue -> jo",
        # (seen at 10:00 on Tue 31: no escalation on Wed 1 Apr.)
        # Case 300002: a section 47 referral at 20:00 on Saturday 28 March, nobody allocated.
        # Allocation within 24 hours: due 21:00 BST Sunday, the clocks having gone forward.
        "Sun 29 Mar 09:00 BST  300002 allocation upcoming -> COOH",
        "Sun 29 Mar 21:00 BST  300002 allocation overdue -> COOH",
        "Mon 30 Mar 08:30 BST  300002 allocation overdue -> priya",
        # Allocation is the manager's own rule: it goes one level up, to the service
        # manager, on the next working morning after its hour.
        "Mon 30 Mar 08:30 BST  300002 allocation escalated -> morgan",
        # Child visited within 5 working days of Sat 28 Mar: Tue 7 Apr (Good Friday and
        # Easter Monday skipped); two working days before it, skipping them again, is
        # Wed 1 Apr. Nobody is allocated, so it goes to the team's duty channel.
        "Wed 01 Apr 08:30 BST  300002 child_visited upcoming -> CNORTH",
        # Case 300003: the manager's 45 working days, due Fri 27 Mar. Missed, it is an
        # exception for the service manager the next working morning; its escalation (to
        # the service manager too, a day later) is not sent again on top of the exception.
        "Wed 25 Mar 08:30 GMT  300003 assessment_45 upcoming -> priya",
        "Fri 27 Mar 08:30 GMT  300003 assessment_45 due_today -> priya",
        "Mon 30 Mar 08:30 BST  300003 assessment_45 overdue -> priya",
        "Mon 30 Mar 08:30 BST  300003 assessment_45 exception -> morgan",
    ]
    assert sorted(got) == sorted(digests + prompts), "\n".join(sorted(got))
    # Nothing at all on Good Friday, the weekend or Easter Monday but the urgent prompts.
    quiet = [g for g in got if g[:3] in ("Fri", "Sat", "Mon") and ("03 Apr" in g or "04 Apr"
             in g or "06 Apr" in g)]
    assert quiet == []

    def said(line: str) -> str:
        [key] = [k for when, k, ch in sent if f"{when}  {short(k, ch)}" == line]
        return texts[key]

    # What people read, one message of each stage.
    assert said("Thu 26 Mar 08:30 GMT  300001 child_visited upcoming -> jo") == (
        "Coming up: case 300001, Child visited no later than 5 days after the referral, "
        "Mon 30 Mar, day 3 of 5.")
    assert said("Mon 30 Mar 08:30 BST  300001 child_visited due_today -> jo") == (
        "Due today: case 300001, Child visited no later than 5 days after the referral, "
        "Mon 30 Mar, day 5 of 5.")
    assert said("Sun 29 Mar 21:00 BST  300002 allocation overdue -> COOH") == (
        "Overdue: case 300002, Case allocated within 24 hours of the referral, was due 9pm "
        "today.")
    assert said("Mon 30 Mar 08:30 BST  300002 allocation escalated -> morgan") == (
        "Escalated to you: case 300002, Case allocated within 24 hours of the referral, was "
        "due 9pm Sun 29 Mar.")
    exception = said("Mon 30 Mar 08:30 BST  300003 assessment_45 exception -> morgan")
    assert exception.startswith(
        "Exception: a legal limit was missed: case 300003, Assessment completed and "
        "authorised within 45 working days of referral, Fri 27 Mar. No reason has been "
        "recorded yet (/case 300003 reason assessment_45 why).")
    assert said("Mon 30 Mar 08:30 BST  digest 2026-03-30 -> CNORTH").startswith(
        "north, Mon 30 Mar: 2 overdue, 1 due today, 0 due in the next 3 working days, "
        "0 awaiting authorisation.")
    assert said("Mon 30 Mar 08:30 BST  digest 2026-03-30 -> priya").startswith(
        "Morning summary for north, Mon 30 Mar: 1 exception (legal limits missed), "
        "1 escalated, 0 other overdue, 0 awaiting your authorisation.")
    assert said("Mon 30 Mar 08:30 BST  digest 2026-03-30 -> morgan").startswith(
        "Morning summary of 1 team, Mon 30 Mar: 1 exception (legal limits missed), "
        "1 escalated, 0 awaiting authorisation.")
