"""Which reminder is due when, for whom: stages on real dates, from deadlines and the clock."""

from __future__ import annotations

from datetime import UTC, date, datetime

from scheduler.packs import PackLibrary
from scheduler.reminders.planner import (
    CaseInfo,
    Planned,
    Planner,
    TeamPeople,
    digest_due,
    digest_plans,
)
from scheduler.timescales.engine import compute_case
from scheduler.timescales.vocabulary import Event
from tests.builders import at, ev

LIB = PackLibrary()
TEAM = TeamPeople("north", managers=("priya",), service_managers=("morgan",),
                  has_channel=True, has_ooh_channel=True)


def plan(events: list[Event], now: datetime, worker: str | None = "jo", pack: str = "bexley",
         awaiting: datetime | None = None) -> set[tuple[str, str, str]]:
    p, cal = LIB.get(pack), LIB.calendar(pack)
    deadlines = compute_case(p, cal, "123456", events, now)
    planner = Planner(p, cal, {"north": TEAM})
    got = planner.plan_case(deadlines, CaseInfo("123456", "north", worker, awaiting), now)
    return {(x.stage, x.rule, x.recipient) for x in got}


NO_MANAGER = TeamPeople("north", managers=(), service_managers=("morgan",),
                        has_channel=True, has_ooh_channel=True)


def plan_with(events: list[Event], now: datetime, pack: str = "bexley",
              team: TeamPeople = TEAM, worker: str | None = "jo",
              awaiting: datetime | None = None) -> list[Planned]:
    """The planned notifications themselves (with their details), for one team."""
    p, cal = LIB.get(pack), LIB.calendar(pack)
    deadlines = compute_case(p, cal, "123456", events, now)
    planner = Planner(p, cal, {"north": team})
    return planner.plan_case(deadlines, CaseInfo("123456", "north", worker, awaiting), now)


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
        assert got == {("overdue", "allocation", "ooh:north")}
    assert only("child_visited", plan(REFERRAL_FRI_18_DEC, at(2026, 12, 29, 17, 29))) == {
        ("due_today", "staff:jo")}


def test_hour_rule_is_urgent_and_goes_out_of_hours_to_the_ooh_channel_across_the_clock_change(
) -> None:
    # Allocation within 24 hours of a referral at 20:00 BST Sat 24 Oct 2026: due 19:00 GMT
    # Sun 25 Oct; "upcoming" at half the window, 07:00 GMT Sunday, out of hours.
    e = [ev("referral_received", at(2026, 10, 24, 20), track="s47")]
    assert only("allocation", plan(e, at(2026, 10, 25, 6, 59))) == set()
    assert only("allocation", plan(e, at(2026, 10, 25, 7, 0))) == {("upcoming", "ooh:north")}
    assert only("allocation", plan(e, at(2026, 10, 25, 19, 0))) == {("overdue", "ooh:north")}
    # On Monday morning the manager, who owns allocation, is told directly, and it goes up
    # to the service manager: the next working morning after its hour, not Tuesday.
    assert only("allocation", plan(e, at(2026, 10, 26, 8, 29))) == {("overdue", "ooh:north")}
    assert only("allocation", plan(e, at(2026, 10, 26, 9))) == {("overdue", "staff:priya"),
                                                                ("escalated", "staff:morgan")}


def test_unallocated_worker_prompts_go_to_the_team_channel() -> None:
    got = only("child_visited", plan(REFERRAL_FRI_18_DEC, at(2026, 12, 29, 9), worker=None))
    assert got == {("due_today", "team:north")}


def test_missed_45_day_limit_is_an_exception_for_the_service_manager() -> None:
    e = [ev("referral_received", at(2026, 9, 1), track="s17")]  # 45 WD: Tue 3 Nov 2026
    got = plan(e, at(2026, 11, 4, 9), pack="working-together-2023")
    assert ("exception", "assessment_45", "staff:morgan") in got
    assert ("overdue", "assessment_45", "staff:priya") in got
    assert ("escalated", "assessment_45", "staff:priya") not in got
    # A day later it is escalated to the service manager (escalate_to), who already has the
    # exception: one message, the latest stage; the manager who owns it is not "escalated to".
    later = only("assessment_45", plan(e, at(2026, 11, 5, 9), pack="working-together-2023"))
    assert later == {("overdue", "staff:priya"), ("exception", "staff:morgan")}


def test_manager_decides_on_an_extension_when_the_15_days_fall_due() -> None:
    e = [ev("referral_received", at(2026, 11, 2), track="s17")]  # 15 WD: Mon 23 Nov
    got = only("assessment_initial_15", plan(e, at(2026, 11, 23, 9)))
    assert got == {("due_today", "staff:jo"), ("due_today", "staff:priya")}


def test_completed_but_not_authorised_nudges_the_manager_after_a_full_working_day() -> None:
    e = [ev("referral_received", at(2026, 11, 2), track="s17")]
    since = at(2026, 11, 20, 15)  # a Friday afternoon: Monday is the first full working day
    nudge = ("due_today", "awaiting_authorisation", "staff:priya")
    assert nudge not in plan(e, at(2026, 11, 20, 16), awaiting=since)
    assert nudge not in plan(e, at(2026, 11, 23, 17), awaiting=since)
    assert nudge not in plan(e, at(2026, 11, 24, 8, 29), awaiting=since)
    assert nudge in plan(e, at(2026, 11, 24, 8, 30), awaiting=since)


