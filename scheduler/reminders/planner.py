"""Which notifications are due at an instant: a pure function of deadlines, cases and the clock.

Stages of one deadline (timescales are in working days unless the rule counts hours):
- upcoming: from the working morning `lead` working days before the due day (default 2);
  for an hour rule, half its window before it is due;
- due_today: the working morning of the due day (or the working day before, if the due day
  is not one);
- overdue: the first working morning after the due day; for an hour rule, the moment it is due;
- escalated: overdue by the pack's escalate_after_days working days (default 1); for an hour
  rule, the next working morning after its hour (or N working days after the due day). It
  goes to the rule's `on_miss.escalate_to` role, always one level above the owner: a
  manager's own deadline goes to the service managers, never back to the manager;
- exception: a rule marked so (the 45-day limit) once overdue: to the service managers.
Only the latest stage reached is planned for each recipient of a deadline, so a process that
was down sends "overdue", never a stale "upcoming", and nobody gets "overdue" and "escalated"
for one deadline at once. Direct messages wait for working hours; hour rules are urgent: at
once, and out of hours to the team's out-of-hours channel (whether they were meant for a
person or for the team's day channel).

Each working morning at the team's digest time: the team's digest to its channel, a summary
to each of its managers (exceptions, escalations and authorisations waiting, named as such),
and one summary to each service manager over all of their teams, at the latest of those
teams' digest times (so a team whose digest is later is not left out). A team with neither a
channel nor a manager sends its digest to the service managers instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from scheduler.reminders.address import Address
from scheduler.timescales.calendar import LONDON, WorkingCalendar, local_date
from scheduler.timescales.engine import Deadline
from scheduler.timescales.rules import Pack, Rule

STAGES = ("upcoming", "due_today", "overdue", "escalated", "exception", "digest")
WORK_START = time(8, 30)
WORK_END = time(17, 30)
DEFAULT_LEAD_DAYS = 2
FOREVER = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class TeamPeople:
    """Who a team's notifications go to."""

    name: str
    managers: tuple[str, ...] = ()
    service_managers: tuple[str, ...] = ()
    # Whether the team has a channel on some platform (Address "team:NAME": duty prompts and
    # its digest) and an out-of-hours one ("ooh:NAME", urgent prompts out of hours). Which
    # platform's channel it is, and its id, is for the transports to resolve.
    has_channel: bool = False
    has_ooh_channel: bool = False
    digest_at: time = WORK_START
    policy: str = "working-together-2023"  # whose closure days the digest skips


@dataclass(frozen=True)
class CaseInfo:
    """What the notifier needs to know of a case beyond its deadlines."""

    reference: str
    team: str
    allocated_worker: str | None = None
    awaiting_authorisation_since: datetime | None = None  # completed, not yet authorised
    imported_at: datetime | None = None  # brought in by `caseclock import`, at this moment


@dataclass(frozen=True)
class Planned:
    """One notification to create: unique by `key` (deadline, due, stage and recipient)."""

    key: str
    stage: str
    case: str
    rule: str
    seq: int
    due: datetime | None
    recipient: str  # an Address's string form: "staff:NAME", "team:NAME" or "ooh:NAME"
    team: str
    urgent: bool = False
    details: Mapping[str, object] = field(default_factory=dict)
    anchor_at: datetime | None = None  # for "day 9 of 10"
    unit: str = "working_days"

    @property
    def recipient_label(self) -> str:
        """The staff member's or the team's name, as the dry run prints it."""
        return self.recipient.split(":", 1)[1]


def morning(d: date) -> datetime:
    """08:30 London time on `d`."""
    return datetime.combine(d, WORK_START, tzinfo=LONDON)


def next_hours_boundary(now: datetime) -> datetime:
    """The next 08:30 or 17:30 London time after `now`: where working hours may begin or end
    (on any day, which is conservative: a plan reused until then is still right)."""
    today = now.astimezone(LONDON).date()
    days = (today, date.fromordinal(today.toordinal() + 1))
    return min(t for d in days for hhmm in (WORK_START, WORK_END)
               if (t := datetime.combine(d, hhmm, tzinfo=LONDON)) > now)


def in_working_hours(now: datetime, cal: WorkingCalendar) -> bool:
    """Monday to Friday, 08:30-17:30 London time, not a bank holiday or closure day."""
    local = now.astimezone(LONDON)
    return cal.is_working_day(local.date()) and WORK_START <= local.time() < WORK_END


