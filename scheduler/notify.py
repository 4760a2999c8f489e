"""Which notifications are due at an instant: a pure function of deadlines, cases and the clock.

Stages of one deadline (timescales are in working days unless the rule counts hours):
- upcoming: from the working morning `lead` working days before the due day (default 2);
  for an hour rule, half its window before it is due;
- due_today: the working morning of the due day (or the working day before, if the due day
  is not one);
- overdue: the first working morning after the due day; for an hour rule, the moment it is due;
- escalated: overdue by the pack's escalate_after_days working days (default 1): to the
  team's managers;
- exception: a rule marked so (the 45-day limit) once overdue: to the service managers.
Only the latest stage reached is planned for each line of recipients, so a process that was
down sends "overdue", never a stale "upcoming". Direct messages wait for working hours; hour
rules are urgent: at once, and out of hours to the team's out-of-hours channel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from scheduler.timescales.calendar import LONDON, WorkingCalendar, local_date
from scheduler.timescales.engine import Deadline
from scheduler.timescales.rules import Pack, Rule

STAGES = ("upcoming", "due_today", "overdue", "escalated", "exception", "digest")
WORK_START = time(8, 30)
WORK_END = time(17, 30)
DEFAULT_LEAD_DAYS = 2


@dataclass(frozen=True)
class TeamPeople:
    """Who a team's notifications go to."""

    name: str
    managers: tuple[str, ...] = ()
    service_managers: tuple[str, ...] = ()
    channel: str | None = None  # the team's private channel: duty and digests
    ooh_channel: str | None = None  # out of hours, for urgent prompts
    digest_at: time = WORK_START
    policy: str = "working-together-2023"  # whose closure days the digest skips


@dataclass(frozen=True)
class CaseInfo:
    """What the notifier needs to know of a case beyond its deadlines."""

    reference: str
    team: str
    allocated_worker: str | None = None
    awaiting_authorisation_since: datetime | None = None  # completed, not yet authorised


@dataclass(frozen=True)
class Planned:
    """One notification to create: unique by `key` (deadline, due, stage and recipient)."""

    key: str
    stage: str
    case: str
    rule: str
    seq: int
    due: datetime | None
    recipient: str  # "staff:NAME" or "channel:ID"
    team: str
    urgent: bool = False
    details: Mapping[str, object] = field(default_factory=dict)
    anchor_at: datetime | None = None  # for "day 9 of 10"
    unit: str = "working_days"

    @property
    def recipient_label(self) -> str:
        """The staff member's name or the channel, as the dry run prints it."""
        return self.recipient.split(":", 1)[1]


def morning(d: date) -> datetime:
    """08:30 London time on `d`."""
    return datetime.combine(d, WORK_START, tzinfo=LONDON)


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
        return StageTimes(
            upcoming=due_utc - window / 2, due_today=None, overdue=due_utc,
            escalated=morning(cal.add_working_days(due_day, 1 + escalate_after)))
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


def _latest(reached: Sequence[tuple[str, datetime | None]], now: datetime) -> str | None:
    found = None
    for stage, start in reached:
        if start is not None and start <= now:
            found = stage
    return found


