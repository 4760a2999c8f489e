"""The counting conventions of timescales.md §1-3, each on real dates."""

from datetime import date

from tests.builders import at, deadlines, ev, local, one, pack, rule

WD45 = rule("assessment_45", {"unit": "working_days", "count": 45}, "referral_received",
            "assessment_authorised", owner="manager")


def test_within_45_working_days_day_0_is_the_referral_date() -> None:
    p = pack(WD45)
    d = one(p, [ev("referral_received", at(2023, 4, 3), track="s17")], at(2023, 4, 4))
    assert local(d) == "2023-06-12T23:59:59+01:00"
    assert d.status == "pending"


def test_referral_on_a_saturday_counts_monday_as_day_1() -> None:
    p = pack(rule("r", {"unit": "working_days", "count": 1}, "referral_received", "child_seen"))
    d = one(p, [ev("referral_received", at(2026, 11, 21), track="s17")], at(2026, 11, 21, 12))
    assert local(d) == "2026-11-23T23:59:59+00:00"


def test_by_day_counts_the_referral_as_day_1() -> None:
    # Suffolk: "by day 20" is 19 working days after a working-day referral.
    p = pack(rule("r", {"unit": "by_day", "count": 20}, "referral_received",
                  "assessment_authorised"))
    d = one(p, [ev("referral_received", at(2026, 11, 2), track="s17")], at(2026, 11, 2, 12))
    assert local(d) == "2026-11-27T23:59:59+00:00"  # Mon 2 Nov = day 1, Fri 27 Nov = day 20


def test_by_day_on_a_weekend_referral_starts_day_1_on_monday() -> None:
    p = pack(rule("r", {"unit": "by_day", "count": 2}, "referral_received",
                  "management_decision"))
    d = one(p, [ev("referral_received", at(2026, 11, 21), track="s17")], at(2026, 11, 21, 12))
    assert local(d) == "2026-11-24T23:59:59+00:00"  # Mon 23 = day 1, Tue 24 = day 2


def test_before_day_10_is_end_of_working_day_9() -> None:
    # North Yorkshire "prior to day 10", day 0 = referral Mon 2 Nov 2026: day 9 is Fri 13 Nov.
    p = pack(rule("r", {"unit": "before_day", "count": 10}, "referral_received",
                  "assessment_review_held"))
    d = one(p, [ev("referral_received", at(2026, 11, 2), track="s17")], at(2026, 11, 2, 12))
    assert local(d) == "2026-11-13T23:59:59+00:00"


def test_24_hours_across_the_october_clock_change_is_elapsed_time() -> None:
    # Clocks go back 02:00 BST Sun 25 Oct 2026: 24 elapsed hours after 10:00 BST Sat is
    # 09:00 GMT on Sunday, one hour earlier on the wall clock.
    p = pack(rule("seen", {"unit": "hours", "count": 24}, "referral_received", "child_seen"))
    d = one(p, [ev("referral_received", at(2026, 10, 24, 10), track="s47")], at(2026, 10, 24, 11))
    assert local(d) == "2026-10-25T09:00:00+00:00"


def test_24_hours_across_the_march_clock_change_is_elapsed_time() -> None:
    # Clocks go forward 01:00 GMT Sun 29 Mar 2026: 24 hours after 10:00 GMT Sat is 11:00 BST.
    p = pack(rule("seen", {"unit": "hours", "count": 24}, "referral_received", "child_seen"))
    d = one(p, [ev("referral_received", at(2026, 3, 28, 10), track="s47")], at(2026, 3, 28, 11))
    assert local(d) == "2026-03-29T11:00:00+01:00"


def test_met_exactly_at_due_is_met_and_one_second_later_is_met_late() -> None:
    p = pack(rule("seen", {"unit": "hours", "count": 24}, "referral_received", "child_seen"))
    ref = ev("referral_received", at(2026, 11, 2, 10), track="s47")
    on_time = ev("child_seen", at(2026, 11, 3, 10))
    assert one(p, [ref, on_time], at(2026, 11, 4)).status == "met"
    late = ev("child_seen", at(2026, 11, 3, 10, 1))
    d = one(p, [ref, late], at(2026, 11, 4))
    assert d.status == "met_late" and d.met_by_event == late.id