@dataclass(frozen=True)
class StageTimes:
    """When each stage of one deadline begins."""

    upcoming: datetime | None
    due_today: datetime | None
    overdue: datetime
    escalated: datetime


def stage_times(d: Deadline, rule: Rule, cal: WorkingCalendar,
                escalate_after: int) -> StageTimes:
    """The start of each stage of deadline `d` (see the module's docstring)."""
    if d.hourly:
        # In UTC: aware datetimes sharing a zone subtract as wall-clock times, which is an
        # hour out across a clock change.
        due_utc = d.due.astimezone(UTC)
        window = due_utc - d.anchor_at.astimezone(UTC)
        due_day = local_date(d.due)
        # An hour rule is overdue at its hour, so its escalation counts from that moment:
        # the next working morning after it (N working days after the due day for N > 1),
        # not a day-rule's "overdue morning" plus N, which would be a working day late.
        escalated = next_working_morning_after(due_utc, cal)
        if escalate_after > 1:
            escalated = max(escalated, morning(cal.add_working_days(due_day, escalate_after)))
        return StageTimes(upcoming=due_utc - window / 2, due_today=None, overdue=due_utc,
                          escalated=escalated)
    due_day = local_date(d.due)
    lead = rule.lead_days if rule.lead_days is not None else DEFAULT_LEAD_DAYS
    last_working = cal.on_or_before(due_day)
    upcoming = morning(cal.working_days_before(last_working, lead)) if lead > 0 else None
    return StageTimes(
        upcoming=upcoming,
        due_today=morning(last_working),
        overdue=morning(cal.add_working_days(due_day, 1)),
        escalated=morning(cal.add_working_days(due_day, 1 + escalate_after)),
    )


def next_working_morning_after(t: datetime, cal: WorkingCalendar) -> datetime:
    """The first working day's 08:30 strictly after instant `t`."""
    local = t.astimezone(LONDON)
    if cal.is_working_day(local.date()) and local.time() < WORK_START:
        return morning(local.date())
    return morning(cal.add_working_days(local.date(), 1))


def _latest(reached: Sequence[tuple[str, datetime | None]], now: datetime) -> str | None:
    found = None
    for stage, start in reached:
        if start is not None and start <= now:
            found = stage
    return found


ORDER = {stage: i for i, stage in enumerate(STAGES)}


def escalation_role(rule: Rule) -> str | None:
    """Who a missed deadline of `rule` goes up to: its pack's `on_miss.escalate_to`, but always
    above the rule's owner (a manager's own deadline goes to the service managers, not back
    to the manager as "escalated"); None when nobody is above (a service manager's rule)."""
    if rule.owner == "service_manager":
        return None
    wanted = rule.on_miss.escalate_to or "manager"
    if rule.owner == "manager" and wanted == "manager":
        return "service_manager"
    return wanted