def test_authorisation_nudge_goes_to_the_service_managers_when_the_team_has_no_manager() -> None:
    e = [ev("referral_received", at(2026, 11, 2), track="s17")]
    got = plan_with(e, at(2026, 11, 24, 9), team=NO_MANAGER, awaiting=at(2026, 11, 20, 15))
    assert {(p.stage, p.recipient) for p in got if p.rule == "awaiting_authorisation"} == {
        ("due_today", "staff:morgan")}


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
    assert {(p.rule, p.recipient) for p in plans} == {("digest", "team:north"),
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


def test_hour_rule_escalation_is_the_next_working_morning_not_a_day_late() -> None:
    # Bexley allocation within 24 hours of a referral at 10:00 Mon 2 Nov 2026: due 10:00
    # Tue 3 Nov, overdue then; escalated at 08:30 Wed 4 Nov (it was Thu 5 Nov).
    e = [ev("referral_received", at(2026, 11, 2, 10), track="s17")]
    assert only("allocation", plan(e, at(2026, 11, 3, 10))) == {("overdue", "staff:priya")}
    assert not any(s == "escalated" for s, _ in only("allocation", plan(e, at(2026, 11, 4, 8, 29))))
    assert ("escalated", "staff:morgan") in only("allocation", plan(e, at(2026, 11, 4, 8, 30)))


def test_escalate_to_service_manager_is_honoured() -> None:
    # Suffolk: a referral on Mon 2 Nov 2026 is day 1, so day 35 is Fri 18 Dec; the rule is
    # the manager's and on_miss says escalate_to: service_manager.
    e = [ev("referral_received", at(2026, 11, 2, 10), track="s17")]
    got = only("assessment_day_35", plan(e, at(2026, 12, 22, 9), pack="suffolk"))
    assert got == {("overdue", "staff:priya"), ("escalated", "staff:morgan")}


def test_a_managers_own_rule_without_escalate_to_goes_up_to_the_service_manager() -> None:
    # Suffolk first review by day 10 (Fri 13 Nov for a referral on Mon 2 Nov): the manager's.
    e = [ev("referral_received", at(2026, 11, 2, 10), track="s17")]
    assert only("first_review", plan(e, at(2026, 11, 17, 9), pack="suffolk")) == {
        ("overdue", "staff:priya"), ("escalated", "staff:morgan")}


def test_after_downtime_one_recipient_gets_only_the_latest_stage() -> None:
    # No team manager: the service manager owns the manager's rules and is also who they
    # escalate to. Back after a week away, morgan gets "escalated" alone, not also "overdue".
    e = [ev("referral_received", at(2026, 11, 2, 10), track="s17")]
    got = [p for p in plan_with(e, at(2026, 11, 17, 9), pack="suffolk", team=NO_MANAGER)
           if p.rule == "first_review"]
    assert [(p.stage, p.recipient) for p in got] == [("escalated", "staff:morgan")]


def test_out_of_hours_urgent_prompts_for_the_duty_team_go_to_the_ooh_channel() -> None:
    # Bexley: the MASH decides on a contact within 24 hours. A contact at 20:00 BST on
    # Sat 24 Oct 2026 is due 19:00 GMT on Sunday; nobody reads the team's day channel then.
    e = [ev("contact_received", at(2026, 10, 24, 20))]
    assert only("referral_decision", plan(e, at(2026, 10, 25, 7))) == {
        ("upcoming", "ooh:north")}
    assert only("referral_decision", plan(e, at(2026, 10, 25, 19))) == {
        ("overdue", "ooh:north")}
    # In working hours it is the team's channel again.
    assert ("overdue", "team:north") in only("referral_decision",
                                                 plan(e, at(2026, 10, 26, 9)))


def test_suffolk_extension_decisions_prompt_the_manager_who_owns_them() -> None:
    # Day 20 of a referral on Mon 2 Nov 2026 is Fri 27 Nov: the manager owns the rule and is
    # asked to decide whether to extend.
    e = [ev("referral_received", at(2026, 11, 2, 10), track="s17")]
    got = [p for p in plan_with(e, at(2026, 11, 27, 9), pack="suffolk")
           if p.rule == "assessment_day_20"]
    assert [(p.stage, p.recipient, p.details.get("extension_decision")) for p in got] == [
        ("due_today", "staff:priya", True)]


def test_an_overdue_hour_rule_says_when_it_was_due() -> None:
    from bot.transports.plain import plain
    from scheduler.reminders.compose import compose_prompt

    # Allocation within 24 hours of a referral at 19:00 Mon 2 Nov 2026: due 7pm Tue 3 Nov.
    e = [ev("referral_received", at(2026, 11, 2, 19), track="s17")]
    now = at(2026, 11, 3, 19, 30)
    [p] = [x for x in plan_with(e, now) if x.rule == "allocation"]
    pack = LIB.get("bexley")
    text = plain(compose_prompt(p, pack.rule("allocation"), pack, LIB.calendar("bexley"), now,
                                None, ()))
    assert text.startswith("Overdue: case 123456, ") and text.endswith(", was due 7pm today.")


def test_a_stored_row_becomes_a_deadline_with_its_stop() -> None:
    # One conversion for the sweep, snoozes and digests, and a stopped row stays stopped.
    from scheduler.reminders.rows import deadline_from_row
    from store.models import DeadlineRow
    row = DeadlineRow(rule="assessment_45", seq=1, title="Assessment", due=at(2026, 11, 3),
                      status="overdue", met_at=None, met_by_event=None, owner="worker",
                      anchor_at=at(2026, 9, 1), hourly=False, delay_reason="waiting",
                      unit="working_days", stopped_at=at(2026, 11, 5), stopped_by_event="e9")
    d = deadline_from_row(row, "100001")
    assert (d.case, d.rule, d.seq, d.due, d.status, d.delay_reason) == (
        "100001", "assessment_45", 1, at(2026, 11, 3), "overdue", "waiting")
    assert (d.stopped_at, d.stopped_by_event) == (at(2026, 11, 5), "e9")
    assert not d.open