def test_pending_until_due_then_overdue() -> None:
    p = pack(WD45)
    events = [ev("referral_received", at(2023, 4, 3), track="s17")]
    assert one(p, events, at(2023, 6, 12, 23, 59)).status == "pending"
    assert one(p, events, at(2023, 6, 13, 0, 0)).status == "overdue"


def test_first_event_after_the_anchor_meets_it() -> None:
    p = pack(rule("seen", {"unit": "working_days", "count": 5}, "referral_received",
                  "child_seen"))
    before = ev("child_seen", at(2026, 10, 1))  # a visit before this referral does not count
    ref = ev("referral_received", at(2026, 11, 2), track="s17")
    first = ev("child_seen", at(2026, 11, 4))
    second = ev("child_seen", at(2026, 11, 5))
    d = one(p, [before, ref, second, first], at(2026, 11, 20))
    assert d.met_by_event == first.id


def test_latest_anchor_moves_with_a_new_strategy_discussion() -> None:
    p = pack(rule("icpc_15", {"unit": "working_days", "count": 15},
                  {"event": "strategy_discussion_held", "pick": "latest"}, "icpc_held"))
    events = [ev("strategy_discussion_held", at(2026, 11, 2)),
              ev("strategy_discussion_held", at(2026, 11, 9))]
    assert local(one(p, events, at(2026, 11, 10))) == "2026-11-30T23:59:59+00:00"


def test_first_anchor_stays_with_the_initial_strategy_discussion() -> None:
    p = pack(rule("icpc_15", {"unit": "working_days", "count": 15},
                  {"event": "strategy_discussion_held", "pick": "first"}, "icpc_held"))
    events = [ev("strategy_discussion_held", at(2026, 11, 2)),
              ev("strategy_discussion_held", at(2026, 11, 9))]
    assert local(one(p, events, at(2026, 11, 10))) == "2026-11-23T23:59:59+00:00"


def test_fallback_anchor_uses_contact_else_referral() -> None:
    p = pack(rule("seen", {"unit": "working_days", "count": 5},
                  {"events": ["contact_received", "referral_received"]}, "child_seen"))
    only_ref = [ev("referral_received", at(2026, 11, 4), track="s17")]
    assert local(one(p, only_ref, at(2026, 11, 5))) == "2026-11-11T23:59:59+00:00"
    with_contact = [ev("contact_received", at(2026, 11, 2)), *only_ref]
    assert local(one(p, with_contact, at(2026, 11, 5))) == "2026-11-09T23:59:59+00:00"


def test_cancelled_by_icpc_not_required() -> None:
    p = pack(rule("icpc_15", {"unit": "working_days", "count": 15}, "strategy_discussion_held",
                  "icpc_held",
                  cancelled_by=[{"event": "s47_outcome", "where": {"icpc_required": False}}]))
    sd = ev("strategy_discussion_held", at(2026, 11, 2))
    needed = ev("s47_outcome", at(2026, 11, 6), icpc_required=True)
    assert one(p, [sd, needed], at(2026, 11, 9)).status == "pending"
    not_needed = ev("s47_outcome", at(2026, 11, 6), icpc_required=False)
    assert one(p, [sd, not_needed], at(2026, 11, 9)).status == "cancelled"


def test_case_closed_cancels_everything_not_yet_met() -> None:
    p = pack(WD45, rule("seen", {"unit": "working_days", "count": 5}, "referral_received",
                        "child_seen"))
    events = [ev("referral_received", at(2026, 11, 2), track="s17"),
              ev("child_seen", at(2026, 11, 3)),
              ev("case_closed", at(2026, 11, 20), reason="nfa")]
    got = {d.rule: d.status for d in deadlines(p, events, at(2027, 3, 1))}
    assert got == {"seen": "met", "assessment_45": "cancelled"}


