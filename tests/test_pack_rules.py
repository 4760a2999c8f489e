"""Every rule of every built-in pack on real dates taken from its procedure's wording.

Dates are chosen to cross what trips people up: Christmas and its substitute days, the
August bank holiday, Easter, the one-off bank holiday of 19 Sep 2022, both clock changes.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from scheduler.packs import PackLibrary
from scheduler.timescales.engine import Deadline, compute_case
from scheduler.timescales.vocabulary import Event
from tests.builders import at, ev, local

LIBRARY = PackLibrary()


def run(pack: str, events: list[Event], now: datetime) -> list[Deadline]:
    return compute_case(LIBRARY.get(pack), LIBRARY.calendar(pack), "123456", events, now)


def get(pack: str, events: list[Event], now: datetime, rule: str, seq: int = 1) -> Deadline:
    found = [d for d in run(pack, events, now) if d.rule == rule and d.seq == seq]
    listed = [(d.rule, d.seq) for d in run(pack, events, now)]
    assert len(found) == 1, f"{rule} #{seq} not among {listed}"
    return found[0]


def due_day(d: Deadline) -> str:
    return local(d)[:10]


def referral(when: datetime, track: str = "s17") -> Event:
    return ev("referral_received", when, track=track)


# --- working-together-2023 -------------------------------------------------------------

WT = "working-together-2023"


def test_wt_referral_decision_one_working_day_over_christmas_2026() -> None:
    contact = ev("contact_received", at(2026, 12, 24, 16))
    d = get(WT, [contact], at(2026, 12, 24, 17), "referral_decision")
    assert due_day(d) == "2026-12-29"  # Fri 25 and the Boxing Day substitute Mon 28 skipped
    met = get(WT, [contact, referral(at(2026, 12, 29, 9))], at(2026, 12, 30),
              "referral_decision")
    assert met.status == "met"


def test_wt_assessment_45_spec_example_and_exception_when_missed() -> None:
    events = [referral(at(2023, 4, 3))]
    d = get(WT, events, at(2023, 6, 13), "assessment_45")
    assert due_day(d) == "2023-06-12" and d.status == "overdue"
    rule = LIBRARY.get(WT).rule("assessment_45")
    assert rule.on_miss.exception and rule.on_miss.reason_required
    assert rule.on_miss.escalate_to == "service_manager"
    events.append(ev("assessment_authorised", at(2023, 6, 12, 17)))
    assert get(WT, events, at(2023, 6, 13), "assessment_45").status == "met"


def test_wt_icpc_15_skips_the_state_funeral_of_19_september_2022() -> None:
    events = [referral(at(2022, 9, 14), "s47"), ev("strategy_discussion_held", at(2022, 9, 15))]
    assert due_day(get(WT, events, at(2022, 9, 16), "icpc_15")) == "2022-10-07"


def test_wt_icpc_15_runs_from_the_latest_strategy_discussion_and_is_cancelled_without_icpc(
) -> None:
    events = [referral(at(2026, 11, 2), "s47"), ev("strategy_discussion_held", at(2026, 11, 2)),
              ev("strategy_discussion_held", at(2026, 11, 9))]
    assert due_day(get(WT, events, at(2026, 11, 10), "icpc_15")) == "2026-11-30"
    events.append(ev("s47_outcome", at(2026, 11, 12), icpc_required=False))
    assert get(WT, events, at(2026, 11, 13), "icpc_15").status == "cancelled"


def test_wt_core_group_within_10_working_days_of_a_plan_over_christmas() -> None:
    events = [referral(at(2026, 11, 16), "s47"),
              ev("strategy_discussion_held", at(2026, 11, 17)),
              ev("icpc_held", at(2026, 12, 14), cp_plan=True)]
    d = get(WT, events, at(2026, 12, 15), "core_group_10")
    assert due_day(d) == "2026-12-30"
    events.append(ev("core_group_held", at(2026, 12, 30, 15)))
    assert get(WT, events, at(2026, 12, 31), "core_group_10").status == "met"


def test_wt_no_core_group_or_review_without_a_child_protection_plan() -> None:
    events = [referral(at(2026, 11, 16), "s47"),
              ev("strategy_discussion_held", at(2026, 11, 17)),
              ev("icpc_held", at(2026, 12, 14), cp_plan=False)]
    rules = {d.rule for d in run(WT, events, at(2026, 12, 15))}
    assert "core_group_10" not in rules and "review_conference_first" not in rules


def test_wt_first_review_conference_three_months_after_the_icpc() -> None:
    events = [referral(at(2026, 11, 2), "s47"), ev("strategy_discussion_held", at(2026, 11, 3)),
              ev("icpc_held", at(2026, 11, 30), cp_plan=True)]
    # Three months on is Sun 28 Feb 2027: due the working day before, Fri 26 Feb.
    assert due_day(get(WT, events, at(2026, 12, 1), "review_conference_first")) == "2027-02-26"


def test_wt_next_review_conference_due_on_easter_monday_is_due_the_thursday_before() -> None:
    # A review on Tue 29 Sep 2026 with the plan continuing: six months on is Mon 29 Mar 2027,
    # Easter Monday, after Good Friday: the next review is due Thu 25 Mar 2027.
    events = [referral(at(2026, 6, 1), "s47"), ev("strategy_discussion_held", at(2026, 6, 2)),
              ev("icpc_held", at(2026, 6, 19), cp_plan=True),
              ev("review_conference_held", at(2026, 9, 29), cp_plan_continues=True)]
    d = get(WT, events, at(2027, 3, 1), "review_conference_next")
    assert due_day(d) == "2027-03-25" and d.status == "pending"
    assert get(WT, events, at(2027, 3, 26, 9), "review_conference_next").status == "overdue"


def test_wt_review_conferences_recur_every_six_months_while_the_plan_continues() -> None:
    events = [referral(at(2026, 9, 1), "s47"), ev("strategy_discussion_held", at(2026, 9, 2)),
              ev("icpc_held", at(2026, 9, 10), cp_plan=True),
              ev("review_conference_held", at(2026, 12, 10), cp_plan_continues=True),
              ev("review_conference_held", at(2027, 6, 8), cp_plan_continues=True)]
    first = get(WT, events, at(2027, 6, 9), "review_conference_next", 1)
    assert due_day(first) == "2027-06-10" and first.status == "met"
    second = get(WT, events, at(2027, 6, 9), "review_conference_next", 2)
    assert due_day(second) == "2027-12-08" and second.status == "pending"
    events.append(ev("review_conference_held", at(2027, 11, 30), cp_plan_continues=False))
    got = [(d.seq, d.status) for d in run(WT, events, at(2027, 12, 1))
           if d.rule == "review_conference_next"]
    assert got == [(1, "met"), (2, "met")]  # the plan ended: no third review is due


def test_wt_agency_information_by_its_date_per_agency() -> None:
    events = [referral(at(2026, 11, 2)),
              ev("agency_info_requested", at(2026, 11, 3), agency="police", by=date(2026, 12, 4)),
              ev("agency_info_received", at(2026, 12, 7, 9), agency="police")]
    d = get(WT, events, at(2026, 12, 8), "agency_info")
    assert due_day(d) == "2026-12-04" and d.status == "met_late"
    assert LIBRARY.get(WT).rule("agency_info").on_miss.escalate_to == "manager"


# --- north-yorkshire ----------------------------------------------------------------------

NY = "north-yorkshire"


def test_ny_referral_decision_skips_the_august_bank_holiday() -> None:
    events = [ev("contact_received", at(2026, 8, 28, 15))]
    assert due_day(get(NY, events, at(2026, 8, 28, 16), "referral_decision")) == "2026-09-01"


def test_ny_child_seen_within_5_days_of_the_initial_contact_with_checklist() -> None:
    events = [ev("contact_received", at(2026, 12, 21)), referral(at(2026, 12, 22))]
    d = get(NY, events, at(2026, 12, 22, 12), "child_seen_initial_visit")
    assert due_day(d) == "2026-12-30"
    assert LIBRARY.get(NY).rule("child_seen_initial_visit").checklist == "initial-visit"


def test_ny_child_seen_from_the_referral_when_there_was_no_contact() -> None:
    events = [referral(at(2026, 11, 2))]
    assert due_day(get(NY, events, at(2026, 11, 3), "child_seen_initial_visit")) == "2026-11-09"


def test_ny_manager_review_prior_to_day_10() -> None:
    events = [referral(at(2026, 11, 2))]
    assert due_day(get(NY, events, at(2026, 11, 3), "manager_review")) == "2026-11-13"


def test_ny_isp_before_day_14_cancelled_by_no_further_action() -> None:
    events = [referral(at(2026, 11, 2))]
    assert due_day(get(NY, events, at(2026, 11, 3), "isp")) == "2026-11-19"
    events.append(ev("assessment_completed", at(2026, 11, 10), outcome="nfa"))
    assert get(NY, events, at(2026, 11, 11), "isp").status == "cancelled"


def test_ny_assessment_14_days_or_an_extension_with_a_clear_deadline() -> None:
    events = [referral(at(2026, 11, 2))]
    assert due_day(get(NY, events, at(2026, 11, 3), "assessment_14")) == "2026-11-20"
    events.append(ev("extension_agreed", at(2026, 11, 19), until=date(2026, 12, 11),
                     reason="awaiting health information"))
    assert get(NY, events, at(2026, 11, 23), "assessment_14").status == "met"
    ext = get(NY, events, at(2026, 12, 14), "assessment_extended")
    assert due_day(ext) == "2026-12-11" and ext.status == "overdue"


def test_ny_first_cin_meeting_before_day_20() -> None:
    events = [referral(at(2026, 11, 2))]
    assert due_day(get(NY, events, at(2026, 11, 3), "first_cin_meeting")) == "2026-11-27"
    events.append(ev("assessment_completed", at(2026, 11, 20), outcome="nfa"))
    assert get(NY, events, at(2026, 11, 23), "first_cin_meeting").status == "cancelled"


def test_ny_early_help_timeline_allocation_contact_visit_assessment_authorisation() -> None:
    events = [referral(at(2026, 11, 2), "early_help")]
    assert due_day(get(NY, events, at(2026, 11, 3), "eh_allocation")) == "2026-11-09"
    assert due_day(get(NY, events, at(2026, 11, 3), "eh_assessment")) == "2026-11-30"
    events.append(ev("allocated", at(2026, 11, 6), worker="jo"))
    assert due_day(get(NY, events, at(2026, 11, 6, 12), "eh_family_contact")) == "2026-11-11"
    assert due_day(get(NY, events, at(2026, 11, 6, 12), "eh_first_visit")) == "2026-11-18"
    events.append(ev("assessment_completed", at(2026, 11, 30)))
    assert due_day(get(NY, events, at(2026, 12, 1), "eh_authorisation")) == "2026-12-07"


def test_ny_early_help_rules_do_not_apply_to_section_17() -> None:
    rules = {d.rule for d in run(NY, [referral(at(2026, 11, 2))], at(2026, 11, 3))}
    assert not {r for r in rules if r.startswith("eh_")}
    assert "assessment_45" in rules  # the statutory baseline is inherited


def test_ny_early_help_rules_wait_for_an_early_help_referral() -> None:
    # A contact Mon 2 Nov 2026 10:00, allocated at 11:00, no referral yet: the contact's
    # one-working-day decision is running, but no early-help contact or visit is due.
    events = [ev("contact_received", at(2026, 11, 2, 10)),
              ev("allocated", at(2026, 11, 2, 11), worker="jo")]
    rules = {d.rule for d in run(NY, events, at(2026, 11, 3, 9))}
    assert "referral_decision" in rules and "child_seen_initial_visit" in rules
    assert not {r for r in rules if r.startswith("eh_")}


# --- relational-practice ------------------------------------------------------------------

RP = "relational-practice"


def test_rp_child_seen_within_three_days_under_s17_over_christmas() -> None:
    events = [referral(at(2026, 12, 24))]
    assert due_day(get(RP, events, at(2026, 12, 24, 12), "child_seen_s17")) == "2026-12-31"


def test_rp_child_seen_within_24_hours_under_s47_across_the_october_clock_change() -> None:
    events = [referral(at(2026, 10, 24, 20), "s47")]
    d = get(RP, events, at(2026, 10, 24, 21), "child_seen_s47")
    assert local(d) == "2026-10-25T19:00:00+00:00"
    rules = {d.rule for d in run(RP, events, at(2026, 10, 24, 21))}
    assert "child_seen_s17" not in rules


def test_rp_icpc_within_15_days_from_the_initial_strategy_discussion() -> None:
    events = [referral(at(2026, 11, 2), "s47"), ev("strategy_discussion_held", at(2026, 11, 2)),
              ev("strategy_discussion_held", at(2026, 11, 9))]
    assert due_day(get(RP, events, at(2026, 11, 10), "icpc_15")) == "2026-11-23"


def test_rp_supervision_within_25_days_from_the_referral_date() -> None:
    events = [referral(at(2026, 11, 2))]
    assert due_day(get(RP, events, at(2026, 11, 3), "supervision_review")) == "2026-12-07"


def test_rp_assessment_target_is_the_managers_date() -> None:
    events = [referral(at(2026, 11, 2)), ev("management_decision", at(2026, 11, 2, 15))]
    assert "assessment_target" not in {d.rule for d in run(RP, events, at(2026, 11, 3))}
    events.append(ev("management_decision", at(2026, 11, 3), target=date(2027, 1, 15)))
    d = get(RP, events, at(2026, 11, 4), "assessment_target")
    assert due_day(d) == "2027-01-15"


# --- bexley -------------------------------------------------------------------------------

BX = "bexley"


def test_bx_referral_decision_24_hours_across_the_march_clock_change() -> None:
    events = [ev("contact_received", at(2026, 3, 28, 12))]
    d = get(BX, events, at(2026, 3, 28, 13), "referral_decision")
    assert local(d) == "2026-03-29T13:00:00+01:00"


def test_bx_allocation_within_24_hours_of_the_referral() -> None:
    events = [referral(at(2026, 11, 2, 10)), ev("allocated", at(2026, 11, 3, 11), worker="jo")]
    d = get(BX, events, at(2026, 11, 4), "allocation")
    assert local(d) == "2026-11-03T10:00:00+00:00" and d.status == "met_late"


def test_bx_child_visited_no_later_than_5_days_over_christmas() -> None:
    events = [referral(at(2026, 12, 18))]
    assert due_day(get(BX, events, at(2026, 12, 18, 12), "child_visited")) == "2026-12-29"


def test_bx_assessment_initial_15_and_extension() -> None:
    events = [referral(at(2026, 11, 2))]
    assert due_day(get(BX, events, at(2026, 11, 3), "assessment_initial_15")) == "2026-11-23"
    events.append(ev("extension_agreed", at(2026, 11, 20), until=date(2027, 1, 29),
                     reason="awaiting health information"))
    assert due_day(get(BX, events, at(2026, 11, 23), "assessment_extended")) == "2027-01-29"


def test_bx_prebirth_assessment_4_weeks_before_edd_over_easter_2027() -> None:
    events = [ev("expected_delivery_date", at(2026, 12, 1), date=date(2027, 4, 26))]
    d = get(BX, events, at(2026, 12, 2), "prebirth_assessment")
    assert due_day(d) == "2027-03-25"  # Mon 29 Mar is Easter Monday, Fri 26 Good Friday


# --- suffolk (day 1 = the anchor's date) -------------------------------------------------

SF = "suffolk"


def test_sf_management_decision_by_day_2_over_christmas() -> None:
    events = [referral(at(2026, 12, 24))]
    assert due_day(get(SF, events, at(2026, 12, 24, 12), "management_decision")) == "2026-12-29"


def test_sf_family_contact_same_or_next_working_day_after_allocation() -> None:
    events = [referral(at(2026, 12, 23)), ev("allocated", at(2026, 12, 24), worker="sam")]
    assert due_day(get(SF, events, at(2026, 12, 24, 12), "family_contact")) == "2026-12-29"


def test_sf_child_seen_by_day_7_at_home_or_by_the_managers_day() -> None:
    events = [referral(at(2026, 11, 2))]
    assert due_day(get(SF, events, at(2026, 11, 2, 12), "child_seen")) == "2026-11-10"
    events.append(ev("management_decision", at(2026, 11, 2, 14), seen_by_day=3))
    assert due_day(get(SF, events, at(2026, 11, 2, 15), "child_seen")) == "2026-11-04"
    events.append(ev("child_seen", at(2026, 11, 3), home_visited=False))
    assert get(SF, events, at(2026, 11, 3, 12), "child_seen").status == "pending"
    events.append(ev("child_seen", at(2026, 11, 4), home_visited=True))
    assert get(SF, events, at(2026, 11, 5), "child_seen").status == "met"


def test_sf_a_stored_child_seen_day_past_7_still_counts_as_day_7() -> None:
    # A decision logged before day 7 became the limit: "at the latest by day 7" still holds.
    events = [referral(at(2026, 11, 2)),
              ev("management_decision", at(2026, 11, 2, 14), seen_by_day=12)]
    d = get(SF, events, at(2026, 11, 11), "child_seen")
    assert due_day(d) == "2026-11-10" and d.status == "overdue"
    limit = LIBRARY.get(SF).rule("child_seen").due.count_from
    assert limit is not None and limit.max == 7


def test_sf_first_review_by_day_10_or_the_managers_day() -> None:
    events = [referral(at(2026, 11, 2))]
    assert due_day(get(SF, events, at(2026, 11, 2, 12), "first_review")) == "2026-11-13"
    events.append(ev("management_decision", at(2026, 11, 2, 14), first_review_by_day=7))
    assert due_day(get(SF, events, at(2026, 11, 2, 15), "first_review")) == "2026-11-10"


def test_sf_s47_child_seen_within_24_hours_across_the_march_2027_clock_change() -> None:
    events = [referral(at(2027, 3, 26), "s47"), ev("strategy_discussion_held", at(2027, 3, 27, 18))]
    d = get(SF, events, at(2027, 3, 27, 19), "s47_child_seen")
    assert local(d) == "2027-03-28T19:00:00+01:00"
    assert LIBRARY.get(SF).rule("s47_child_seen").checklist == "s47-first-day"


def test_sf_s47_oversight_by_day_2_over_the_august_bank_holiday() -> None:
    events = [referral(at(2026, 8, 27), "s47"), ev("strategy_discussion_held", at(2026, 8, 28))]
    assert due_day(get(SF, events, at(2026, 8, 28, 12), "s47_oversight")) == "2026-09-01"


def test_sf_s47_planning_report_and_icpc_by_days_7_13_15() -> None:
    events = [referral(at(2026, 11, 2), "s47"), ev("strategy_discussion_held", at(2026, 11, 2))]
    now = at(2026, 11, 2, 12)
    assert due_day(get(SF, events, now, "s47_planning")) == "2026-11-10"
    assert due_day(get(SF, events, now, "icpc_report")) == "2026-11-18"
    assert due_day(get(SF, events, now, "icpc_15")) == "2026-11-20"
    events.append(ev("s47_outcome", at(2026, 11, 9), icpc_required=False))
    now = at(2026, 11, 10)
    assert get(SF, events, now, "icpc_report").status == "cancelled"
    assert get(SF, events, now, "icpc_15").status == "cancelled"


def test_sf_assessment_by_day_20_unless_going_to_icpc() -> None:
    events = [referral(at(2026, 11, 2), "s47")]
    assert due_day(get(SF, events, at(2026, 11, 3), "assessment_day_20")) == "2026-11-27"
    events += [ev("strategy_discussion_held", at(2026, 11, 3)),
               ev("icpc_held", at(2026, 11, 20), cp_plan=True)]
    assert get(SF, events, at(2026, 11, 23), "assessment_day_20").status == "cancelled"


def test_sf_assessment_day_35_and_45_count_the_referral_as_day_1() -> None:
    events = [referral(at(2026, 11, 2))]
    now = at(2026, 11, 3)
    assert due_day(get(SF, events, now, "assessment_day_35")) == "2026-12-18"
    d45 = get(SF, events, now, "assessment_45")
    assert due_day(d45) == "2027-01-06"  # the baseline, counting from day 0, says 7 Jan
    assert due_day(get(WT, events, now, "assessment_45")) == "2027-01-07"
    assert LIBRARY.get(SF).rule("assessment_45").on_miss.exception


def test_sf_extension_meets_day_20() -> None:
    events = [referral(at(2026, 11, 2)),
              ev("extension_agreed", at(2026, 11, 26), until=date(2026, 12, 18),
                 reason="further assessment of the father")]
    assert get(SF, events, at(2026, 11, 30), "assessment_day_20").status == "met"
    assert get(SF, events, at(2026, 11, 30), "assessment_45").status == "pending"


def test_sf_day_35_is_met_only_by_authorisation_or_an_extension_beyond_day_35() -> None:
    # Referral Mon 2 Nov 2026: day 20 is Fri 27 Nov, day 30 Fri 11 Dec, day 35 Fri 18 Dec.
    events = [referral(at(2026, 11, 2)),
              ev("extension_agreed", at(2026, 11, 26), until=date(2026, 12, 11),
                 reason="further assessment of the father")]
    assert get(SF, events, at(2026, 11, 30), "assessment_day_20").status == "met"
    d35 = get(SF, events, at(2026, 11, 30), "assessment_day_35")
    assert due_day(d35) == "2026-12-18" and d35.status == "pending"  # the day-20 extension
    assert get(SF, events, at(2026, 12, 19), "assessment_day_35").status == "overdue"
    # An extension to day 35 itself gives no time beyond 35 days: still not met.
    to_35 = [*events, ev("extension_agreed", at(2026, 12, 14), until=date(2026, 12, 18),
                         reason="awaiting the school's report")]
    assert get(SF, to_35, at(2026, 12, 19), "assessment_day_35").status == "overdue"
    # The exceptional extension, to day 45 (Wed 6 Jan 2027), agreed on day 33: met.
    beyond = [*events, ev("extension_agreed", at(2026, 12, 16), until=date(2027, 1, 6),
                          reason="exceptional: awaiting the paediatric assessment")]
    d35 = get(SF, beyond, at(2026, 12, 19), "assessment_day_35")
    assert d35.status == "met" and d35.met_by_event == beyond[-1].id
    late = [*events, ev("extension_agreed", at(2026, 12, 21), until=date(2027, 1, 6),
                        reason="exceptional: awaiting the paediatric assessment")]
    assert get(SF, late, at(2026, 12, 22), "assessment_day_35").status == "met_late"
    authorised = [*events, ev("assessment_authorised", at(2026, 12, 17))]
    assert get(SF, authorised, at(2026, 12, 19), "assessment_day_35").status == "met"


# --- medway -------------------------------------------------------------------------------

MW = "medway"


def test_mw_referral_decision_and_allocation_within_24_hours() -> None:
    events = [ev("contact_received", at(2026, 11, 2, 9)), referral(at(2026, 11, 2, 16))]
    assert get(MW, events, at(2026, 11, 2, 17), "referral_decision").status == "met"
    assert local(get(MW, events, at(2026, 11, 2, 17), "allocation")) == (
        "2026-11-03T16:00:00+00:00")


def test_mw_child_visited_5_days_under_s17_and_1_day_under_s47() -> None:
    assert due_day(get(MW, [referral(at(2026, 11, 2))], at(2026, 11, 3),
                       "child_visited_s17")) == "2026-11-09"
    s47 = [referral(at(2026, 8, 28), "s47")]
    assert due_day(get(MW, s47, at(2026, 8, 28, 12), "child_visited_s47")) == "2026-09-01"
    assert "child_visited_s17" not in {d.rule for d in run(MW, s47, at(2026, 8, 28, 12))}


def test_mw_assessment_initial_15_with_extension() -> None:
    events = [referral(at(2026, 11, 2))]
    assert due_day(get(MW, events, at(2026, 11, 3), "assessment_initial_15")) == "2026-11-23"
    events.append(ev("extension_agreed", at(2026, 11, 23), until=date(2026, 12, 18),
                     reason="school holidays"))
    assert get(MW, events, at(2026, 11, 24), "assessment_initial_15").status == "met"
    assert due_day(get(MW, events, at(2026, 11, 24), "assessment_extended")) == "2026-12-18"


def test_mw_regular_reviews_after_10_and_25_working_days_then_weekly() -> None:
    events = [referral(at(2026, 11, 2)), ev("assessment_started", at(2026, 11, 4))]
    got = [(d.seq, due_day(d)) for d in run(MW, events, at(2027, 1, 1))
           if d.rule == "assessment_review"]
    # From Wed 4 Nov: day 10 Wed 18 Nov, day 25 Wed 9 Dec, then 30 (Wed 16 Dec),
    # 35 (Wed 23 Dec), 40 (Mon 4 Jan: Christmas, Boxing Day's substitute and New Year's Day
    # skipped).
    assert got == [(1, "2026-11-18"), (2, "2026-12-09"), (3, "2026-12-16"),
                   (4, "2026-12-23"), (5, "2027-01-04")]
    assert LIBRARY.get(MW).rule("assessment_review").checklist == "assessment-review"
    auth = ev("assessment_authorised", at(2026, 12, 10))
    events.append(auth)
    got = [(d.seq, d.status, d.stopped_at) for d in run(MW, events, at(2027, 1, 1))
           if d.rule == "assessment_review"]
    # "Stops when the assessment is authorised" (Thu 10 Dec): the reviews missed on 18 Nov
    # and 9 Dec stay missed, stopped; the one due Wed 16 Dec no longer applies.
    assert got == [(1, "overdue", auth.at), (2, "overdue", auth.at), (3, "cancelled", None)]
    assert not any(d.open for d in run(MW, events, at(2027, 1, 1))
                   if d.rule == "assessment_review")


def test_mw_prebirth_assessment_four_weeks_before_delivery() -> None:
    events = [ev("expected_delivery_date", at(2026, 11, 2), date=date(2027, 2, 5))]
    assert due_day(get(MW, events, at(2026, 11, 3), "prebirth_assessment")) == "2027-01-08"


def _rules_tested_per_pack() -> dict[str, set[str]]:
    """Pack name -> rule ids named in a test that also names that pack's constant (WT, NY...).

    Read from this module's syntax tree, so a rule id mentioned only under another pack's
    test (or in a comment) does not count as tested under this pack.
    """
    import ast
    import inspect
    import sys

    module = sys.modules[__name__]
    constants = {name: value for name, value in vars(module).items()
                 if isinstance(value, str) and value in LIBRARY.names() and name.isupper()}
    tree = ast.parse(inspect.getsource(module))
    out: dict[str, set[str]] = {}
    for fn in tree.body:
        if not (isinstance(fn, ast.FunctionDef) and fn.name.startswith("test_")):
            continue
        packs = {constants[n.id] for n in ast.walk(fn)
                 if isinstance(n, ast.Name) and n.id in constants}
        strings = {n.value for n in ast.walk(fn)
                   if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        for name in packs:
            out.setdefault(name, set()).update(strings)
    return out


@pytest.mark.parametrize("pack", LIBRARY.names())
def test_every_rule_of_every_pack_is_exercised_here(pack: str) -> None:
    """A rule a pack defines (or replaces) without a dated test computing it under that very
    pack fails this test; inherited rules are tested under the pack that defines them."""
    tested = _rules_tested_per_pack().get(pack, set())
    for rule in LIBRARY.files[pack].rules:
        assert rule.id in tested, f"{pack}: rule {rule.id} has no dated test under {pack}"
