"""A simulated fortnight, Mon 23 Mar to Mon 6 Apr 2026: the clocks go forward on Sunday
29 March, Good Friday (3 Apr) and Easter Monday (6 Apr) are bank holidays. Time moves in
half-hour steps under time-machine; every step sweeps and delivers, as the scheduler would.
Every prompt, escalation, exception and digest is asserted, with what one of each stage says,
and none is sent twice. The second test runs the same fortnight with a Teams-and-email team
beside the Slack team, all three transports against their local mocks."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from slack_sdk import WebClient

from bot.directory import Directory
from bot.transports.email import KEY_PROPERTY, EmailTransport
from bot.transports.registry import router
from bot.transports.slack.sending import SlackTransport
from bot.transports.teams.conversations import ConversationRef, Conversations
from bot.transports.teams.sending import TeamsTransport
from scheduler.casebook import Casebook
from scheduler.reminders.outbox import Outbox
from scheduler.reminders.transport import Transport
from scheduler.timescales.calendar import LONDON
from store.settings import Settings
from tests.builders import at
from tests.mock_bot_connector import MockBotConnector
from tests.mock_graph import CLIENT_ID, CLIENT_SECRET, SENDER, MockGraph
from tests.mock_graph import TENANT as GRAPH_TENANT
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


# --- The same fortnight with a Teams-and-email team beside the Slack team ------------------
#
# east works in Microsoft Teams: its channel is a stored Teams conversation; sam and dee (a
# manager) have personal chats with the bot; lee has one too but prefers email; kit was given
# a Teams id but never opened the app, so kit's prompts go by email; ravi (a manager) prefers
# email. east has no --ooh-channel (that is a Slack channel): an urgent (24-hour) prompt out
# of hours goes at once to whom it is meant for, its duty prompts to the Teams channel.
APP_ID = "88888888-2222-3333-4444-555555555555"
EAST = "19:east@thread.tacv2"
EAST_PEOPLE = {"sam": "aad-sam", "lee": "aad-lee", "kit": "aad-kit", "dee": "aad-dee",
               "ravi": "aad-ravi"}
EAST_SCRIPT: list[tuple[datetime, str, str, dict[str, Any]]] = [
    # sam's case, seen on the due day before noon: upcoming and due today, never overdue.
    (at(2026, 3, 23, 10), "400001", "referral_received", {"track": "s17"}),
    (at(2026, 3, 23, 11), "400001", "allocated", {"worker": "sam"}),
    (at(2026, 3, 30, 11), "400001", "child_seen", {"alone": True}),
    # lee's case (email), never seen: overdue, then escalated to both managers.
    (at(2026, 3, 24, 10), "400002", "referral_received", {"track": "s17"}),
    (at(2026, 3, 24, 11), "400002", "allocated", {"worker": "lee"}),
    # kit's case (email: kit never opened the app), never seen.
    (at(2026, 3, 25, 10), "400003", "referral_received", {"track": "s17"}),
    (at(2026, 3, 25, 11), "400003", "allocated", {"worker": "kit"}),
    # A contact on Saturday night: the MASH's 24 hours are the duty channel's, out of hours.
    (at(2026, 3, 28, 21), "400004", "contact_received", {}),
    (at(2026, 3, 30, 9), "400004", "referral_received", {"track": "s47"}),
    (at(2026, 3, 31, 8), "400004", "allocated", {"worker": "sam"}),
]


def test_a_teams_and_email_team_beside_a_slack_team_each_prompt_once_on_its_transport(
        casebook: Casebook, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = Directory(casebook.sessions)
    casebook.add_team("north", "bexley", slack_channel="CNORTH", ooh_channel="COOH")
    casebook.add_team("east", "bexley", teams_channel=EAST)
    directory.add("jo", "worker", "north", "UJO")
    directory.add("priya", "manager", "north", "UPRIYA")
    directory.add("morgan", "service_manager", None, "UMORGAN")
    directory.add("sam", "worker", "east", msteams_id=EAST_PEOPLE["sam"])
    directory.add("lee", "worker", "east", msteams_id=EAST_PEOPLE["lee"], prefers="email",
                  email="lee@council.gov.uk")
    directory.add("kit", "worker", "east", msteams_id=EAST_PEOPLE["kit"],
                  email="kit@council.gov.uk")
    directory.add("dee", "manager", "east", msteams_id=EAST_PEOPLE["dee"])
    directory.add("ravi", "manager", "east", msteams_id=EAST_PEOPLE["ravi"], prefers="email",
                  email="ravi@council.gov.uk")
    sent: list[tuple[str, str, str, str]] = []  # (local time, key, transport, where)
    texts: dict[str, str] = {}
    feed: list[tuple[str, str, str]] = []  # (local time, Entra id, case)

    def clock() -> datetime:
        return datetime.now(UTC)

    casebook.clock = clock
    with MockSlack() as slack, MockBotConnector(APP_ID) as connector, MockGraph() as graph:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(graph.ca_file))  # the mock authority
        conversations = Conversations(casebook.sessions)
        bot = f"28:{APP_ID}"
        for name in ("sam", "lee", "dee", "ravi"):  # kit never opened the app
            conversations.remember(ConversationRef(f"a:{name}", "personal",
                                                   connector.service_url, bot, "tenant",
                                                   aad_object_id=EAST_PEOPLE[name]))
        conversations.remember(ConversationRef(EAST, "channel", connector.service_url, bot,
                                               "tenant", teams_team_id="19:g@thread.tacv2",
                                               channel_id=EAST))
        settings = Settings(
            teams_app_id=APP_ID, teams_app_password="secret", teams_tenant_id="tenant",
            teams_openid_metadata_url=connector.metadata_url, teams_login_url=connector.url,
            graph_tenant_id=GRAPH_TENANT, graph_client_id=CLIENT_ID,
            graph_client_secret=CLIENT_SECRET, graph_sender=SENDER,
            graph_api_url=graph.api_url, graph_authority=graph.authority)
        teams = TeamsTransport.from_settings(settings, directory)
        email = EmailTransport.from_settings(settings, directory)
        assert teams is not None and email is not None
        client = WebClient(token="xoxb-test", base_url=slack.url, timeout=5, retry_handlers=[])
        transports: dict[str, Transport] = {
            "slack": SlackTransport(client, directory), "teams": teams, "email": email}
        outbox = Outbox(casebook.sessions, casebook.library, transports,
                        transport_for=router(transports, directory), pace=0.0)
        now = at(2026, 3, 23, 0, 0)
        end = at(2026, 4, 6, 23, 30)
        with time_machine.travel(now, tick=False):
            for when, case, etype, fields in BEFORE:
                casebook.log(case, etype, when, fields, actor="priya", source="test",
                             team="north")
        script = sorted([(*e, "north", "jo") for e in SCRIPT]
                        + [(*e, "east", "ravi") for e in EAST_SCRIPT], key=lambda e: e[0])
        try:
            while now <= end:
                with time_machine.travel(now, tick=False):
                    while script and script[0][0] <= now:
                        when, case, etype, fields, team, actor = script.pop(0)
                        casebook.log(case, etype, when, fields, actor=actor, source="test",
                                     team=team)
                    seen = (len(slack.of("chat.postMessage")), len(connector.activities()),
                            len(graph.sent()), len(graph.of("/sendActivityNotification")))
                    outbox.sweep(now)
                    for _ in range(5):
                        outbox.deliver(clock)
                    local = now.astimezone(LONDON).strftime("%a %d %b %H:%M %Z")
                    for call in slack.of("chat.postMessage")[seen[0]:]:
                        key = call.body["metadata"]["event_payload"]["key"]
                        sent.append((local, key, "slack", call.body["channel"]))
                        texts[key] = call.body["text"]
                    for posted in connector.activities()[seen[1]:]:
                        key = posted.body["channelData"]["caseclockKey"]
                        sent.append((local, key, "teams", posted.path.split("/")[4]))
                        texts[key] = posted.body["summary"]
                    for mail in graph.sent()[seen[2]:]:
                        key = str(mail.key_property(KEY_PROPERTY))
                        [to] = mail.message["toRecipients"]
                        sent.append((local, key, "email", to["emailAddress"]["address"]))
                        texts[key] = mail.message["subject"]
                    for note in graph.of("/sendActivityNotification")[seen[3]:]:
                        feed.append((local, note.path.split("/")[3],
                                     note.body["templateParameters"][0]["value"]))
                now = (now.astimezone(UTC) + timedelta(minutes=30)).astimezone(LONDON)
        finally:
            email.graph.close()
            feed_client = teams.feed()
            if feed_client is not None:
                feed_client.graph.close()

    # Nothing twice: every outbox key once, at whichever mock it went to.
    keys = Counter(k for _, k, _, _ in sent)
    assert max(keys.values()) == 1, [k for k, n in keys.items() if n > 1]

    def short(key: str, via: str, where: str) -> str:
        # A Slack person by name; everything else by where it landed: a Teams conversation,
        # an email address, a Slack channel.
        parts = key.split(":")
        who = parts[-1] if parts[-2] == "staff" and via == "slack" else where
        if parts[0] == "digest":
            return f"digest {parts[2]} -> {via} {who}"
        case, rule, _seq, *_due, stage, _kind, _name = parts
        return f"{case} {rule} {stage} -> {via} {who}"

    got = [f"{when}  {short(k, via, where)}" for when, k, via, where in sent]
    got = [f"{when}  {short(k, via, where)}" for when, k, via, where in sent]
    working_days = ["Mon 23 Mar", "Tue 24 Mar", "Wed 25 Mar", "Thu 26 Mar", "Fri 27 Mar",
                    "Mon 30 Mar", "Tue 31 Mar", "Wed 01 Apr", "Thu 02 Apr"]
    digests = []
    for d in working_days:
        iso = datetime.strptime(f"{d} 2026", "%a %d %b %Y").date().isoformat()
        zone = "GMT" if d.endswith("Mar") and int(d[4:6]) < 29 else "BST"
        digests += [f"{d} 08:30 {zone}  digest {iso} -> {where}" for where in (
            "slack CNORTH", "slack priya", "slack morgan",  # north, as in the test above
            f"teams {EAST}",  # east's digest as a card in its Teams channel
            "teams a:dee",  # a manager's summary in her chat with the bot
            "email ravi@council.gov.uk")]  # and by email for the manager who prefers it
    north = [  # the Slack team's prompts: exactly those of the test above
        "Thu 26 Mar 08:30 GMT  300001 child_visited upcoming -> slack jo",
        "Mon 30 Mar 08:30 BST  300001 child_visited due_today -> slack jo",
        "Tue 31 Mar 08:30 BST  300001 child_visited overdue -> slack jo",
        "Sun 29 Mar 09:00 BST  300002 allocation upcoming -> slack COOH",
        "Sun 29 Mar 21:00 BST  300002 allocation overdue -> slack COOH",
        "Mon 30 Mar 08:30 BST  300002 allocation overdue -> slack priya",
        "Mon 30 Mar 08:30 BST  300002 allocation escalated -> slack morgan",
        "Wed 01 Apr 08:30 BST  300002 child_visited upcoming -> slack CNORTH",
        "Wed 25 Mar 08:30 GMT  300003 assessment_45 upcoming -> slack priya",
        "Fri 27 Mar 08:30 GMT  300003 assessment_45 due_today -> slack priya",
        "Mon 30 Mar 08:30 BST  300003 assessment_45 overdue -> slack priya",
        "Mon 30 Mar 08:30 BST  300003 assessment_45 exception -> slack morgan",
    ]
    east = [
        # sam (Teams): visit due Mon 30 Mar, seen that morning: no overdue.
        "Thu 26 Mar 08:30 GMT  400001 child_visited upcoming -> teams a:sam",
        "Mon 30 Mar 08:30 BST  400001 child_visited due_today -> teams a:sam",
        # lee prefers email though Teams could reach him: due Tue 31 Mar, never seen, so
        # escalated to both managers, each on their own transport.
        "Fri 27 Mar 08:30 GMT  400002 child_visited upcoming -> email lee@council.gov.uk",
        "Tue 31 Mar 08:30 BST  400002 child_visited due_today -> email lee@council.gov.uk",
        "Wed 01 Apr 08:30 BST  400002 child_visited overdue -> email lee@council.gov.uk",
        "Thu 02 Apr 08:30 BST  400002 child_visited escalated -> teams a:dee",
        "Thu 02 Apr 08:30 BST  400002 child_visited escalated -> email ravi@council.gov.uk",
        # kit never opened the Teams app: by email (escalation falls on Tue 7 Apr, after).
        "Mon 30 Mar 08:30 BST  400003 child_visited upcoming -> email kit@council.gov.uk",
        "Wed 01 Apr 08:30 BST  400003 child_visited due_today -> email kit@council.gov.uk",
        "Thu 02 Apr 08:30 BST  400003 child_visited overdue -> email kit@council.gov.uk",
        # A contact at 21:00 GMT on Saturday: the MASH's 24 hours end at 22:00 BST on Sunday.
        # Urgent and out of hours, with no out-of-hours channel: at once to the duty
        # channel in Teams (never to Slack, whose ooh channel is north's).
        "Sun 29 Mar 10:00 BST  400004 referral_decision upcoming -> teams " + EAST,
        "Sun 29 Mar 22:00 BST  400004 referral_decision overdue -> teams " + EAST,
        "Mon 30 Mar 08:30 BST  400004 referral_decision escalated -> teams a:dee",
        "Mon 30 Mar 08:30 BST  400004 referral_decision escalated -> email ravi@council.gov.uk",
        # Referred at 09:00 Monday: allocation is the managers', urgent at 21:00, out of
        # hours: at once to each manager (allocated at 08:00 Tuesday, before it was due).
        "Mon 30 Mar 21:00 BST  400004 allocation upcoming -> teams a:dee",
        "Mon 30 Mar 21:00 BST  400004 allocation upcoming -> email ravi@council.gov.uk",
        # Allocated to sam; visit due Wed 8 Apr, two working days before it is Thu 2 Apr.
        "Thu 02 Apr 08:30 BST  400004 child_visited upcoming -> teams a:sam",
    ]
    assert sorted(got) == sorted(digests + north + east), "\n".join(sorted(got))
    # Nothing at all on Good Friday, the weekend or Easter Monday but the urgent prompts.
    quiet = [g for g in got if any(d in g for d in ("Sat 28 Mar", "Sun 29 Mar", "Fri 03 Apr",
                                                    "Sat 04 Apr", "Sun 05 Apr", "Mon 06 Apr"))]
    assert sorted(quiet) == sorted(g for g in north + east if "Sun 29 Mar" in g)
    assert len(quiet) == 4
    # Every send at the mock of its transport, and each mock got no key twice.
    by_mock = {via: Counter(k for _, k, v, _ in sent if v == via)
               for via in ("slack", "teams", "email")}
    expected = Counter(line.split(" -> ")[1].split()[0] for line in digests + north + east)
    assert {via: sum(c.values()) for via, c in by_mock.items()} == expected == {
        "slack": 12 + 3 * 9, "teams": 8 + 2 * 9, "email": 9 + 9}
    assert all(max(c.values()) == 1 for c in by_mock.values())
    # The urgent prompt in a person's Teams chat (dee's, Monday 21:00) raised one activity-feed
    # notification; those to the channel and by email raised none.
    assert feed == [("Mon 30 Mar 21:00 BST", EAST_PEOPLE["dee"], "400004")]

    def said(line: str) -> str:
        [key] = [k for when, k, via, where in sent
                 if f"{when}  {short(k, via, where)}" == line]
        return texts[key]

    # What people read: a card's summary, an email's subject, the overseeing summary.
    assert said("Sun 29 Mar 22:00 BST  400004 referral_decision overdue -> teams " + EAST) == (
        "Overdue: case 400004, MASH passes the referral within 24 hours of the contact, was "
        "due 10pm today.")
    assert said("Mon 30 Mar 21:00 BST  400004 allocation upcoming -> email "
                "ravi@council.gov.uk") == (
        "Coming up: case 400004, Case allocated within 24 hours of the referral, by 9am "
        "tomorrow")
    assert said("Mon 30 Mar 08:30 BST  digest 2026-03-30 -> teams " + EAST).startswith(
        "east, Mon 30 Mar: 1 overdue, 1 due today, 2 due in the next 3 working days, "
        "0 awaiting authorisation.")
    assert said("Thu 02 Apr 08:30 BST  digest 2026-04-02 -> email ravi@council.gov.uk") == (
        "caseclock: Morning summary for east, Thu 2 Apr: 1 escalated, 1 other overdue")
    assert said("Mon 30 Mar 08:30 BST  digest 2026-03-30 -> slack morgan").startswith(
        "Morning summary of 2 teams, Mon 30 Mar: 1 exception (legal limits missed), "
        "2 escalated, 0 awaiting authorisation.")
