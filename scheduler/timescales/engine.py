"""Events in, deadlines out: a pure function of (pack, calendar, events, now).

Conventions (timescales.md §1-3) in one place:
- events are read in order of `at`, ties broken by recording order; events after `now` are
  not yet known and are ignored; voided events are as if never logged;
- a deadline is met by the first matching event after its anchor (for `match: nth`, the
  seq-th), and met on time when that event's `at` is at or before `due`; a meeting event
  with `beyond_due` counts only if that date field falls after the due day (an extension
  must run past the deadline it meets);
- a rule's own cancelling events, a `case_closed` and, for recurring rules, a stopping event
  cancel every deadline not met before them whose due moment they came at or before; one
  already overdue when they came stays `overdue` (a missed timescale is never erased) but is
  stopped: it records the stopping event and is no longer open, so nobody is chased for it;
- a rule limited to tracks applies on the latest referral's track; before any referral, only
  rules for a statutory track (s17, s47) or any track apply: early help waits for its referral.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from .calendar import WorkingCalendar, add_months, end_of_day_utc, local_date
from .rules import Match, Pack, Rule, Unit
from .vocabulary import STATUTORY_TRACKS, Event

Status = Literal["pending", "overdue", "met", "met_late", "cancelled"]
STATUSES: tuple[Status, ...] = ("pending", "overdue", "met", "met_late", "cancelled")
MAX_REPEATS = 200  # a recurring rule never generates more than this for one anchor


@dataclass(frozen=True)
class Deadline:
    """One deadline of one case under one rule (timescales.md §3)."""

    case: str
    rule: str
    seq: int
    title: str
    due: datetime  # aware, UTC (views show it in London time)
    status: Status
    met_at: datetime | None
    met_by_event: str | None
    owner: str
    anchor_at: datetime
    anchor_event: str
    hourly: bool
    delay_reason: str | None = None
    unit: str = "working_days"  # how the rule counts, so views can say "day 9 of 10" its way
    # Set when a cancelling event came after the due moment: the deadline stays overdue
    # (missed) but is stopped, e.g. a case closed with its assessment already late.
    stopped_at: datetime | None = None
    stopped_by_event: str | None = None

    @property
    def open(self) -> bool:
        """True while the deadline still asks something of someone (not met, not stopped)."""
        return self.status in ("pending", "overdue") and self.stopped_at is None


def effective_events(events: Iterable[Event], now: datetime) -> list[Event]:
    """The events known at `now`, voids applied, in order of (at, recording order).

    A void can itself be voided, which restores what it withdrew: working back from the
    most recently recorded event, each void is applied only if it is itself still in force.
    """
    by_order = sorted(events, key=lambda e: e.order)
    voided: set[str] = set()
    for e in reversed(by_order):
        if e.type == "event_voided" and e.id not in voided and e.at <= now:
            target = e.fields.get("event_id")
            if isinstance(target, str):
                voided.add(target)
    # Instants are compared in UTC: aware datetimes sharing a zone compare by wall clock,
    # which is wrong inside the hour that repeats when the clocks go back.
    now = now.astimezone(UTC)
    kept = [
        e if e.at.tzinfo is UTC else Event(e.id, e.case, e.type, e.at.astimezone(UTC),
                                           e.fields, e.order)
        for e in by_order
        if e.id not in voided and e.type != "event_voided" and e.at <= now
    ]
    kept.sort(key=lambda e: (e.at, e.order))
    return kept


def _matches(e: Event, where: Mapping[str, Any]) -> bool:
    return all(e.fields.get(k) == v for k, v in where.items())


class _Case:
    """The effective events of one case, indexed by type, in time order."""

    def __init__(self, events: list[Event]) -> None:
        self.by_type: dict[str, list[Event]] = defaultdict(list)
        for e in events:
            self.by_type[e.type].append(e)
        referrals = self.by_type.get("referral_received")
        self.track: str | None = referrals[-1].fields.get("track") if referrals else None

    def after(self, match: Match, anchor: Event, due: datetime | None = None
              ) -> Iterable[Event]:
        """Events matching `match` that come after `anchor` (never the anchor itself);
        with `due`, a `beyond_due` date field must fall after the due moment's day."""
        beyond = match.beyond_due if due is not None else None
        due_day = local_date(due) if due is not None and beyond is not None else None
        for e in self.by_type.get(match.event, ()):
            if e.at < anchor.at or e is anchor:
                continue
            if not _matches(e, match.where):
                continue
            if any(e.fields.get(f) != anchor.fields.get(f) for f in match.same):
                continue
            if beyond is not None:
                until = e.fields.get(beyond)
                if not isinstance(until, date) or due_day is None or until <= due_day:
                    continue
            yield e

    def first_after(self, matches: Sequence[Match], anchor: Event,
                    due: datetime | None = None) -> Event | None:
        best: Event | None = None
        for m in matches:
            for e in self.after(m, anchor, due):
                if best is None or (e.at, e.order) < (best.at, best.order):
                    best = e
                break  # events are in time order: the first of each match is enough
        return best

    def nth_after(self, matches: Sequence[Match], anchor: Event, n: int,
                  due: datetime | None = None) -> Event | None:
        found = sorted(
            {id(e): e for m in matches for e in self.after(m, anchor, due)}.values(),
            key=lambda e: (e.at, e.order),
        )
        return found[n - 1] if len(found) >= n else None


