"""Which reminder is due when, for whom: stages on real dates, from deadlines and the clock."""

from __future__ import annotations

from datetime import UTC, date, datetime

from scheduler.notify import CaseInfo, Planner, TeamPeople, digest_due, digest_plans
from scheduler.packs import PackLibrary
from scheduler.timescales.engine import compute_case
from scheduler.timescales.vocabulary import Event
from tests.builders import at, ev

LIB = PackLibrary()
TEAM = TeamPeople("north", managers=("priya",), service_managers=("morgan",),
                  channel="CNORTH", ooh_channel="COOH")


def plan(events: list[Event], now: datetime, worker: str | None = "jo", pack: str = "bexley",
         awaiting: datetime | None = None) -> set[tuple[str, str, str]]:
    p, cal = LIB.get(pack), LIB.calendar(pack)
    deadlines = compute_case(p, cal, "123456", events, now)
    planner = Planner(p, cal, {"north": TEAM})
    got = planner.plan_case(deadlines, CaseInfo("123456", "north", worker, awaiting), now)
    return {(x.stage, x.rule, x.recipient) for x in got}


def only(rule: str, plans: set[tuple[str, str, str]]) -> set[tuple[str, str]]:
    return {(s, r) for s, ru, r in plans if ru == rule}


REFERRAL_FRI_18_DEC = [ev("referral_received", at(2026, 12, 18, 10), track="s17")]


def test_child_visited_over_christmas_upcoming_due_today_overdue_escalated() -> None:
    # Child visited within 5 working days of Fri 18 Dec 2026: due Tue 29 Dec.
    e = REFERRAL_FRI_18_DEC
    assert only("child_visited", plan(e, at(2026, 12, 23, 8, 29))) == set()
    assert only("child_visited", plan(e, at(2026, 12, 23, 8, 30))) == {("upcoming", "staff:jo")}
    # Christmas Day and the Boxing Day substitute are not working days: nothing is sent.
    assert only("child_visited", plan(e, at(2026, 12, 28, 10))) == set()
    assert only("child_visited", plan(e, at(2026, 12, 29, 8, 30))) == {("due_today", "staff:jo")}
    assert only("child_visited", plan(e, at(2026, 12, 30, 9))) == {("overdue", "staff:jo")}
    assert only("child_visited", plan(e, at(2026, 12, 31, 9))) == {
        ("overdue", "staff:jo"), ("escalated", "staff:priya")}


def test_only_the_latest_stage_after_downtime() -> None:
    # Down from before the upcoming prompt until the day after due: only "overdue".
    stages = {s for s, _ in only("child_visited", plan(REFERRAL_FRI_18_DEC,
                                                       at(2026, 12, 30, 11)))}
    assert stages == {"overdue"}


def test_direct_messages_wait_for_working_hours() -> None:
    for early_or_late in (at(2026, 12, 29, 7, 0), at(2026, 12, 29, 17, 30)):
        got = plan(REFERRAL_FRI_18_DEC, early_or_late)
        # Only the urgent hour rule (allocation within 24 hours) goes out, to the OOH channel.
        assert got == {("overdue", "allocation", "channel:COOH")}
    assert only("child_visited", plan(REFERRAL_FRI_18_DEC, at(2026, 12, 29, 17, 29))) == {
        ("due_today", "staff:jo")}


def test_hour_rule_is_urgent_and_goes_out_of_hours_to_the_ooh_channel_across_the_clock_change(
) -> None:
    # Allocation within 24 hours of a referral at 20:00 BST Sat 24 Oct 2026: due 19:00 GMT
    # Sun 25 Oct; "upcoming" at half the window, 07:00 GMT Sunday, out of hours.
    e = [ev("referral_received", at(2026, 10, 24, 20), track="s47")]
    assert only("allocation", plan(e, at(2026, 10, 25, 6, 59))) == set()
    assert only("allocation", plan(e, at(2026, 10, 25, 7, 0))) == {("upcoming", "channel:COOH")}
    assert only("allocation", plan(e, at(2026, 10, 25, 19, 0))) == {("overdue", "channel:COOH")}
    # On Monday morning the manager is told directly, and it is escalated on Tuesday.
    assert only("allocation", plan(e, at(2026, 10, 26, 9))) == {("overdue", "staff:priya")}
    assert ("escalated", "staff:priya") in only("allocation", plan(e, at(2026, 10, 27, 9)))