class Planner:
    """Plans notifications for one pack's cases at `now`."""

    def __init__(self, pack: Pack, cal: WorkingCalendar, teams: Mapping[str, TeamPeople]) -> None:
        self.pack = pack
        self.cal = cal
        self.teams = teams
        self.rules = {r.id: r for r in pack.rules}
        # Stage times depend only on the rule and the due moment (and the anchor, for an hour
        # rule); thousands of deadlines share them, and the sweep plans every deadline every
        # minute, so they are computed once per process.
        self._times: dict[tuple[str, datetime, datetime | None], StageTimes] = {}

    def times(self, d: Deadline, rule: Rule) -> StageTimes:
        """The stage times of `d`, cached."""
        cache_key = (rule.id, d.due, d.anchor_at if d.hourly else None)
        found = self._times.get(cache_key)
        if found is None:
            found = self._times[cache_key] = stage_times(d, rule, self.cal,
                                                         self.pack.escalate_after_days)
        return found

    @staticmethod
    def _managers(team: TeamPeople) -> list[str]:
        # A team without a manager of its own escalates to the service managers.
        return [f"staff:{m}" for m in (team.managers or team.service_managers)]

    def _role(self, role: str, case: CaseInfo, team: TeamPeople) -> list[str]:
        """The recipients of a role for this case."""
        if role == "worker":
            if case.allocated_worker:
                return [f"staff:{case.allocated_worker}"]
            return [str(Address.team(team.name))] if team.has_channel else self._managers(team)
        if role == "team_duty":
            return [str(Address.team(team.name))] if team.has_channel else self._managers(team)
        if role == "manager":
            return self._managers(team)
        return [f"staff:{m}" for m in team.service_managers]

    def plan_deadline(self, d: Deadline, case: CaseInfo, now: datetime,
                      working: bool) -> list[Planned]:
        """Notifications of one open deadline at `now`: for each recipient, only the latest
        stage they have reached (so after downtime nobody gets "overdue" and "escalated" for
        one deadline at once)."""
        rule = self.rules.get(d.rule)
        team = self.teams.get(case.team)
        if rule is None or team is None or not d.open:
            return []
        times = self.times(d, rule)
        if case.imported_at is not None and times.overdue <= case.imported_at:
            return []  # missed before it was imported: in one summary (import_summary_plans)
        wanted: dict[str, tuple[str, bool, dict[str, object]]] = {}

        def add(stage: str, recipients: Iterable[str], urgent: bool = False,
                **details: object) -> None:
            for r in recipients:
                if urgent and not working and team.has_ooh_channel:
                    # Out of hours an urgent prompt goes to whoever is on call, whether it was
                    # meant for a person or for the team's (unwatched) day channel.
                    r = str(Address.ooh(team.name))
                if not urgent and not working:
                    continue  # direct messages and channel prompts wait for working hours
                held = wanted.get(r)
                if held is None or ORDER[stage] > ORDER[held[0]]:
                    wanted[r] = (stage, urgent, details)

        main = _latest([("upcoming", times.upcoming), ("due_today", times.due_today),
                        ("overdue", times.overdue)], now)
        if main is not None:
            owners = self._role(rule.owner, case, team)
            urgent = d.hourly and main in ("upcoming", "overdue")
            if main == "due_today" and any(m.event == "extension_agreed" for m in rule.met_by):
                # The manager decides on an extension when the first timescale falls due,
                # whether or not the rule is the manager's own (Suffolk's days 20 and 35).
                managers = self._managers(team)
                add(main, [o for o in owners if o not in managers], urgent)
                add(main, managers, urgent, extension_decision=True)
            else:
                add(main, owners, urgent)
        up = escalation_role(rule)
        if up is not None and times.escalated <= now:
            add("escalated", self._role(up, case, team),
                no_reason=rule.on_miss.reason_required and not d.delay_reason)
        if rule.on_miss.exception and times.overdue <= now:
            add("exception", [f"staff:{m}" for m in team.service_managers],
                no_reason=not d.delay_reason)
        prefix = f"{d.case}:{d.rule}:{d.seq}:{d.due.isoformat()}:"
        return [Planned(f"{prefix}{stage}:{r}", stage, d.case, d.rule, d.seq, d.due, r,
                        team.name, urgent, details, d.anchor_at, d.unit)
                for r, (stage, urgent, details) in wanted.items()]

    def missed_at_import(self, d: Deadline, case: CaseInfo) -> bool:
        """True for an open deadline already overdue when its case was imported: history,
        not news, so it is not prompted one by one but summarised once to the manager."""
        rule = self.rules.get(d.rule)
        return (case.imported_at is not None and rule is not None and d.open
                and self.times(d, rule).overdue <= case.imported_at)

    def next_change(self, d: Deadline, now: datetime) -> datetime:
        """The first moment after `now` at which `d`'s plan can differ (a stage begins), so
        a sweep may reuse the plan until then; working hours are the caller's to add."""
        rule = self.rules.get(d.rule)
        if rule is None:
            return FOREVER
        t = self.times(d, rule)
        return min((s for s in (t.upcoming, t.due_today, t.overdue, t.escalated)
                    if s is not None and s > now), default=FOREVER)

    def plan_nudge(self, case: CaseInfo, now: datetime, working: bool) -> list[Planned]:
        """The nudge to the team's managers (or service managers) about an assessment that
        was completed but is still awaiting authorisation a full working day later."""
        since = case.awaiting_authorisation_since
        team = self.teams.get(case.team)
        if since is None or team is None or not working or nudge_at(since, self.cal) > now:
            return []
        return [Planned(f"{case.reference}:awaiting_authorisation:1:{since.isoformat()}:"
                        f"due_today:{r}", "due_today", case.reference, "awaiting_authorisation",
                        1, None, r, team.name)
                for r in self._managers(team)]

    def plan_case(self, deadlines: Iterable[Deadline], case: CaseInfo,
                  now: datetime) -> list[Planned]:
        """Every notification of one case, plus the authorisation nudge."""
        working = in_working_hours(now, self.cal)
        out = [p for d in deadlines for p in self.plan_deadline(d, case, now, working)]
        return out + self.plan_nudge(case, now, working)