def _anchors(rule: Rule, case: _Case) -> list[Event]:
    for etype in rule.anchor.events:
        found = [e for e in case.by_type.get(etype, ()) if _matches(e, rule.anchor.where)]
        if rule.due.field:  # a manager-set date rule needs its date
            found = [e for e in found if rule.due.field in e.fields]
        if found:
            if rule.anchor.pick == "first":
                return found[:1]
            if rule.anchor.pick == "latest":
                return found[-1:]
            return found
    return []


def _count(rule: Rule, case: _Case, anchor: Event) -> int:
    cf = rule.due.count_from
    if cf is not None:
        for e in reversed(case.by_type.get(cf.event, ())):
            if e.at >= anchor.at and cf.field in e.fields:
                day = int(e.fields[cf.field])
                return min(day, cf.max) if cf.max is not None else day
    assert rule.due.count is not None
    return rule.due.count


def due_at(rule: Rule, cal: WorkingCalendar, anchor: Event, count: int | None) -> datetime:
    """The due moment of `rule` for this anchor and count (timescales.md §1), in UTC.

    UTC inside the engine: comparing instants that share one zone object is fast and never
    misreads the repeated autumn hour; views show London time.
    """
    unit = rule.due.unit
    if unit is Unit.HOURS:
        assert count is not None
        # Elapsed hours: add in UTC, since aware arithmetic in a zone adds wall-clock time.
        return anchor.at.astimezone(UTC) + timedelta(hours=count)
    if unit is Unit.ON_DATE:
        assert rule.due.field is not None
        day: date = anchor.fields[rule.due.field]
        return end_of_day_utc(day)
    assert count is not None
    start = local_date(anchor.at)
    if unit is Unit.WORKING_DAYS:
        day = cal.add_working_days(start, count)
    elif unit is Unit.BY_DAY:
        day = cal.day_number(start, max(count, 1))
    elif unit is Unit.BEFORE_DAY:
        day = cal.add_working_days(start, max(count - 1, 0))
    elif unit is Unit.CALENDAR_DAYS:
        day = start + timedelta(days=count)
    elif unit is Unit.MONTHS:
        # A conference cannot be held on a Sunday or a bank holiday; stepping back to the
        # working day before keeps within the limit, where stepping forward would breach it.
        day = cal.on_or_before(add_months(start, count))
    else:  # WEEKS_BEFORE a date field of the anchor
        assert rule.due.field is not None
        target: date = anchor.fields[rule.due.field]
        day = cal.on_or_before(target - timedelta(weeks=count))
    return end_of_day_utc(day)


def _schedule(rule: Rule, k: int) -> int:
    """The count of the k-th occurrence of a scheduled rule (1-based)."""
    sched = rule.due.schedule
    if k <= len(sched):
        return sched[k - 1]
    step = rule.due.then_every
    if step is None:
        raise IndexError(k)
    return sched[-1] + step * (k - len(sched))


