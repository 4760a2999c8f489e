"""Chat rules through the handler Slack and the console share: dates, voids, teams,
service managers' oversight, siblings all-or-nothing, and what `/due` shows whom.

The clock is Mon 30 Nov 2026, 12:00 London time unless a test moves it.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from bot.commands.handler import CommandHandler, Reply
from bot.directory import Directory
from scheduler.casebook import Casebook
from scheduler.packs import PackLibrary, policy_dirs
from scheduler.reminders.outbox import Outbox
from scheduler.timescales.calendar import LONDON
from store import repo
from tests.conftest import FakeClock


class Chat:
    """Staff typing commands into one handler over one store."""

    def __init__(self, casebook: Casebook, directory: Directory) -> None:
        self.casebook = casebook
        self.directory = directory
        self.handler = CommandHandler(casebook, directory)

    def say(self, who: str, command: str, text: str) -> Reply:
        return self.handler.handle(self.directory.by_name(who), command, text, source="test")

    def ok(self, who: str, command: str, text: str) -> Reply:
        reply = self.say(who, command, text)
        assert reply.ok, reply.text
        return reply

    def rows(self) -> dict[str, int]:
        with self.casebook.sessions() as s:
            return repo.count_rows(s)

    def event_at(self, event_id: str, case: str) -> datetime:
        return next(e.at for e in self.casebook.timeline(case) if e.id == event_id)


@pytest.fixture
def chat(casebook: Casebook) -> Chat:
    directory = Directory(casebook.sessions)
    casebook.add_team("north", "bexley")
    casebook.add_team("south", "suffolk")
    directory.add("jo", "worker", "north")
    directory.add("ann", "worker", "north")
    directory.add("priya", "manager", "north")
    directory.add("bob", "worker", "south")
    directory.add("morgan", "service_manager", None, oversees="north")
    directory.add("sally", "service_manager", None)
    return Chat(casebook, directory)


def one_sentence(reply: Reply) -> str:
    """The refusal's sentence, checked to be one sentence followed only by the usage line."""
    assert not reply.ok
    first, *rest = reply.text.split("\n")
    assert all(line.startswith("Usage: ") for line in rest), reply.text
    assert first.endswith("."), first
    # One sentence: no full stop followed by a capital letter inside it.
    assert not re.search(r"[.!?] [A-Z]", first), first
    return first


# --- 1. dates without a year -----------------------------------------------------------------

def test_a_day_without_a_year_in_the_future_is_refused_not_moved_a_year_back(
        chat: Chat, clock: FakeClock) -> None:
    clock.now = datetime(2026, 11, 23, 12, 0, tzinfo=LONDON)  # Monday 23 November 2026
    chat.ok("jo", "/referral", "123458 s17 20/11 09:00")
    before = chat.rows()
    reply = chat.say("jo", "/seen", "123458 25/11 10:00")
    assert "25/11/2026 10:00 is in the future" in one_sentence(reply)
    assert chat.rows() == before


def test_a_december_date_typed_in_january_is_last_month_and_the_reply_shows_its_year(
        chat: Chat, clock: FakeClock) -> None:
    clock.now = datetime(2027, 1, 5, 9, 0, tzinfo=LONDON)  # Tuesday 5 January 2027
    chat.ok("jo", "/referral", "123459 s17 18/12/2026 09:00")
    reply = chat.ok("jo", "/seen", "123459 20/12 10:00 alone")
    assert "at 10:00 Sun 20 Dec 2026" in reply.text
    assert chat.event_at(reply.event_ids[0], "123459") == datetime(2026, 12, 20, 10, 0,
                                                                   tzinfo=LONDON)


def test_an_event_before_2000_is_refused(chat: Chat) -> None:
    before = chat.rows()
    reply = chat.say("jo", "/referral", "123458 s17 01/01/1999")
    assert "outside the working calendar (2000-2060)" in one_sentence(reply)
    assert chat.rows() == before


# --- 2. what a void changes ---------------------------------------------------------------