def nudge_at(completed: datetime, cal: WorkingCalendar) -> datetime:
    """When a completed assessment still awaiting authorisation is raised with the manager:
    after one full working day (completed Fri 15:00: Monday is that day, Tuesday 08:30)."""
    first_full_day = local_date(next_working_morning_after(completed, cal))
    return morning(cal.add_working_days(first_full_day, 1))


def digest_due(team: TeamPeople, cal: WorkingCalendar, now: datetime) -> date | None:
    """Today's date if the team's digest is due now (a working day, past its time)."""
    local = now.astimezone(LONDON)
    if not cal.is_working_day(local.date()) or local.time() < team.digest_at:
        return None
    return local.date()


def digest_plans(team: TeamPeople, day: date) -> list[Planned]:
    """The team's digest (to its channel) and each manager's summary. A team with neither a
    channel nor a manager sends its digest to the service managers, so it is never lost."""
    out = []
    targets = [str(Address.team(team.name))] if team.has_channel else (
        [] if team.managers else [f"staff:{m}" for m in team.service_managers])
    for r in targets:
        out.append(Planned(f"digest:{team.name}:{day.isoformat()}:{r}", "digest", "", "digest",
                           0, None, r, team.name, details={"kind": "team"}))
    for m in team.managers:
        r = f"staff:{m}"
        out.append(Planned(f"digest:{team.name}:{day.isoformat()}:{r}", "digest", "",
                           "manager_summary", 0, None, r, team.name,
                           details={"kind": "manager"}))
    return out


def service_summary_plans(teams: Mapping[str, TeamPeople], due: Mapping[str, date],
                          later: Iterable[str] = ()) -> list[Planned]:
    """One morning summary per service manager over every team of theirs whose digest is
    due now (`due`: team -> today): exceptions, escalations and authorisations waiting.

    It is made once a day (its key holds the day alone), so it waits for the latest digest
    time among the manager's teams: while any of them is in `later` (a working day whose
    digest time has not come), that manager's summary is not planned yet, else a team with
    a later time would never reach it."""
    waiting = set(later)
    by_manager: dict[str, list[str]] = {}
    for name in sorted(due):
        for m in teams[name].service_managers:
            by_manager.setdefault(m, []).append(name)
    held_back = {m for name in waiting if name in teams for m in teams[name].service_managers}
    out = []
    for m, names in sorted(by_manager.items()):
        if m in held_back:
            continue
        r = f"staff:{m}"
        out.append(Planned(f"digest:service:{due[names[0]].isoformat()}:{r}", "digest", "",
                           "service_summary", 0, None, r, names[0],
                           details={"kind": "service", "teams": tuple(names)}))
    return out


def next_working_morning(now: datetime, cal: WorkingCalendar) -> datetime:
    """08:30 on the next working day after `now`'s date (for snoozing)."""
    return morning(cal.add_working_days(local_date(now), 1))


def snoozable(stage: str) -> bool:
    """Upcoming and due-today prompts can be snoozed; escalations and exceptions cannot."""
    return stage in ("upcoming", "due_today")




def import_summary_plans(team: TeamPeople, day: date, run: str,
                         missed: Sequence[str]) -> list[Planned]:
    """One message to each of the team's managers (or, with none, its service managers)
    listing the deadlines already missed when one import run on `day` brought its cases in:
    escalated once, together, rather than a burst of prompts for history. Its key holds the
    run, so a second import the same day (the corrected rows) has a summary of its own."""
    if not missed:
        return []
    out = []
    for r in Planner._managers(team):
        out.append(Planned(f"import:{team.name}:{day.isoformat()}:{run}:{r}", "digest", "",
                           "import_summary", 0, None, r, team.name,
                           details={"kind": "import", "day": day.isoformat(),
                                    "missed": tuple(missed)}))
    return out


def working_hours_from(now: datetime, cal: WorkingCalendar) -> datetime:
    """`now` if it is in working hours, else the start of the next: when a direct message
    made out of hours (an import's summary) may go."""
    if in_working_hours(now, cal):
        return now
    local = now.astimezone(LONDON)
    if cal.is_working_day(local.date()) and local.time() < WORK_START:
        return morning(local.date())
    return morning(cal.add_working_days(local.date(), 1))
