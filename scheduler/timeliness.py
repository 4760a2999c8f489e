"""Timeliness: how many deadlines due in a period were met on time, late, or missed.

Pure counting over stored deadline facts (no I/O): `bot/report_commands.py` reads the facts
and renders the report. Every deadline due in the period falls in exactly one outcome, so the
outcomes of a row always add up to its `due`.

The DfE's two headline measures are rules of the baseline pack: `assessment_45` (authorised
within 45 working days of referral) and `icpc_15` (initial conference within 15 working days
of the strategy discussion). Working days are counted by the engine's calendar, so a bank
holiday or a closure day of the team's pack is never a day taken.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple

from scheduler.timescales.calendar import WorkingCalendar, end_of_day_utc, local_date

ASSESSMENT_RULE = "assessment_45"
CONFERENCE_RULE = "icpc_15"
DFE_RULES = (ASSESSMENT_RULE, CONFERENCE_RULE)
OUTCOMES = ("met_on_time", "met_late", "open_overdue", "stopped_overdue", "pending")
# Working days taken to authorise an assessment, in the bands the DfE's tables use.
BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-15", 0, 15), ("16-25", 16, 25), ("26-35", 26, 35), ("36-45", 36, 45),
    ("46-60", 46, 60), ("over 60", 61, None))


class DeadlineFact(NamedTuple):
    """One stored deadline with what the report needs of its case: team, pack and worker.

    A named tuple, not a dataclass: a report reads hundreds of thousands of them, and a
    tuple is made straight from a result row at a fraction of the cost."""

    team: str
    policy: str
    worker: str | None
    rule: str
    due: datetime  # aware UTC, as stored
    status: str
    met: bool  # met, on time or late
    met_by_due: bool  # met at or before the stored due moment
    stopped: bool  # stopped while overdue (a closure after the due moment)
    # Given for the DfE rules only, which the report may judge against another due moment
    # and bands by working days taken; the other rules' verdict is the store's (`met_by_due`),
    # so a whole caseload's instants are not read and converted for nothing.
    met_at: datetime | None
    anchor_at: datetime | None
    delay_reason: str | None


@dataclass(frozen=True)
class RuleInfo:
    """What the report needs of a pack's rule: its title and, for a working-day rule, N."""

    id: str
    title: str
    working_days: int | None  # N of "within N working days"; None for other units


@dataclass
class Counts:
    """Deadlines due in the period, split by outcome (the outcomes add up to `due`)."""

    due: int = 0
    met_on_time: int = 0
    met_late: int = 0
    open_overdue: int = 0
    stopped_overdue: int = 0
    pending: int = 0  # not yet due at the report's moment (a period reaching into the future)

    def add(self, outcome: str, n: int = 1) -> None:
        """Count `n` deadlines under `outcome`."""
        self.due += n
        setattr(self, outcome, getattr(self, outcome) + n)

    @property
    def share_on_time(self) -> float | None:
        """Met on time as a share of those due; None when none was due."""
        return self.met_on_time / self.due if self.due else None

    def as_dict(self) -> dict[str, int]:
        """The counts by name, `due` first."""
        return {"due": self.due, **{o: getattr(self, o) for o in OUTCOMES}}


@dataclass(frozen=True)
class Row:
    """One line of a breakdown: a team's rule, optionally for one worker or one month."""

    team: str
    rule: str
    title: str
    counts: Counts
    worker: str | None = None
    month: str | None = None  # YYYY-MM of the due day, London time


@dataclass
class Report:
    """The whole timeliness report for a period."""

    period_from: date
    period_to: date
    now: datetime
    count_from_day_one: bool
    measures: list[Row] = field(default_factory=list)
    by_worker: list[Row] = field(default_factory=list)
    by_month: list[Row] = field(default_factory=list)
    # team -> band label -> assessments authorised within that many working days
    days_taken: dict[str, dict[str, int]] = field(default_factory=dict)
    # (team, rule, reason) -> deadlines of the period missed with that reason recorded
    delay_reasons: dict[tuple[str, str, str], int] = field(default_factory=dict)


def band_of(days: int) -> str:
    """The band label of a number of working days taken."""
    for label, lo, hi in BANDS:
        if days >= lo and (hi is None or days <= hi):
            return label
    raise ValueError(f"negative working days: {days}")


def effective_due(fact: DeadlineFact, info: RuleInfo | None, cal: WorkingCalendar,
                  count_from_day_one: bool) -> datetime:
    """The due moment the report judges by: the stored one, or under `count_from_day_one`,
    for the DfE measures, the end of working day N counting the anchor's day as day 1
    (one working day earlier when the anchor falls on a working day)."""
    if not (count_from_day_one and fact.rule in DFE_RULES and info and info.working_days
            and fact.anchor_at is not None):
        return fact.due
    return end_of_day_utc(cal.day_number(local_date(fact.anchor_at), info.working_days))