def test_voiding_a_visit_opens_its_deadline_again_and_voiding_the_referral_removes_them(
        chat: Chat) -> None:
    chat.ok("jo", "/referral", "123456 s17 today 09:00")
    seen = chat.ok("jo", "/seen", "123456 today 10:00 alone")
    assert "Met: Child visited no later than 5 days after the referral" in seen.text
    voided = chat.ok("jo", "/case", f"123456 void {seen.event_ids[0]} wrong child")
    assert ("Open again: Child visited no later than 5 days after the referral "
            "(due Mon 7 Dec).") in voided.text
    referral = chat.casebook.timeline("123456")[0].id
    gone = chat.ok("jo", "/case", f"123456 void {referral} logged on the wrong case")
    assert "No longer applies: Child visited no later than 5 days after the referral." in (
        gone.text)
    assert "No longer applies: Assessment completed within the first 15 days" in gone.text


def test_closing_a_case_after_a_deadline_was_missed_says_the_breach_stays_on_record(
        chat: Chat) -> None:
    # Clock: Mon 30 Nov 2026. Referral Mon 2 Nov 09:00 under Bexley: allocation (24 hours)
    # was due Tue 3 Nov 09:00 and the visit (5 working days) Mon 9 Nov; neither happened.
    chat.ok("jo", "/referral", "123456 s17 02/11 09:00")
    seen = chat.ok("jo", "/case", "123456 review")
    assert ("Next: Case allocated within 24 hours of the referral, overdue "
            "(was due Tue 3 Nov 09:00).") in seen.text
    closed = chat.ok("priya", "/case", "123456 close nfa")
    assert ("Stopped, still recorded as missed: Child visited no later than 5 days after the "
            "referral (was due Mon 9 Nov).") in closed.text
    assert "No longer applies: Child visited" not in closed.text
    # Nobody is chased for a closed case: the missed deadline is no longer open.
    assert "123456" not in chat.ok("jo", "/due", "").text


# --- 3. teams: allocation and "mine" ------------------------------------------------------------

def test_a_case_cannot_be_allocated_to_staff_of_another_team(chat: Chat) -> None:
    chat.ok("jo", "/referral", "555555 s17 today 09:00")
    before = chat.rows()
    reply = chat.say("jo", "/case", "555555 allocate @bob")
    assert one_sentence(reply) == (
        "Nothing was stored: bob is in team south, not north: allocate to someone in north.")
    assert chat.rows() == before
    chat.ok("jo", "/case", "555555 allocate @ann")
    assert chat.casebook.case_summary("555555").allocated_worker == "ann"


def test_due_mine_leaves_out_cases_of_teams_the_worker_no_longer_sees(chat: Chat) -> None:
    chat.ok("jo", "/referral", "555555 s17 today 09:00")
    chat.ok("jo", "/case", "555555 allocate @ann")
    assert "555555 Child visited" in chat.ok("ann", "/due", "").text
    chat.directory.remove("ann")
    chat.directory.add("ann", "worker", "south")  # moved team; the old allocation remains
    assert "555555" not in chat.ok("ann", "/due", "").text


# --- 4. the configured case pattern ---------------------------------------------------------

def test_chat_uses_the_configured_case_pattern(chat: Chat, library: PackLibrary,
                                               clock: FakeClock) -> None:
    patterned = Casebook(chat.casebook.sessions, library, clock,
                         case_pattern="[A-Z]{2}-[0-9]{5}")
    handler = CommandHandler(patterned, chat.directory)
    jo = chat.directory.by_name("jo")
    reply = handler.handle(jo, "/referral", "AB-12346 s17", source="test")
    assert reply.ok and "for AB-12346" in reply.text, reply.text
    before = chat.rows()
    refused = handler.handle(jo, "/referral", "123456 s17", source="test")
    assert "'123456' is not a case reference" in one_sentence(refused)
    assert chat.rows() == before


# --- 5. siblings: all or nothing ------------------------------------------------------------