def test_closure_after_the_due_day_keeps_the_breach_but_stops_chasing_it() -> None:
    # Referral Mon 2 Nov 2026; child to be seen within 5 WD, by Mon 9 Nov. Closed Wed 11 Nov.
    p = pack(rule("seen", {"unit": "working_days", "count": 5}, "referral_received",
                  "child_seen"))
    ref = ev("referral_received", at(2026, 11, 2), track="s17")
    closed = ev("case_closed", at(2026, 11, 11), reason="moved out of area")
    d = one(p, [ref, closed], at(2026, 11, 20))
    assert (d.status, d.stopped_at, d.stopped_by_event) == ("overdue", closed.at, closed.id)
    assert not d.open  # no reminders, digests or escalations for a closed case
    # Closed on the due day itself, before its end: the deadline never fell due, cancelled.
    on_the_day = ev("case_closed", at(2026, 11, 9, 23, 59), reason="nfa")
    d = one(p, [ref, on_the_day], at(2026, 11, 20))
    assert (d.status, d.stopped_at, d.open) == ("cancelled", None, False)


def test_voiding_a_mistaken_closure_reopens_the_missed_deadline() -> None:
    p = pack(rule("seen", {"unit": "working_days", "count": 5}, "referral_received",
                  "child_seen"))
    ref = ev("referral_received", at(2026, 11, 2), track="s17")
    closed = ev("case_closed", at(2026, 11, 11), reason="wrong case")
    void = ev("event_voided", at(2026, 11, 12), event_id=closed.id, reason="wrong case")
    d = one(p, [ref, closed, void], at(2026, 11, 20))
    assert (d.status, d.stopped_at, d.open) == ("overdue", None, True)


def test_a_rule_cancelled_after_its_due_moment_stays_overdue_and_stopped() -> None:
    # ICPC within 15 WD of the strategy discussion Mon 2 Nov 2026: by Mon 23 Nov. The s47
    # outcome "no conference needed" came on Wed 25 Nov, after the conference was due.
    p = pack(rule("icpc_15", {"unit": "working_days", "count": 15}, "strategy_discussion_held",
                  "icpc_held",
                  cancelled_by=[{"event": "s47_outcome", "where": {"icpc_required": False}}]))
    sd = ev("strategy_discussion_held", at(2026, 11, 2))
    late = ev("s47_outcome", at(2026, 11, 25), icpc_required=False)
    d = one(p, [sd, late], at(2026, 11, 30))
    assert d.status == "overdue" and d.stopped_by_event == late.id and not d.open


def test_day_rule_met_at_23_59_59_on_the_due_day_is_met_and_at_midnight_late() -> None:
    # Referral Mon 2 Nov 2026, 5 WD: due end of Mon 9 Nov, 23:59:59 London time.
    p = pack(rule("seen", {"unit": "working_days", "count": 5}, "referral_received",
                  "child_seen"))
    ref = ev("referral_received", at(2026, 11, 2), track="s17")
    last_second = ev("child_seen", at(2026, 11, 9, 23, 59).replace(second=59))
    assert one(p, [ref, last_second], at(2026, 11, 12)).status == "met"
    midnight = ev("child_seen", at(2026, 11, 10, 0, 0))
    assert one(p, [ref, midnight], at(2026, 11, 12)).status == "met_late"
    # In summer time too: the end of the day is 23:59:59 BST, not GMT.
    ref_bst = ev("referral_received", at(2026, 6, 1), track="s17")
    bst_last = ev("child_seen", at(2026, 6, 8, 23, 59).replace(second=59))
    assert one(p, [ref_bst, bst_last], at(2026, 6, 12)).status == "met"
    assert one(p, [ref_bst, ev("child_seen", at(2026, 6, 9, 0, 0))],
               at(2026, 6, 12)).status == "met_late"