def test_unallocated_worker_prompts_go_to_the_team_channel() -> None:
    got = only("child_visited", plan(REFERRAL_FRI_18_DEC, at(2026, 12, 29, 9), worker=None))
    assert got == {("due_today", "channel:CNORTH")}


def test_missed_45_day_limit_is_an_exception_for_the_service_manager() -> None:
    e = [ev("referral_received", at(2026, 9, 1), track="s17")]  # 45 WD: Tue 3 Nov 2026
    got = plan(e, at(2026, 11, 4, 9), pack="working-together-2023")
    assert ("exception", "assessment_45", "staff:morgan") in got
    assert ("overdue", "assessment_45", "staff:priya") in got
    assert ("escalated", "assessment_45", "staff:priya") not in got
    assert ("escalated", "assessment_45", "staff:priya") in plan(
        e, at(2026, 11, 5, 9), pack="working-together-2023")


def test_manager_decides_on_an_extension_when_the_15_days_fall_due() -> None:
    e = [ev("referral_received", at(2026, 11, 2), track="s17")]  # 15 WD: Mon 23 Nov
    got = only("assessment_initial_15", plan(e, at(2026, 11, 23, 9)))
    assert got == {("due_today", "staff:jo"), ("due_today", "staff:priya")}


def test_completed_but_not_authorised_nudges_the_manager_after_a_working_day() -> None:
    e = [ev("referral_received", at(2026, 11, 2), track="s17")]
    since = at(2026, 11, 20, 15)  # a Friday
    assert ("due_today", "awaiting_authorisation", "staff:priya") not in plan(
        e, at(2026, 11, 20, 16), awaiting=since)
    assert ("due_today", "awaiting_authorisation", "staff:priya") in plan(
        e, at(2026, 11, 23, 9), awaiting=since)


def test_met_deadlines_prompt_nobody() -> None:
    e = [*REFERRAL_FRI_18_DEC, ev("child_seen", at(2026, 12, 22))]
    assert only("child_visited", plan(e, at(2026, 12, 30, 9))) == set()


def test_digest_is_due_on_working_days_from_its_time() -> None:
    cal = LIB.calendar("bexley")
    assert digest_due(TEAM, cal, at(2026, 12, 29, 8, 29)) is None
    assert digest_due(TEAM, cal, at(2026, 12, 29, 8, 30)) == date(2026, 12, 29)
    assert digest_due(TEAM, cal, at(2026, 12, 28, 9)) is None  # Boxing Day substitute
    assert digest_due(TEAM, cal, at(2026, 12, 26, 9)) is None  # Saturday
    plans = digest_plans(TEAM, date(2026, 12, 29))
    assert {(p.rule, p.recipient) for p in plans} == {("digest", "channel:CNORTH"),
                                                      ("manager_summary", "staff:priya")}
    assert len({p.key for p in plans}) == 2


def test_keys_are_stable_so_a_stage_is_created_once() -> None:
    p, cal = LIB.get("bexley"), LIB.calendar("bexley")
    planner = Planner(p, cal, {"north": TEAM})
    now1, now2 = at(2026, 12, 29, 9), at(2026, 12, 29, 15)
    keys = []
    for now in (now1, now2):
        deadlines = compute_case(p, cal, "123456", REFERRAL_FRI_18_DEC, now)
        keys.append({x.key for x in planner.plan_case(deadlines, CaseInfo(
            "123456", "north", "jo"), now)})
    assert keys[0] == keys[1]


def test_summer_time_morning_is_0830_bst() -> None:
    e = [ev("referral_received", at(2026, 7, 1, 10), track="s17")]  # due Wed 8 Jul
    assert only("child_visited", plan(e, at(2026, 7, 7, 17, 0))) == {("upcoming", "staff:jo")}
    assert only("child_visited", plan(e, at(2026, 7, 8, 8, 29))) == set()  # before hours
    assert only("child_visited", plan(e, datetime(2026, 7, 8, 7, 30, tzinfo=UTC))) == {
        ("due_today", "staff:jo")}  # 07:30 UTC is 08:30 BST