def test_siblings_seen_together_are_stored_all_or_none(chat: Chat) -> None:
    chat.ok("jo", "/referral", "123456 s17 today 09:00")
    chat.ok("jo", "/referral", "123457 s17 today 09:00")
    chat.ok("jo", "/case", "123456 close nfa")
    before = chat.rows()
    reply = chat.say("jo", "/seen", "123457 123456 alone")
    assert one_sentence(reply).startswith("Nothing was stored: case 123456 was closed on ")
    assert reply.text.split("\n")[0].endswith(
        "; so 123457 was not logged either (send it again without 123456).")
    assert chat.rows() == before
    assert [e.type for e in chat.casebook.timeline("123457")] == ["referral_received"]
    both = chat.ok("jo", "/seen", "123457 alone")
    assert len(both.event_ids) == 1


def test_log_many_stores_all_or_none_in_one_transaction(chat: Chat) -> None:
    # The race the handler's checks cannot see: the second case closes after the check.
    from scheduler.casebook import LogEntry
    from scheduler.timescales.vocabulary import EventError

    chat.ok("jo", "/referral", "123456 s17 today 09:00")
    chat.ok("jo", "/referral", "123457 s17 today 09:00")
    chat.ok("jo", "/case", "123457 close nfa")
    before = chat.rows()
    seen = datetime(2026, 11, 30, 12, 0, tzinfo=LONDON)  # now, after the closure
    with pytest.raises(EventError, match="123457"):
        chat.casebook.log_many([LogEntry("123456", "child_seen", seen, {"alone": True}),
                                LogEntry("123457", "child_seen", seen, {"alone": True})],
                               actor="jo", source="test")
    assert chat.rows() == before
    assert [e.type for e in chat.casebook.timeline("123456")] == ["referral_received"]


# --- 6. extensions and delay reasons ---------------------------------------------------------

def test_an_extension_must_end_after_today_and_a_reason_must_name_a_rule_of_the_pack(
        chat: Chat) -> None:
    chat.ok("jo", "/referral", "123456 s17 today 09:00")
    before = chat.rows()
    for text in ("123456 extend 01/01/1999 x", "123456 extend today waiting",
                 "123456 extend 27/11/2026 waiting"):
        one_sentence(chat.say("priya", "/case", text))
    reply = chat.say("jo", "/case", "123456 reason nosuchrule because")
    sentence = one_sentence(reply)
    assert "'nosuchrule' is not a timescale of case 123456" in sentence
    assert "child_visited" in sentence and "assessment_initial_15" in sentence
    assert chat.rows() == before
    chat.ok("jo", "/case", "123456 reason child_visited family away until Friday")
    chat.ok("priya", "/case", "123456 extend 29/01/2027 awaiting health information")


# --- 7. service managers oversee their teams ------------------------------------------------

def test_a_suffolk_decision_sets_the_child_seen_day_from_1_to_7_only(chat: Chat) -> None:
    # Suffolk: the child is seen "at the latest by day 7"; referral Mon 30 Nov 2026 = day 1.
    chat.ok("bob", "/referral", "654321 s17 today 09:00")
    before = chat.rows()
    sentence = one_sentence(chat.say("bob", "/case", "654321 decision seen 10 review 9"))
    assert sentence == ("Nothing was stored: seen_by_day 10 is past day 7, the latest the "
                        "suffolk procedure allows for child_seen: give a day from 1 to 7.")
    assert chat.rows() == before
    reply = chat.ok("bob", "/case", "654321 decision seen 7 review 9")
    assert "Tue 8 Dec" in reply.text  # day 7
    due = {d.rule: d.due.astimezone(LONDON).date().isoformat()
           for d in chat.casebook.deadlines("654321")}
    assert due["child_seen"] == "2026-12-08" and due["first_review"] == "2026-12-10"


