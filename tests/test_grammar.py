"""The one grammar every transport shares: each command, each date form, each refusal."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from bot.commands.dates import parse_day, parse_time, when
from bot.commands.grammar import SUBCOMMANDS, parse
from bot.transports.slack.mentions import slack_mention
from scheduler.timescales.calendar import LONDON
from scheduler.timescales.vocabulary import EVENT_TYPES, EventError

# Thursday 3 December 2026, 15:20 London time.
NOW = datetime(2026, 12, 3, 15, 20, tzinfo=LONDON)
TODAY = NOW.date()


def local(dt: datetime) -> str:
    return dt.astimezone(LONDON).strftime("%Y-%m-%d %H:%M")


def one(command: str, text: str):  # type: ignore[no-untyped-def]
    intent = parse(command, text, NOW)
    assert len(intent.events) == 1
    return intent.events[0]


# --- dates and times ----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("today", date(2026, 12, 3)),
        ("yesterday", date(2026, 12, 2)),
        ("21/11", date(2026, 11, 21)),
        ("03/12", date(2026, 12, 3)),  # 3 December, never 12 March
        ("3/12", date(2026, 12, 3)),
        ("21/11/2026", date(2026, 11, 21)),
        ("21/11/26", date(2026, 11, 21)),
        ("2026-11-21", date(2026, 11, 21)),
        ("mon", date(2026, 11, 30)),  # the most recent Monday
        ("Monday", date(2026, 11, 30)),
        ("thu", date(2026, 12, 3)),  # today is a Thursday
        ("fri", date(2026, 11, 27)),
        ("28/06", date(2026, 6, 28)),  # no year: the nearest 28 June, five months back
    ],
)
def test_dates_read_day_first_and_backwards_for_events(token: str, expected: date) -> None:
    assert parse_day(token, TODAY) == expected


@pytest.mark.parametrize(
    ("token", "today", "expected"),
    [
        # On Mon 23 Nov 2026, 25/11 is this Wednesday (for the caller to refuse as future),
        # never 25 Nov 2025 a year back.
        ("25/11", date(2026, 11, 23), date(2026, 11, 25)),
        ("28/12", date(2026, 12, 3), date(2026, 12, 28)),
        # Early January: a December date is last month, not eleven months ahead.
        ("20/12", date(2027, 1, 5), date(2026, 12, 20)),
        ("02/01", date(2026, 12, 30), date(2027, 1, 2)),
    ],
)
def test_a_day_without_a_year_is_the_nearest_such_date(token: str, today: date,
                                                       expected: date) -> None:
    assert parse_day(token, today) == expected


@pytest.mark.parametrize(
    ("token", "past", "says"),
    [
        ("01/01/1999", True, "outside the working calendar (2000-2060)"),
        ("1999-12-31", True, "outside the working calendar"),
        ("01/01/1999", False, "outside the working calendar"),
        ("01/01/2061", False, "outside the working calendar"),
        ("01/01/2031", False, "more than three years ahead"),
    ],
)
def test_absurd_years_are_refused(token: str, past: bool, says: str) -> None:
    with pytest.raises(EventError, match=re.escape(says)):
        parse_day(token, TODAY, past=past)


def test_a_due_date_within_three_years_is_accepted() -> None:
    assert parse_day("29/01/2029", TODAY, past=False) == date(2029, 1, 29)


def test_dates_without_a_year_read_forwards_for_due_dates() -> None:
    assert parse_day("04/01", TODAY, past=False) == date(2027, 1, 4)
    assert parse_day("20/12", date(2027, 1, 5), past=False) == date(2027, 12, 20)
    assert parse_day("mon", TODAY, past=False) == date(2026, 12, 7)


@pytest.mark.parametrize("token", ["12/13", "31/02", "31/02/2026", "2026-02-30", "soon"])
def test_impossible_dates_are_refused(token: str) -> None:
    with pytest.raises(EventError, match="date"):
        parse_day(token, TODAY)


def test_month_first_is_explained_not_guessed() -> None:
    with pytest.raises(EventError, match="day first"):
        parse_day("11/21", TODAY)


@pytest.mark.parametrize(("token", "hh", "mm"), [("14:30", 14, 30), ("9.15", 9, 15),
                                                 ("4pm", 16, 0), ("4:30pm", 16, 30),
                                                 ("12am", 0, 0), ("00:05", 0, 5)])
def test_times(token: str, hh: int, mm: int) -> None:
    t = parse_time(token)
    assert (t.hour, t.minute) == (hh, mm)


def test_a_date_without_a_time_is_now_today_and_midday_on_other_days() -> None:
    assert local(when(None, None, NOW)) == "2026-12-03 15:20"
    assert local(when("yesterday", None, NOW)) == "2026-12-02 12:00"
    assert local(when("yesterday", "16:00", NOW)) == "2026-12-02 16:00"


def test_times_in_summer_are_bst() -> None:
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=LONDON)
    assert when("today", "09:00", summer).utcoffset().total_seconds() == 3600  # type: ignore[union-attr]


# --- the commands ----------------------------------------------------------------------------

def test_referral_with_track_date_and_time() -> None:
    e = one("/referral", "123456 s17 21/11 14:30")
    assert (e.case, e.type, e.fields, local(e.at)) == (
        "123456", "referral_received", {"track": "s17"}, "2026-11-21 14:30")
    assert one("/referral", "123456 S47").fields == {"track": "s47"}
    assert one("/referral", "123456 eh").fields == {"track": "early_help"}


def test_again_marks_a_new_referral_wherever_it_stands_and_is_not_a_field() -> None:
    assert not one("/referral", "123456 s17").again
    for text in ("123456 s17 again", "123456 again s47 21/11", "123456 s17 14:30 AGAIN"):
        e = one("/referral", text)
        assert e.again and "again" not in e.fields and e.type == "referral_received"
    with pytest.raises(EventError, match="I did not understand 'again'"):
        parse("/seen", "123456 again", NOW)


def test_seen_with_flags_in_any_order_and_siblings() -> None:
    intent = parse("/seen", "123456 123457 yesterday 16:00 alone home bedroom", NOW)
    assert [e.case for e in intent.events] == ["123456", "123457"]
    for e in intent.events:
        assert e.type == "child_seen" and local(e.at) == "2026-12-02 16:00"
        assert e.fields == {"alone": True, "home_visited": True, "bedroom_seen": True}
    assert one("/seen", "123456 alone").fields == {"alone": True}
    assert local(one("/seen", "123456 alone home bedroom").at) == "2026-12-03 15:20"


def test_strategy_today_at_a_time() -> None:
    e = one("/strategy", "123456 today 11:00")
    assert (e.type, local(e.at)) == ("strategy_discussion_held", "2026-12-03 11:00")


@pytest.mark.parametrize(
    ("text", "etype", "fields"),
    [
        ("contact", "contact_received", {}),
        ("decision seen 3 review 7 target 15/01", "management_decision",
         {"seen_by_day": 3, "first_review_by_day": 7, "target": date(2027, 1, 15)}),
        ("started", "assessment_started", {}),
        ("family", "family_contacted", {}),
        ("review", "assessment_review_held", {}),
        ("s47", "s47_started", {}),
        ("outcome noicpc", "s47_outcome", {"icpc_required": False}),
        ("outcome icpc", "s47_outcome", {"icpc_required": True}),
        ("planning", "multi_agency_planning_held", {}),
        ("network", "family_network_meeting_held", {}),
        ("report", "icpc_report_shared", {}),
        ("icpc plan", "icpc_held", {"cp_plan": True}),
        ("icpc noplan", "icpc_held", {"cp_plan": False}),
        ("coregroup", "core_group_held", {}),
        ("rcpc continues", "review_conference_held", {"cp_plan_continues": True}),
        ("plan isp", "plan_agreed", {"kind": "isp"}),
        ("cin", "cin_meeting_held", {}),
        ("complete", "assessment_completed", {}),
        ("complete nfa", "assessment_completed", {"outcome": "nfa"}),
        ("authorise", "assessment_authorised", {}),
        ("authorize", "assessment_authorised", {}),
        ("extend 29/01/2027 awaiting health information", "extension_agreed",
         {"until": date(2027, 1, 29), "reason": "awaiting health information"}),
        ("reason child_visited family not at home twice", "delay_reason",
         {"rule": "child_visited", "reason": "family not at home twice"}),
        ("edd 25/01/2027", "expected_delivery_date", {"date": date(2027, 1, 25)}),
        ("info police 04/12", "agency_info_requested",
         {"agency": "police", "by": date(2026, 12, 4)}),
        ("received police", "agency_info_received", {"agency": "police"}),
        ("close nfa", "case_closed", {"reason": "nfa"}),
        ("void ab12cd34 wrong case", "event_voided",
         {"event_id": "ab12cd34", "reason": "wrong case"}),
        ("allocate @jo", "allocated", {"worker": "jo"}),
    ],
)
def test_case_subcommands(text: str, etype: str, fields: dict[str, object]) -> None:
    e = one("/case", f"123456 {text}")
    assert (e.case, e.type, e.fields) == ("123456", etype, fields)


def test_every_event_of_the_vocabulary_can_be_logged_from_chat() -> None:
    via_commands = {"referral_received", "child_seen", "strategy_discussion_held",
                    "allocated", "extension_agreed", "delay_reason", "expected_delivery_date",
                    "agency_info_requested", "agency_info_received", "case_closed",
                    "event_voided"}
    assert set(EVENT_TYPES) == via_commands | {t for t, _ in SUBCOMMANDS.values()}


def test_a_configured_case_pattern_is_used_and_still_needs_a_digit() -> None:
    pattern = "[A-Z]{2}-[0-9]{5}"
    e = parse("/referral", "AB-12346 s17", NOW, case_pattern=pattern).events[0]
    assert (e.case, e.fields) == ("AB-12346", {"track": "s17"})
    seen = parse("/seen", "AB-12346 CD-00001 alone", NOW, case_pattern=pattern)
    assert [x.case for x in seen.events] == ["AB-12346", "CD-00001"]
    with pytest.raises(EventError, match="the shape"):
        parse("/referral", "123456 s17", NOW, case_pattern=pattern)
    # A pattern that would admit words still never reads "alone" as a case.
    words = parse("/seen", "ab123 alone", NOW, case_pattern="[a-z0-9]+")
    assert [x.case for x in words.events] == ["ab123"] and words.events[0].fields == {
        "alone": True}


@pytest.mark.parametrize("until", ["today", "01/12/2026", "01/01/1999"])
def test_an_extension_must_end_after_today(until: str) -> None:
    with pytest.raises(EventError, match=r"after today|outside the working calendar"):
        parse("/case", f"123456 extend {until} awaiting health", NOW)


def test_slack_mentions_carry_the_user_id() -> None:
    intent = parse("/case", "123456 allocate <@U024BE7LH|jo>", NOW, mention=slack_mention)
    assert intent.events[0].fields == {"worker": "jo"}
    assert intent.mention_ids == {"jo": "U024BE7LH"}


def test_case_view_help_and_due() -> None:
    assert parse("/case", "123456", NOW).kind == "show_case"
    assert parse("/case", "", NOW).kind == "help"
    assert parse("/case", "help", NOW).kind == "help"
    assert parse("/case", "123456 share", NOW).kind == "share_case"
    assert parse("/due", "", NOW).target == "me"
    assert parse("/due", "team", NOW).target == "team"
    assert parse("/due", "@jo", NOW).target == "jo"


def test_authorise_and_extend_need_a_manager() -> None:
    assert parse("/case", "123456 authorise", NOW).needs_manager
    assert parse("/case", "123456 extend 29/01/2027 why", NOW).needs_manager
    assert not parse("/case", "123456 review", NOW).needs_manager


@pytest.mark.parametrize(
    ("command", "text", "says"),
    [
        ("/referral", "Jane s47", "not a case reference"),
        ("/referral", "", "case reference is missing"),
        ("/referral", "123456", "say the track"),
        ("/seen", "123456 tomorrow", "I did not understand 'tomorrow'"),
        ("/seen", "123456 31/02", "not a real date"),
        ("/case", "123456 frobnicate", "not something I can log"),
        ("/case", "123456 close", "the reason for closing is empty"),
        ("/case", "123456 extend 29/01/2027", "the reason for the extension is empty"),
        ("/case", "123456 extend because", "needs a date"),
        ("/case", "123456 reason child_visited", "the reason is empty"),
        ("/case", "123456 void", "say which entry"),
        ("/case", "123456 icpc", "say whether the child is on a plan"),
        ("/case", "123456 allocate jo", "not a person"),
        ("/case", "123456 decision seen", "needs a day number"),
        ("/due", "team now", "/due [team | @name]"),
        ("/frobnicate", "123456", "not a caseclock command"),
    ],
)
def test_refusals_say_what_was_wrong_and_what_to_type(command: str, text: str,
                                                      says: str) -> None:
    with pytest.raises(EventError) as err:
        parse(command, text, NOW)
    assert says in str(err.value)
    assert "\n" not in str(err.value)