def test_one_working_day_over_christmas_2027_and_new_year_2028() -> None:
    # 25 Dec 2027 is a Saturday: Christmas moves to Mon 27 and Boxing Day to Tue 28 Dec.
    p = pack(rule("referral_decision", {"unit": "working_days", "count": 1}, "contact_received",
                  "referral_received"))
    d = one(p, [ev("contact_received", at(2027, 12, 24, 16))], at(2027, 12, 24, 17))
    assert local(d) == "2027-12-29T23:59:59+00:00"  # Wed 29 Dec
    # 1 Jan 2028 is a Saturday: the substitute bank holiday is Mon 3 Jan.
    d = one(p, [ev("contact_received", at(2027, 12, 31, 16))], at(2027, 12, 31, 17))
    assert local(d) == "2028-01-04T23:59:59+00:00"  # Tue 4 Jan


def test_before_any_referral_early_help_rules_wait_and_statutory_ones_apply() -> None:
    # A contact, then allocation, with no referral yet: the case is heading for a statutory
    # assessment, so rules for early help alone do not start.
    eh = rule("eh_family_contact", {"unit": "working_days", "count": 3}, "allocated",
              "family_contacted", tracks=["early_help"])
    s47 = rule("s47_visit", {"unit": "working_days", "count": 1}, "allocated", "child_seen",
               tracks=["s47"])
    anyone = rule("any_visit", {"unit": "working_days", "count": 8}, "allocated", "child_seen",
                  tracks="any")
    p = pack(eh, s47, anyone)
    events = [ev("contact_received", at(2026, 11, 2, 10)),
              ev("allocated", at(2026, 11, 2, 11), worker="jo")]
    assert {d.rule for d in deadlines(p, events, at(2026, 11, 3, 9))} == {"s47_visit",
                                                                        "any_visit"}
    events.append(ev("referral_received", at(2026, 11, 3, 10), track="early_help"))
    assert {d.rule for d in deadlines(p, events, at(2026, 11, 3, 11))} == {"eh_family_contact",
                                                                         "any_visit"}


def test_a_new_referral_after_closure_starts_fresh_deadlines() -> None:
    p = pack(WD45)
    events = [ev("referral_received", at(2026, 9, 1), track="s17"),
              ev("case_closed", at(2026, 9, 10), reason="nfa"),
              ev("referral_received", at(2026, 11, 2), track="s17")]
    d = one(p, events, at(2026, 11, 3))
    # 45 working days from Mon 2 Nov 2026 over Christmas (Fri 25, Mon 28 Dec, Fri 1 Jan).
    assert d.status == "pending" and local(d).startswith("2027-01-07")


def test_voided_event_is_as_if_never_logged() -> None:
    p = pack(WD45)
    ref = ev("referral_received", at(2026, 11, 2), track="s17")
    wrong = ev("assessment_authorised", at(2026, 11, 10))
    void = ev("event_voided", at(2026, 11, 11), event_id=wrong.id, reason="wrong case")
    assert one(p, [ref, wrong], at(2026, 11, 12)).status == "met"
    assert one(p, [ref, wrong, void], at(2026, 11, 12)) == one(p, [ref], at(2026, 11, 12))


def test_voiding_a_void_restores_the_event() -> None:
    p = pack(WD45)
    ref = ev("referral_received", at(2026, 11, 2), track="s17")
    auth = ev("assessment_authorised", at(2026, 11, 10))
    void = ev("event_voided", at(2026, 11, 11), event_id=auth.id, reason="thought wrong")
    unvoid = ev("event_voided", at(2026, 11, 12), event_id=void.id, reason="it was right")
    assert one(p, [ref, auth, void, unvoid], at(2026, 11, 13)).status == "met"