def days_taken(fact: DeadlineFact, cal: WorkingCalendar, count_from_day_one: bool) -> int | None:
    """Working days from the anchor to the meeting event (anchor's date day 0, or day 1 under
    `count_from_day_one` when it is a working day); None when not met."""
    if fact.met_at is None or fact.anchor_at is None:
        return None
    start, end = local_date(fact.anchor_at), local_date(fact.met_at)
    n = cal.working_days_between(start, end) if end >= start else 0
    return n + 1 if count_from_day_one and cal.is_working_day(start) else n


def outcome_of(fact: DeadlineFact, due: datetime, now: datetime) -> str | None:
    """Which outcome a deadline had at `now`, or None when it never came to be due
    (cancelled before its due moment, e.g. a case closed or no conference needed)."""
    if fact.status == "cancelled":
        return None
    if fact.met:
        on_time = fact.met_at <= due if fact.met_at is not None else fact.met_by_due
        return "met_on_time" if on_time else "met_late"
    if fact.stopped:
        return "stopped_overdue"
    return "open_overdue" if due < now else "pending"


def timeliness(facts: Iterable[DeadlineFact], rules: Mapping[str, Sequence[RuleInfo]],
               calendars: Mapping[str, WorkingCalendar], period_from: date, period_to: date,
               now: datetime, count_from_day_one: bool = False) -> Report:
    """Count the deadlines whose (effective) due day falls in [period_from, period_to].

    `rules` maps each team reported on to its pack's rules (so a rule nothing was due under
    still shows, with zeros); `calendars` maps a pack's name to its working calendar.
    """
    report = Report(period_from, period_to, now, count_from_day_one)
    info = {team: {r.id: r for r in rs} for team, rs in rules.items()}
    # One tally keyed (breakdown, team, worker or month or "", rule, outcome): a flat Counter
    # is the cheapest thing to bump half a million times; Counts are made from it at the end.
    tally: Counter[tuple[str, str, str, str, str]] = Counter()
    bands: dict[str, Counter[str]] = {team: Counter() for team in rules}
    reasons: Counter[tuple[str, str, str]] = Counter()
    # Most deadlines end at 23:59:59 of a day, so a few hundred due instants cover them all:
    # their London date and month are worked out once each.
    days: dict[datetime, tuple[date, str]] = {}
    for fact in facts:
        team_rules = info.get(fact.team)
        if team_rules is None:
            continue  # a team not asked for
        cal = calendars[fact.policy]
        due = effective_due(fact, team_rules.get(fact.rule), cal, count_from_day_one)
        day = days.get(due)
        if day is None:
            local = local_date(due)
            day = days[due] = (local, local.strftime("%Y-%m"))
        if not period_from <= day[0] <= period_to:
            continue
        outcome = outcome_of(fact, due, now)
        if outcome is None:
            continue
        tally[("team", fact.team, "", fact.rule, outcome)] += 1
        tally[("worker", fact.team, fact.worker or "unallocated", fact.rule, outcome)] += 1
        tally[("month", fact.team, day[1], fact.rule, outcome)] += 1
        if fact.rule == ASSESSMENT_RULE:
            taken = days_taken(fact, cal, count_from_day_one)
            if taken is not None:
                bands[fact.team][band_of(taken)] += 1
        if fact.delay_reason and outcome != "met_on_time":
            reasons[(fact.team, fact.rule, fact.delay_reason)] += 1

    by_rule: dict[tuple[str, str], Counts] = {
        (team, r.id): Counts() for team, rs in rules.items() for r in rs}
    by_worker: dict[tuple[str, str, str], Counts] = defaultdict(Counts)
    by_month: dict[tuple[str, str, str], Counts] = defaultdict(Counts)
    for (kind, team, key, rule, outcome), n in tally.items():
        counts = (by_rule.setdefault((team, rule), Counts()) if kind == "team" else
                  by_worker[(team, key, rule)] if kind == "worker" else
                  by_month[(team, key, rule)])
        counts.add(outcome, n)

    def title(team: str, rule: str) -> str:
        found = info.get(team, {}).get(rule)
        return found.title if found else rule

    report.measures = [Row(t, r, title(t, r), c) for (t, r), c in sorted(by_rule.items())]
    report.by_worker = [Row(t, r, title(t, r), c, worker=w)
                        for (t, w, r), c in sorted(by_worker.items())]
    report.by_month = [Row(t, r, title(t, r), c, month=m)
                       for (t, m, r), c in sorted(by_month.items())]
    report.days_taken = {team: {label: bands[team][label] for label, _, _ in BANDS}
                         for team in sorted(bands)}
    report.delay_reasons = dict(sorted(reasons.items()))
    return report
