"""Invariants of the engine over random cases, for every built-in pack (hypothesis)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.packs import PackLibrary
from scheduler.timescales.calendar import LONDON, add_months, local_date
from scheduler.timescales.engine import compute_case, compute_deadlines, due_at, effective_events
from scheduler.timescales.rules import Unit
from scheduler.timescales.vocabulary import EVENT_TYPES, TRACKS, Event, FieldKind

LIBRARY = PackLibrary()
PACKS = LIBRARY.names()
START = datetime(2026, 1, 5, 9, 0, tzinfo=LONDON)
NOW = START + timedelta(days=200)
TYPES = sorted(t for t in EVENT_TYPES if t not in ("event_voided",))
# Months too: "N months after" steps back to a working day (timescales.md §1).
WORKING_UNITS = (Unit.WORKING_DAYS, Unit.BY_DAY, Unit.BEFORE_DAY, Unit.MONTHS)


def _fields(type_name: str, rnd: random.Random) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, spec in EVENT_TYPES[type_name].fields.items():
        if not spec.required and rnd.random() < 0.4:
            continue
        if spec.kind is FieldKind.BOOL:
            out[name] = rnd.random() < 0.5
        elif spec.kind is FieldKind.CHOICE:
            out[name] = rnd.choice(spec.choices)
        elif spec.kind is FieldKind.DATE:
            out[name] = date(2026, 1, 5) + timedelta(days=rnd.randrange(0, 300))
        elif spec.kind is FieldKind.INT:
            out[name] = rnd.randrange(1, 15)
        elif name == "rule":
            out[name] = rnd.choice(["assessment_45", "icpc_15", "child_visited"])
        elif name == "agency":
            out[name] = rnd.choice(["police", "health", "school"])
        else:
            out[name] = "text"
    return out


@st.composite
def case_events(draw: st.DrawFn, case: str = "123456") -> list[Event]:
    """A referral (or, sometimes, only a contact: no referral yet) then up to 14 events of any
    type at random times over ~6 months, then up to 3 voids, of events or of earlier voids."""
    seed = draw(st.integers(0, 2**32 - 1))
    rnd = random.Random(seed)
    track = draw(st.sampled_from((*TRACKS, None)))
    first = (Event("r0", case, "referral_received", START, {"track": track}, 0) if track
             else Event("c0", case, "contact_received", START, {}, 0))
    events = [first]
    for i in range(1, draw(st.integers(0, 14)) + 1):
        t = draw(st.sampled_from(TYPES))
        at = START + timedelta(minutes=draw(st.integers(-3000, 180 * 24 * 60)))
        events.append(Event(f"x{i}", case, t, at, _fields(t, rnd), i))
    for j in range(draw(st.integers(0, 3))):
        target = events[draw(st.integers(0, len(events) - 1))]
        # A void comes at or after what it withdraws (the store refuses one before it).
        at = target.at + timedelta(minutes=draw(st.integers(0, 20 * 24 * 60)))
        events.append(Event(f"w{j}", case, "event_voided", at,
                            {"event_id": target.id, "reason": "mistake"}, 100 + j))
    return events


PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("name", PACKS)
@PROPS
@given(events=case_events())
def test_working_day_due_dates_are_working_days_never_before_the_anchor(
    name: str, events: list[Event]
) -> None:
    pack, cal = LIBRARY.get(name), LIBRARY.calendar(name)
    units = {r.id: r.due.unit for r in pack.rules}
    for d in compute_case(pack, cal, "123456", events, NOW):
        if units[d.rule] in WORKING_UNITS:
            assert cal.is_working_day(local_date(d.due)), d
            assert local_date(d.due) >= local_date(d.anchor_at), d
        assert d.due.tzinfo is not None
        if d.status in ("met", "met_late"):
            assert d.met_at is not None and d.met_by_event is not None
            assert (d.status == "met") == (d.met_at <= d.due)


@pytest.mark.parametrize("name", PACKS)
@PROPS
@given(events=case_events(), other=case_events(case="999999"))
def test_events_of_an_unrelated_case_change_nothing(
    name: str, events: list[Event], other: list[Event]
) -> None:
    pack, cal = LIBRARY.get(name), LIBRARY.calendar(name)
    other = [Event("o" + e.id, e.case, e.type, e.at,
                   {**e.fields, "event_id": "o" + e.fields["event_id"]}
                   if e.type == "event_voided" else e.fields, e.order + 1000) for e in other]
    alone = compute_deadlines(pack, cal, events, NOW)
    mixed = [d for d in compute_deadlines(pack, cal, events + other, NOW) if d.case == "123456"]
    assert mixed == alone


@pytest.mark.parametrize("name", PACKS)
@PROPS
@given(events=case_events(), pick=st.integers(0, 100), data=st.data())
def test_voiding_an_event_is_the_same_as_never_logging_it(
    name: str, events: list[Event], pick: int, data: st.DataObject
) -> None:
    pack, cal = LIBRARY.get(name), LIBRARY.calendar(name)
    target = events[pick % len(events)]
    void_at = max(e.at for e in events) + timedelta(minutes=data.draw(st.integers(0, 600)))
    void = Event("v1", "123456", "event_voided", min(void_at, NOW),
                 {"event_id": target.id, "reason": "wrong case"}, 10_000)
    without = [e for e in events if e is not target]
    assert compute_case(pack, cal, "123456", [*events, void], NOW) == compute_case(
        pack, cal, "123456", without, NOW)


@pytest.mark.parametrize("name", PACKS)
@PROPS
@given(events=case_events(), shuffle_seed=st.integers(0, 1000))
def test_recomputation_is_idempotent_and_ignores_input_order(
    name: str, events: list[Event], shuffle_seed: int
) -> None:
    pack, cal = LIBRARY.get(name), LIBRARY.calendar(name)
    first = compute_case(pack, cal, "123456", events, NOW)
    shuffled = events[:]
    random.Random(shuffle_seed).shuffle(shuffled)
    assert compute_case(pack, cal, "123456", shuffled, NOW) == first
    assert compute_case(pack, cal, "123456", events, NOW) == first


@pytest.mark.parametrize("name", PACKS)
@PROPS
@given(events=case_events(), gap=st.integers(1, 30 * 24 * 60))
def test_a_closure_cancels_what_was_pending_and_stops_what_was_overdue(
    name: str, events: list[Event], gap: int
) -> None:
    # timescales.md §2: a case_closed cancels every pending deadline; one already overdue
    # stays overdue (the breach is kept) but is stopped; met, cancelled and stopped ones
    # are untouched.
    pack, cal = LIBRARY.get(name), LIBRARY.calendar(name)
    closed_at = min(max(e.at for e in events) + timedelta(minutes=gap), NOW)
    before = {(d.rule, d.seq): d for d in compute_case(pack, cal, "123456", events, closed_at)}
    closure = Event("close", "123456", "case_closed", closed_at, {"reason": "nfa"}, 50_000)
    after = {(d.rule, d.seq): d
             for d in compute_case(pack, cal, "123456", [*events, closure], NOW)}
    assert after.keys() == before.keys()
    for key, was in before.items():
        now = after[key]
        assert not now.open, now
        if not was.open:
            assert now == was
        elif was.status == "pending":
            assert now.status == "cancelled" and now.stopped_at is None, now
        else:
            assert (now.status, now.stopped_at, now.stopped_by_event) == (
                "overdue", closed_at.astimezone(UTC), "close"), now
            assert now.due < now.stopped_at


@pytest.mark.parametrize("name", PACKS)
@PROPS
@given(events=case_events())
def test_track_limited_rules_follow_the_latest_referral_and_early_help_waits_for_one(
    name: str, events: list[Event]
) -> None:
    pack, cal = LIBRARY.get(name), LIBRARY.calendar(name)
    referrals = [e for e in effective_events(events, NOW) if e.type == "referral_received"]
    track = referrals[-1].fields["track"] if referrals else None
    for d in compute_case(pack, cal, "123456", events, NOW):
        tracks = pack.rule(d.rule).tracks
        if tracks == "any":
            continue
        if track is None:  # no referral yet: a statutory assessment is what may follow
            assert {"s17", "s47"} & set(tracks), d
        else:
            assert track in tracks, d


MONTH_RULES = [(name, r.id) for name in PACKS for r in LIBRARY.get(name).rules
               if r.due.unit is Unit.MONTHS]


@pytest.mark.parametrize(("name", "rule_id"), MONTH_RULES)
@PROPS
@given(anchor_day=st.dates(date(2000, 1, 1), date(2058, 12, 31)), months=st.integers(1, 24),
       hour=st.integers(0, 23))
def test_n_months_after_is_the_last_working_day_on_or_before_the_calendar_date(
    name: str, rule_id: str, anchor_day: date, months: int, hour: int
) -> None:
    # timescales.md §1 "N months after X": never a Sunday or bank holiday (or closure day),
    # never later than the same day N months on, and no working day skipped in between.
    pack, cal = LIBRARY.get(name), LIBRARY.calendar(name)
    anchor_at = datetime(anchor_day.year, anchor_day.month, anchor_day.day, hour,
                         tzinfo=LONDON)
    anchor = Event("a1", "123456", pack.rule(rule_id).anchor.events[0], anchor_at, {}, 1)
    due = local_date(due_at(pack.rule(rule_id), cal, anchor, months))
    limit = add_months(anchor_day, months)
    assert cal.is_working_day(due)
    assert anchor_day < due <= limit
    assert cal.working_days(due, limit) == [due]