def test_a_service_manager_sees_the_teams_they_oversee_and_no_others(chat: Chat) -> None:
    chat.ok("jo", "/referral", "123456 s17 today 09:00")
    chat.ok("bob", "/referral", "654321 s17 today 09:00")
    assert chat.ok("morgan", "/case", "123456").text.startswith("Case 123456: team north")
    before = chat.rows()
    refused = chat.say("morgan", "/case", "654321")
    assert "there is no case 654321 in your team" in one_sentence(refused)
    assert "there is no case 654321 in your team" in one_sentence(
        chat.say("morgan", "/seen", "654321"))
    assert chat.rows() == before
    team = chat.ok("morgan", "/due", "team").text
    assert "123456" in team and "654321" not in team
    # Without an oversight list, every team (as before oversight existed).
    assert chat.ok("sally", "/case", "654321").ok
    everyone = chat.ok("sally", "/due", "team").text
    assert "123456" in everyone and "654321" in everyone


def test_escalations_go_to_the_service_managers_overseeing_the_team(chat: Chat) -> None:
    # north: morgan's list (and lee's); east: lee's own team; west: nobody's, so the admin.
    chat.casebook.add_team("east", "bexley")
    chat.casebook.add_team("west", "bexley")
    chat.directory.remove("sally")  # no list: she would oversee every team
    chat.directory.add("lee", "service_manager", "east", oversees="north")
    chat.directory.add("ada", "admin", None)
    started = datetime(2026, 9, 1, 9, 0, tzinfo=LONDON)  # 45 working days: Tue 3 Nov
    for case, team in (("100001", "north"), ("100002", "east"), ("100003", "west")):
        chat.casebook.log(case, "referral_received", started, {"track": "s17"}, actor="priya",
                          source="test", team=team)
    outbox = Outbox(chat.casebook.sessions, chat.casebook.library, {}, lambda _r: "slack")
    told: dict[str, set[str]] = {}
    for p, _ in outbox.plan(datetime(2026, 11, 30, 12, 0, tzinfo=LONDON)):
        if p.stage == "exception" and p.rule == "assessment_45":
            told.setdefault(p.case, set()).add(p.recipient)
    assert told == {"100001": {"staff:lee", "staff:morgan"}, "100002": {"staff:lee"},
                    "100003": {"staff:ada"}}
    # Whoever is told about a case may open it, and a service manager not told may not.
    for case, names in told.items():
        for name in names:
            assert chat.ok(name.removeprefix("staff:"), "/case", case).ok
    for who, case in (("morgan", "100002"), ("morgan", "100003"), ("lee", "100003")):
        assert f"there is no case {case} in your team" in one_sentence(
            chat.say(who, "/case", case))


def test_only_service_managers_oversee_and_only_teams_that_exist(chat: Chat) -> None:
    before = chat.rows()
    with pytest.raises(Exception, match="only a service manager oversees teams"):
        chat.directory.add("kim", "worker", "north", oversees="south")
    with pytest.raises(Exception, match="there is no team west to oversee"):
        chat.directory.add("kim", "service_manager", None, oversees="north,west")
    assert chat.rows() == before


# --- 8. and 9. /due: awaiting authorisation, and the team's own calendar ---------------------

def test_managers_see_what_awaits_their_authorisation(chat: Chat) -> None:
    chat.ok("jo", "/referral", "123460 s17 09/11 09:00")
    chat.ok("jo", "/case", "123460 complete 16/11 10:00")
    line = "123460 completed Mon 16 Nov, 10 working days ago"
    for text in ("", "team"):
        due = chat.ok("priya", "/due", text).text
        assert f"Awaiting your authorisation:\n  {line}" in due, due
    assert line in chat.ok("morgan", "/due", "").text
    assert "Awaiting your authorisation" not in chat.ok("jo", "/due", "").text
    view = chat.handler.due_view(chat.directory.by_name("priya"), "team")  # type: ignore[arg-type]
    assert [s.title for s in view.sections][-1] == "Awaiting your authorisation"
    chat.ok("priya", "/case", "123460 authorise")
    assert "Awaiting your authorisation" not in chat.ok("priya", "/due", "").text