class Planner:
    """Plans notifications for one pack's cases at `now`."""

    def __init__(self, pack: Pack, cal: WorkingCalendar, teams: Mapping[str, TeamPeople]) -> None:
        self.pack = pack
        self.cal = cal
        self.teams = teams
        self.rules = {r.id: r for r in pack.rules}

    def _key(self, d: Deadline, stage: str, recipient: str) -> str:
        return f"{d.case}:{d.rule}:{d.seq}:{d.due.isoformat()}:{stage}:{recipient}"

    @staticmethod
    def _managers(team: TeamPeople) -> list[str]:
        # A team without a manager of its own escalates to the service managers.
        return [f"staff:{m}" for m in (team.managers or team.service_managers)]

    def _owners(self, role: str, case: CaseInfo, team: TeamPeople) -> list[str]:
        if role == "worker":
            if case.allocated_worker:
                return [f"staff:{case.allocated_worker}"]
            return [f"channel:{team.channel}"] if team.channel else self._managers(team)
        if role == "team_duty":
            return [f"channel:{team.channel}"] if team.channel else self._managers(team)
        if role == "manager":
            return self._managers(team)
        return [f"staff:{m}" for m in team.service_managers]

    def plan_deadline(self, d: Deadline, case: CaseInfo, now: datetime,
                      working: bool) -> list[Planned]:
        """Notifications of one open deadline at `now`."""
        rule = self.rules.get(d.rule)
        team = self.teams.get(case.team)
        if rule is None or team is None or not d.open:
            return []
        times = stage_times(d, rule, self.cal, self.pack.escalate_after_days)
        out: list[Planned] = []

        def add(stage: str, recipients: Iterable[str], urgent: bool = False,
                **details: object) -> None:
            for r in recipients:
                if urgent and not working and r.startswith("staff:") and team.ooh_channel:
                    r = f"channel:{team.ooh_channel}"
                if not urgent and not working:
                    continue  # direct messages and channel prompts wait for working hours
                out.append(Planned(self._key(d, stage, r), stage, d.case, d.rule, d.seq, d.due,
                                   r, team.name, urgent, details, d.anchor_at, d.unit))

        main = _latest([("upcoming", times.upcoming), ("due_today", times.due_today),
                        ("overdue", times.overdue)], now)
        if main is not None:
            owners = self._owners(rule.owner, case, team)
            add(main, owners, urgent=d.hourly and main in ("upcoming", "overdue"))
            # The manager decides on an extension when the first timescale falls due.
            if main == "due_today" and any(m.event == "extension_agreed" for m in rule.met_by):
                add(main, [m for m in self._managers(team) if m not in owners],
                    extension_decision=True)
        if times.escalated <= now and rule.owner not in ("service_manager",):
            add("escalated", self._managers(team),
                no_reason=rule.on_miss.reason_required and not d.delay_reason)
        if rule.on_miss.exception and times.overdue <= now:
            add("exception", [f"staff:{m}" for m in team.service_managers],
                no_reason=not d.delay_reason)
        return out

    def plan_case(self, deadlines: Iterable[Deadline], case: CaseInfo,
                  now: datetime) -> list[Planned]:
        """Every notification of one case, plus the authorisation nudge."""
        working = in_working_hours(now, self.cal)
        out = [p for d in deadlines for p in self.plan_deadline(d, case, now, working)]
        since = case.awaiting_authorisation_since
        team = self.teams.get(case.team)
        if since is not None and team is not None and working:
            nudge_at = morning(self.cal.add_working_days(local_date(since), 1))
            if nudge_at <= now:
                for m in team.managers:
                    key = f"{case.reference}:awaiting_authorisation:1:{since.isoformat()}:" \
                          f"due_today:staff:{m}"
                    out.append(Planned(key, "due_today", case.reference,
                                       "awaiting_authorisation", 1, None, f"staff:{m}",
                                       team.name))
        return out


def digest_due(team: TeamPeople, cal: WorkingCalendar, now: datetime) -> date | None:
    """Today's date if the team's digest is due now (a working day, past its time)."""
    local = now.astimezone(LONDON)
    if not cal.is_working_day(local.date()) or local.time() < team.digest_at:
        return None
    return local.date()


def digest_plans(team: TeamPeople, day: date) -> list[Planned]:
    """The team's digest (to its channel, or its managers) and each manager's summary."""
    out = []
    targets = [f"channel:{team.channel}"] if team.channel else []
    for r in targets:
        out.append(Planned(f"digest:{team.name}:{day.isoformat()}:{r}", "digest", "", "digest",
                           0, None, r, team.name, details={"kind": "team"}))
    for m in team.managers:
        r = f"staff:{m}"
        out.append(Planned(f"digest:{team.name}:{day.isoformat()}:{r}", "digest", "",
                           "manager_summary", 0, None, r, team.name,
                           details={"kind": "manager"}))
    return out


def next_working_morning(now: datetime, cal: WorkingCalendar) -> datetime:
    """08:30 on the next working day after `now`'s date (for snoozing)."""
    return morning(cal.add_working_days(local_date(now), 1))


def snoozable(stage: str) -> bool:
    """Upcoming and due-today prompts can be snoozed; escalations and exceptions cannot."""
    return stage in ("upcoming", "due_today")