class _Builder:
    """Builds the deadlines of one case; split from the loop for readability."""

    def __init__(self, case_ref: str, case: _Case, cal: WorkingCalendar, now: datetime) -> None:
        self.ref = case_ref
        self.case = case
        self.cal = cal
        self.now = now
        self.closures = case.by_type.get("case_closed", [])
        self.reasons: dict[str, str] = {}
        for e in case.by_type.get("delay_reason", ()):
            self.reasons[str(e.fields.get("rule"))] = str(e.fields.get("reason"))

    def _canceller(self, rule: Rule, anchor: Event, extra: Sequence[Match] = ()) -> Event | None:
        candidates = [c for c in self.closures if c.at >= anchor.at]
        found = self.case.first_after(tuple(rule.cancelled_by) + tuple(extra), anchor)
        if found is not None:
            candidates.append(found)
        return min(candidates, key=lambda e: (e.at, e.order)) if candidates else None

    def make(
        self, rule: Rule, seq: int, anchor: Event, due: datetime,
        met: Event | None, cancel: Event | None,
    ) -> Deadline:
        status: Status
        stop: Event | None = None
        if met is not None and (cancel is None or (met.at, met.order) <= (cancel.at, cancel.order)):
            status = "met" if met.at <= due else "met_late"
        elif cancel is not None and cancel.at <= due:
            status, met = "cancelled", None
        elif cancel is not None:
            # Already overdue when cancelled: still missed (a breach stays on the record),
            # but stopped, so no one is reminded about a closed case.
            status, met, stop = "overdue", None, cancel
        else:
            status, met = ("pending" if self.now <= due else "overdue"), None
        return Deadline(
            case=self.ref,
            rule=rule.id,
            seq=seq,
            title=rule.title,
            due=due,
            status=status,
            met_at=met.at if met is not None else None,
            met_by_event=met.id if met is not None else None,
            owner=rule.owner,
            anchor_at=anchor.at,
            anchor_event=anchor.id,
            hourly=rule.hourly,
            delay_reason=self.reasons.get(rule.id),
            unit=rule.due.unit.value,
            stopped_at=stop.at if stop is not None else None,
            stopped_by_event=stop.id if stop is not None else None,
        )

    def applies(self, rule: Rule) -> bool:
        """Whether the rule's tracks admit this case (timescales.md §4 "Track")."""
        if rule.tracks == "any":
            return True
        if self.case.track is None:
            # No referral yet: the case is heading for a statutory assessment unless a
            # referral says early help, so early-help-only rules wait for that referral.
            return any(t in STATUTORY_TRACKS for t in rule.tracks)
        return self.case.track in rule.tracks

    def rule(self, rule: Rule) -> list[Deadline]:
        if not self.applies(rule):
            return []
        anchors = _anchors(rule, self.case)
        if not anchors:
            return []
        if rule.due.schedule:
            return self._scheduled(rule, anchors[-1])
        out = []
        for seq, anchor in enumerate(anchors, start=1):
            due = due_at(rule, self.cal, anchor, _count(rule, self.case, anchor)
                         if rule.due.unit is not Unit.ON_DATE else None)
            met = self.case.first_after(rule.met_by, anchor, due)
            out.append(self.make(rule, seq, anchor, due, met, self._canceller(rule, anchor)))
        return out

    def _scheduled(self, rule: Rule, anchor: Event) -> list[Deadline]:
        cancel = self._canceller(rule, anchor, rule.stops_on)
        horizon = min(self.now, cancel.at) if cancel is not None else self.now
        out: list[Deadline] = []
        for k in range(1, MAX_REPEATS + 1):
            try:
                count = _schedule(rule, k)
            except IndexError:
                break
            due = due_at(rule, self.cal, anchor, count)
            met = (self.case.nth_after(rule.met_by, anchor, k, due) if rule.match == "nth"
                   else self.case.first_after(rule.met_by, anchor, due))
            out.append(self.make(rule, k, anchor, due, met, cancel))
            if due >= horizon:
                break
        return out


def compute_case(
    pack: Pack, cal: WorkingCalendar, case_ref: str, events: Iterable[Event], now: datetime
) -> list[Deadline]:
    """Every deadline of one case at `now`, sorted by due moment."""
    now = now.astimezone(UTC)
    case = _Case(effective_events(events, now))
    builder = _Builder(case_ref, case, cal, now)
    out: list[Deadline] = []
    for rule in pack.rules:
        out.extend(builder.rule(rule))
    out.sort(key=lambda d: (d.due, d.rule, d.seq))
    return out


def compute_deadlines(
    pack: Pack, cal: WorkingCalendar, events: Iterable[Event], now: datetime
) -> list[Deadline]:
    """Deadlines for every case the events belong to; cases never influence each other."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    by_case: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        by_case[e.case].append(e)
    out: list[Deadline] = []
    for ref in sorted(by_case):
        out.extend(compute_case(pack, cal, ref, by_case[ref], now))
    return out