def test_due_counts_five_working_days_on_the_team_packs_own_calendar(
        chat: Chat, clock: FakeClock, tmp_path: Path) -> None:
    # A pack whose authority is closed Tue 1 - Fri 4 Dec 2026: five working days from
    # Mon 30 Nov run to Fri 11 Dec, not Mon 7 Dec as on the national calendar.
    (tmp_path / "closures.yaml").write_text(
        "name: closures\ntitle: Bexley with a closure week\nextends: bexley\n"
        "closure_days: [2026-12-01, 2026-12-02, 2026-12-03, 2026-12-04]\nrules: []\n",
        encoding="utf-8")
    library = PackLibrary(policy_dirs(str(tmp_path)))
    casebook = Casebook(chat.casebook.sessions, library, clock)
    casebook.add_team("east", "closures")
    chat.directory.add("eve", "worker", "east")
    handler = CommandHandler(casebook, chat.directory)
    eve = chat.directory.by_name("eve")
    assert handler.handle(eve, "/referral", "777777 s17 today 09:00", source="test").ok
    assert handler.handle(eve, "/case", "777777 allocate @eve", source="test").ok
    due = handler.handle(eve, "/due", "", source="test").text
    assert "777777 Child visited no later than 5 days after the referral: by Fri 11 Dec" in due


# --- 10. voids, extensions, /due team and /due @name ---------------------------------------

def test_voids_by_the_author_and_managers_only(chat: Chat) -> None:
    chat.ok("jo", "/referral", "123456 s17 today 09:00")
    seen = chat.ok("jo", "/seen", "123456 today 10:00").event_ids[0]
    before = chat.rows()
    refused = chat.say("ann", "/case", f"123456 void {seen} wrong child")
    assert one_sentence(refused) == (f"Nothing was stored: only the person who logged {seen} "
                                     "or a manager can void it: ask them or your team manager.")
    unknown = chat.say("jo", "/case", "123456 void zzzzzzzz wrong child")
    assert "there is no event zzzzzzzz on case 123456" in one_sentence(unknown)
    assert chat.rows() == before
    chat.ok("jo", "/case", f"123456 void {seen} wrong child")
    again = chat.ok("ann", "/seen", "123456 today 11:00").event_ids[0]
    chat.ok("priya", "/case", f"123456 void {again} wrong time")
    assert [e.voided for e in chat.casebook.timeline("123456")
            if e.type == "child_seen"] == [True, True]


def test_a_worker_cannot_extend(chat: Chat) -> None:
    chat.ok("jo", "/referral", "123456 s17 today 09:00")
    before = chat.rows()
    reply = chat.say("jo", "/case", "123456 extend 29/01/2027 awaiting health information")
    assert "only a manager can authorise or extend" in one_sentence(reply)
    assert chat.rows() == before


def test_due_team_and_due_for_a_named_worker_list_their_deadlines(chat: Chat) -> None:
    chat.ok("jo", "/referral", "123456 s17 27/11 09:00")  # Fri 27 Nov
    chat.ok("jo", "/case", "123456 allocate @jo 27/11 10:00")
    chat.ok("jo", "/referral", "123457 s17 today 09:00")
    chat.ok("bob", "/referral", "654321 s17 today 09:00")
    team = chat.ok("priya", "/due", "team").text
    assert team.startswith("Due for your team:")
    assert "123456 Child visited no later than 5 days after the referral: by Fri 4 Dec" in team
    assert "123457 Child visited no later than 5 days after the referral: by Mon 7 Dec" in team
    assert "654321" not in team
    jo = chat.ok("priya", "/due", "@jo").text
    assert jo.startswith("Due for jo: 0 overdue, 0 today, 1 in the next five working days.")
    assert "123456 Child visited" in jo and "123457" not in jo
    assert "123456" not in chat.ok("bob", "/due", "@jo").text