def test_track_filter_reads_the_latest_referral() -> None:
    s47_only = rule("seen", {"unit": "hours", "count": 24}, "referral_received", "child_seen",
                    tracks=["s47"])
    p = pack(s47_only)
    s17 = ev("referral_received", at(2026, 11, 2), track="s17")
    assert deadlines(p, [s17], at(2026, 11, 3)) == []
    s47 = ev("referral_received", at(2026, 11, 4), track="s47")
    assert one(p, [s17, s47], at(2026, 11, 4, 12)).status == "pending"


def test_baseline_rules_do_not_apply_to_early_help() -> None:
    p = pack(WD45)  # default tracks: s17 and s47
    assert deadlines(p, [ev("referral_received", at(2026, 11, 2), track="early_help")],
                     at(2026, 11, 3)) == []


def test_recurring_reviews_after_10_then_25_then_every_5_until_authorised() -> None:
    p = pack(rule("assessment_review",
                  {"unit": "working_days", "schedule": [10, 25], "then_every": 5},
                  {"events": ["assessment_started", "referral_received"]},
                  "assessment_review_held", match="nth",
                  stops_on=[{"event": "assessment_authorised"}], owner="manager"))
    ref = ev("referral_received", at(2026, 9, 1), track="s17")  # Tue 1 Sep 2026
    r1 = ev("assessment_review_held", at(2026, 9, 14))
    r2 = ev("assessment_review_held", at(2026, 10, 8))
    events = [ref, r1, r2]
    got = [(d.seq, local(d)[:10], d.status) for d in deadlines(p, events, at(2026, 10, 20))]
    assert got == [
        (1, "2026-09-15", "met"),       # 10 WD
        (2, "2026-10-06", "met_late"),  # 25 WD, review on 8 Oct
        (3, "2026-10-13", "overdue"),   # 30 WD
        (4, "2026-10-20", "pending"),   # 35 WD: the next one, nothing further yet
    ]
    auth = ev("assessment_authorised", at(2026, 10, 16))
    events.append(auth)
    got = [(d.seq, d.status, d.stopped_at, d.open) for d in deadlines(p, events, at(2026, 11, 30))]
    # Authorised Fri 16 Oct: review 3, missed on Tue 13 Oct, stays missed but is stopped;
    # review 4 (due Tue 20 Oct, still in flight) no longer applies; no review 5.
    assert got == [(1, "met", None, False), (2, "met_late", None, False),
                   (3, "overdue", auth.at, False), (4, "cancelled", None, False)]


def test_each_anchor_gives_its_own_deadline_for_each_agency() -> None:
    p = pack(rule("agency_info", {"unit": "on_date", "field": "by"},
                  {"event": "agency_info_requested", "pick": "each"},
                  [{"event": "agency_info_received", "same": ["agency"]}]))
    events = [ev("agency_info_requested", at(2026, 11, 2), agency="police", by=date(2026, 12, 4)),
              ev("agency_info_requested", at(2026, 11, 2), agency="health", by=date(2026, 12, 1)),
              ev("agency_info_received", at(2026, 11, 20), agency="health")]
    got = {(d.seq, local(d)[:10], d.status) for d in deadlines(p, events, at(2026, 12, 2))}
    assert got == {(1, "2026-12-04", "pending"), (2, "2026-12-01", "met")}


def test_extension_meets_the_rule_and_sets_a_new_deadline_on_its_until_date() -> None:
    p = pack(rule("assessment_initial_15", {"unit": "working_days", "count": 15},
                  "referral_received",
                  [{"event": "assessment_completed"}, {"event": "extension_agreed"}]),
             rule("assessment_extended", {"unit": "on_date", "field": "until"},
                  "extension_agreed", "assessment_completed"))
    events = [ev("referral_received", at(2026, 11, 2), track="s17"),
              ev("extension_agreed", at(2026, 11, 19), until=date(2027, 1, 29),
                 reason="awaiting health information")]
    got = {d.rule: (local(d)[:10], d.status) for d in deadlines(p, events, at(2026, 12, 1))}
    assert got == {"assessment_initial_15": ("2026-11-23", "met"),
                   "assessment_extended": ("2027-01-29", "pending")}