@pytest.mark.parametrize(
    ("who", "command", "text"),
    [
        ("jo", "/referral", "Jane s47"),
        ("jo", "/seen", "123456 tomorrow"),
        ("jo", "/seen", "123456 25/12 10:00"),
        ("jo", "/case", "123456 authorise"),
        ("jo", "/case", "123456 allocate @bob"),
        ("jo", "/case", "123456 allocate @nobody"),
        ("jo", "/case", "123456 reason nosuchrule because"),
        ("jo", "/case", "123456 void zzzzzzzz oops"),
        ("priya", "/case", "123456 extend 01/01/1999 x"),
        ("bob", "/case", "123456 review"),
        ("morgan", "/seen", "654321 alone"),
        ("jo", "/due", "team now"),
        ("jo", "/frobnicate", "123456"),
    ],
)
def test_every_refusal_is_one_sentence_and_stores_nothing(chat: Chat, who: str, command: str,
                                                          text: str) -> None:
    chat.ok("jo", "/referral", "123456 s17 today 09:00")
    chat.ok("bob", "/referral", "654321 s17 today 09:00")
    before = chat.rows()
    sentence = one_sentence(chat.say(who, command, text))
    assert sentence.startswith("Nothing was stored: ")
    assert chat.rows() == before


# --- 11. only a contact or a referral opens a case (issue 8, section 3) ----------------------

@pytest.mark.parametrize(
    ("command", "text", "unknown"),
    [
        ("/seen", "777004 alone", "777004"),
        ("/case", "777002 close nfa", "777002"),
        ("/case", "777003 plan x", "777003"),
        ("/case", "777001 reason bogus_rule x", "777001"),
        ("/seen", "123456 9999", "9999"),  # a typo for a time: read as a sibling's case
    ],
)
def test_only_a_contact_or_a_referral_opens_a_case(chat: Chat, command: str, text: str,
                                                   unknown: str) -> None:
    chat.ok("jo", "/referral", "123456 s17 today 09:00")
    before = chat.rows()
    sentence = one_sentence(chat.say("jo", command, text))
    assert sentence == (f"Nothing was stored: there is no case {unknown} in your team: log its "
                        f"referral first, /referral {unknown} s17.")
    assert chat.rows() == before
    assert chat.casebook.case_references() == ["123456"]


def test_a_contact_opens_a_case_and_the_reply_says_a_new_case_was_opened(chat: Chat) -> None:
    contact = chat.ok("jo", "/case", "777005 contact today 09:00")
    assert "Logged contact received for 777005 at 09:00 today" in contact.text
    assert "This opened a new case, 777005, in team north." in contact.text
    referral = chat.ok("jo", "/referral", "777005 s17 today 10:00")
    assert "Logged referral received (s17) for 777005 at 10:00 today" in referral.text
    assert "opened a new case" not in referral.text
    assert chat.casebook.case_summary("777005").team == "north"


def test_a_reason_must_name_a_timescale_the_case_has(chat: Chat) -> None:
    # icpc_15 is a rule of Bexley's pack, but an s17 case has no conference timescale.
    chat.ok("jo", "/referral", "123456 s17 today 09:00")
    before = chat.rows()
    sentence = one_sentence(chat.say("jo", "/case", "123456 reason icpc_15 conference late"))
    assert sentence.startswith("Nothing was stored: 'icpc_15' is not a timescale of case "
                               "123456: type /case 123456 reason RULE why")
    assert "child_visited" in sentence and "icpc_15 " not in sentence
    assert chat.rows() == before
    chat.ok("jo", "/case", "123456 reason child_visited family away")


def test_a_second_referral_within_a_working_day_is_taken_for_a_double_tap(
        chat: Chat, clock: FakeClock) -> None:
    clock.now = datetime(2026, 11, 30, 14, 2, tzinfo=LONDON)  # Mon 30 Nov 2026, 14:02
    chat.ok("jo", "/referral", "123456 s17")
    clock.now = datetime(2026, 11, 30, 14, 3, tzinfo=LONDON)
    before = chat.rows()
    sentence = one_sentence(chat.say("jo", "/referral", "123456 s17"))
    assert sentence == ("Nothing was stored: 123456 was already referred at 14:02 today; add "
                        "`again` if this is a new referral: /referral 123456 s17 again.")
    assert chat.rows() == before
    # Next working day (Tue 1 Dec) still within a working day: said with its day.
    clock.now = datetime(2026, 12, 1, 9, 0, tzinfo=LONDON)
    assert "already referred at 14:02 yesterday" in one_sentence(
        chat.say("jo", "/referral", "123456 s17"))
    again = chat.ok("jo", "/referral", "123456 s17 again")
    assert "Logged referral received (s17) for 123456 at 09:00 today" in again.text
    assert [e.type for e in chat.casebook.timeline("123456")] == ["referral_received"] * 2