def test_manager_set_day_number_overrides_the_default() -> None:
    p = pack(rule("child_seen", {"unit": "by_day", "count": 7, "count_from":
                                 {"event": "management_decision", "field": "seen_by_day"}},
                  "referral_received", [{"event": "child_seen", "where": {"home_visited": True}}]))
    ref = ev("referral_received", at(2026, 11, 2), track="s17")
    assert local(one(p, [ref], at(2026, 11, 2, 12)))[:10] == "2026-11-10"  # day 7
    md = ev("management_decision", at(2026, 11, 2, 11), seen_by_day=3)
    assert local(one(p, [ref, md], at(2026, 11, 2, 12)))[:10] == "2026-11-04"  # day 3
    not_home = ev("child_seen", at(2026, 11, 3), home_visited=False)
    assert one(p, [ref, md, not_home], at(2026, 11, 3, 12)).status == "pending"


def test_weeks_before_expected_delivery_date_steps_back_to_a_working_day() -> None:
    p = pack(rule("prebirth_assessment", {"unit": "weeks_before", "count": 4, "field": "date"},
                  "expected_delivery_date", "assessment_completed"))
    # EDD Mon 26 Apr 2027: four weeks before is Mon 29 Mar 2027, Easter Monday, and
    # Good Friday 26 Mar is a bank holiday too: due Thu 25 Mar.
    events = [ev("expected_delivery_date", at(2026, 12, 1), date=date(2027, 4, 26))]
    assert local(one(p, events, at(2026, 12, 2)))[:10] == "2027-03-25"


def test_months_are_calendar_months_from_the_conference() -> None:
    p = pack(rule("review_conference_first", {"unit": "months", "count": 3},
                  {"event": "icpc_held", "where": {"cp_plan": True}}, "review_conference_held"))
    no_plan = [ev("icpc_held", at(2026, 11, 30), cp_plan=False)]
    assert deadlines(p, no_plan, at(2026, 12, 1)) == []
    # 30 Nov 2026 + 3 months is 28 Feb 2027 (clamped to the month's end), a Sunday: a
    # conference cannot be held then, so it is due the working day before, Fri 26 Feb.
    plan = [ev("icpc_held", at(2026, 11, 30), cp_plan=True)]
    assert local(one(p, plan, at(2026, 12, 1))) == "2027-02-26T23:59:59+00:00"


def test_months_landing_on_easter_monday_step_back_over_good_friday() -> None:
    # 29 Dec 2026 + 3 months is Mon 29 Mar 2027, Easter Monday; Fri 26 Mar is Good Friday:
    # due Thu 25 Mar 2027.
    p = pack(rule("review_conference_first", {"unit": "months", "count": 3},
                  {"event": "icpc_held", "where": {"cp_plan": True}}, "review_conference_held"))
    plan = [ev("icpc_held", at(2026, 12, 29), cp_plan=True)]
    d = one(p, plan, at(2027, 1, 4))
    assert local(d) == "2027-03-25T23:59:59+00:00" and d.status == "pending"
    held = ev("review_conference_held", at(2027, 3, 29, 10))  # on Easter Monday itself: late
    assert one(p, [*plan, held], at(2027, 3, 30)).status == "met_late"


def test_events_after_now_are_not_yet_known() -> None:
    p = pack(WD45)
    events = [ev("referral_received", at(2026, 11, 2), track="s17"),
              ev("assessment_authorised", at(2026, 12, 1))]
    assert one(p, events, at(2026, 11, 20)).status == "pending"
    assert one(p, events, at(2026, 12, 2)).status == "met"


def test_delay_reason_is_attached_to_its_rule() -> None:
    p = pack(WD45)
    events = [ev("referral_received", at(2026, 9, 1), track="s17"),
              ev("delay_reason", at(2026, 11, 5), rule="assessment_45",
                 reason="awaiting police checks")]
    d = one(p, events, at(2026, 11, 6))
    assert d.status == "overdue" and d.delay_reason == "awaiting police checks"