def test_re_tracking_a_later_referral_and_a_referral_after_closure_are_not_double_taps(
        chat: Chat, clock: FakeClock) -> None:
    clock.now = datetime(2026, 11, 30, 14, 2, tzinfo=LONDON)
    chat.ok("jo", "/referral", "123456 s17 14:00")
    chat.ok("jo", "/referral", "123456 s47 14:01")  # re-tracked: s17 to s47
    chat.ok("jo", "/referral", "123457 s17 14:00")
    chat.ok("priya", "/case", "123457 close nfa 14:01")
    chat.ok("jo", "/referral", "123457 s17 14:02")  # a new referral after the closure
    # Two working days later (Wed 2 Dec) the same track is a new referral.
    clock.now = datetime(2026, 12, 2, 14, 2, tzinfo=LONDON)
    chat.ok("jo", "/referral", "123456 s47")
    assert [e.type for e in chat.casebook.timeline("123456")] == ["referral_received"] * 3


def test_another_teams_case_is_refused_as_if_it_did_not_exist(chat: Chat) -> None:
    chat.ok("bob", "/referral", "654321 s17 today 09:00")
    before = chat.rows()
    for command, text in (("/case", "654321"), ("/seen", "654321 alone"),
                          ("/case", "654321 close nfa")):
        theirs = one_sentence(chat.say("jo", command, text))
        nobodys = one_sentence(chat.say("jo", command, text.replace("654321", "654329")))
        assert theirs == nobodys.replace("654329", "654321")
        assert theirs.startswith("Nothing was stored: there is no case 654321 in your team: ")
    assert chat.rows() == before


# --- 12. digits that are not ASCII (issue 8, section 4) ----------------------------------------

@pytest.mark.parametrize(
    ("command", "text", "says"),
    [
        ("/case", "123456 decision seen \u00b2", "seen needs a day number"),
        ("/case", "123456 decision review \u00b3", "review needs a day number"),
        ("/seen", "123456 \u0662\u0663/\u0661\u0661", "I did not understand"),  # 23/11
        ("/seen", "123456 \u0661\u0660:\u0660\u0660", "I did not understand"),  # 10:00
        ("/case", "123456 info police \u0660\u0664/\u0661\u0662", "info needs a date"),
        ("/seen", "12345\u00b2 alone", "is not a case reference"),
    ],
)
def test_digits_that_are_not_ascii_get_one_sentence_and_store_nothing(
        chat: Chat, command: str, text: str, says: str) -> None:
    chat.ok("jo", "/referral", "123456 s17 today 09:00")
    before = chat.rows()
    sentence = one_sentence(chat.say("priya", command, text))
    assert says in sentence and sentence.startswith("Nothing was stored: ")
    assert chat.rows() == before


def test_a_configured_pattern_with_backslash_d_still_reads_only_ascii_digits(
        chat: Chat, library: PackLibrary, clock: FakeClock) -> None:
    patterned = Casebook(chat.casebook.sessions, library, clock, case_pattern=r"\d{6}")
    handler = CommandHandler(patterned, chat.directory)
    jo = chat.directory.by_name("jo")
    before = chat.rows()
    arabic = "\u0661\u0662\u0663\u0664\u0665\u0666"  # 123456 in Arabic-Indic digits
    refused = handler.handle(jo, "/referral", f"{arabic} s17", source="test")
    assert f"'{arabic}' is not a case reference" in one_sentence(refused)
    assert chat.rows() == before
    assert handler.handle(jo, "/referral", "123456 s17", source="test").ok
