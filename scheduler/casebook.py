"""The one write path: check an event, append it, recompute its case, in one transaction.

Every transport (CLI, console, Slack, Teams) logs through `Casebook.log`, so the checks,
the audit trail and the recompute cannot be skipped or done twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from scheduler.packs import PackLibrary
from scheduler.timescales.calendar import WorkingCalendar, local_date
from scheduler.timescales.consistency import check_new_event, check_pack_limits
from scheduler.timescales.engine import Deadline, compute_case, effective_events
from scheduler.timescales.vocabulary import (
    Event,
    EventError,
    check_case_reference,
    check_fields,
)
from store import repo
from store.models import Case, DeadlineRow, EventRow, Team

# Only these events open a case: anything else for an unknown reference is a typo or a
# case of which the referral has not been logged, and silently opening it would hide both.
OPENERS = ("contact_received", "referral_received")


class EntryRefused(EventError):
    """`log_many` refused one of its entries (so stored none); `index` says which and
    `reason` is the refusal itself (its class tells callers which check refused it)."""

    def __init__(self, index: int, reason: EventError) -> None:
        super().__init__(str(reason))
        self.index = index
        self.reason = reason


class NoSuchCase(EventError):
    """An event other than a contact or a referral for a reference that is no case."""

    def __init__(self, reference: str) -> None:
        super().__init__(f"there is no case {reference}: log its contact or referral first "
                         "(contact_received, or referral_received with its track).")
        self.reference = reference


class RepeatedReferral(EventError):
    """A second referral of the same track on an open case within a working day of the
    first: almost always a double tap, so it is refused unless the caller says otherwise."""

    def __init__(self, reference: str, first_at: datetime, track: str) -> None:
        super().__init__(f"{reference} was already referred ({track}) at "
                         f"{first_at.isoformat()}: log it again only if it is a new referral.")
        self.reference = reference
        self.first_at = first_at
        self.track = track


@dataclass(frozen=True)
class LogEntry:
    """One event of a `log_many` call."""

    case: str
    type: str
    at: datetime
    fields: dict[str, Any]
    team: str | None = None
    request_id: str | None = None
    # Refuse a same-track referral within a working day of the last (RepeatedReferral);
    # chat sets it unless the person typed `again`.
    refuse_repeat: bool = False


@dataclass(frozen=True)
class LogResult:
    """What logging an event stored and what it changed."""

    event_id: str
    case: str
    type: str
    at: datetime
    before: list[Deadline]
    after: list[Deadline]
    duplicate: bool = False  # a retried delivery: nothing new was stored
    opened: bool = False  # this event opened the case (its first event)


@dataclass(frozen=True)
class TimelineEntry:
    """An event as shown in a case's timeline, voided ones included and marked."""

    id: str
    type: str
    at: datetime
    fields: dict[str, Any]
    recorded_by: str
    recorded_at: datetime
    source: str
    voided: bool


@dataclass(frozen=True)
class CaseSummary:
    """A case's team, pack and worker."""

    reference: str
    team: str
    policy: str
    allocated_worker: str | None


def _json_fields(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in fields.items()}


def row_to_event(row: EventRow, reference: str) -> Event:
    """A stored event as the engine reads it (dates parsed back from JSON)."""
    return Event(id=row.id, case=reference, type=row.type, at=row.at,
                 fields=check_fields(row.type, row.fields), order=row.seq)


def deadline_row(d: Deadline) -> DeadlineRow:
    """The stored form of a computed deadline."""
    return DeadlineRow(rule=d.rule, seq=d.seq, title=d.title, due=d.due, status=d.status,
                       met_at=d.met_at, met_by_event=d.met_by_event, owner=d.owner,
                       anchor_at=d.anchor_at, hourly=d.hourly, delay_reason=d.delay_reason,
                       unit=d.unit, stopped_at=d.stopped_at, stopped_by_event=d.stopped_by_event)


class Casebook:
    """Cases, their events and deadlines, over a database and the pack library."""

    def __init__(self, sessions: sessionmaker[Session], library: PackLibrary,
                 clock: Callable[[], datetime],
                 case_pattern: str | None = None) -> None:
        self.sessions = sessions
        self.library = library
        self.clock = clock
        self.case_pattern = case_pattern  # None: the vocabulary's default

    # --- teams --------------------------------------------------------------------------

    def add_team(self, name: str, policy: str, slack_channel: str | None = None,
                 digest_at: str | None = None, actor: str = "system",
                 ooh_channel: str | None = None, teams_channel: str | None = None) -> Team:
        """A team working under one pack (an unknown pack is refused)."""
        if not name or not name.replace("-", "").replace("_", "").isalnum():
            raise EventError(f"'{name}' is not a team name: use letters, digits and dashes, "
                             "for example north-assessment.")
        self.library.get(policy)
        with self.sessions.begin() as s:
            if teams_channel:
                # A Teams channel serves one care team: its messages say which team's cases
                # they may show, and a click there snoozes that team's prompt.
                other = s.scalar(select(Team.name).where(Team.msteams_channel == teams_channel))
                if other is not None:
                    raise EventError(f"that Teams channel is already team {other}'s: a "
                                     "channel serves one care team; give this team its own.")
            team = repo.add_team(s, name, policy, slack_channel, digest_at)
            team.ooh_channel = ooh_channel
            team.msteams_channel = teams_channel
            repo.audit(s, actor, "cli", "team_added", team=name, policy=policy)
        return team

    def teams(self) -> list[Team]:
        """Every team."""
        with self.sessions() as s:
            return list(repo.list_teams(s))

    # --- logging ------------------------------------------------------------------------

    def _team_for_new_case(self, s: Session, reference: str, team: str | None) -> Team:
        if team is not None:
            found = repo.get_team(s, team)
            if found is None:
                names = ", ".join(t.name for t in repo.list_teams(s)) or "none yet"
                raise EventError(f"there is no team {team}: teams are {names}.")
            return found
        teams = repo.list_teams(s)
        if len(teams) == 1:
            return teams[0]
        if not teams:
            raise EventError("there are no teams yet: add one with "
                             "`caseclock team add TEAM --policy NAME`.")
        raise EventError(f"case {reference} is new: say which team with --team TEAM "
                         f"({', '.join(t.name for t in teams)}).")

    def _prepare(self, case_ref: str, type_: str, at: datetime, fields: dict[str, Any]
                 ) -> tuple[str, dict[str, Any]]:
        """The checks of an event before the store is read, in this order: its case
        reference, its fields (returned checked and normalised) and its time's zone.

        One place for `log`, `log_many` and `check`, so they refuse alike."""
        reference = check_case_reference(case_ref, self.case_pattern)
        clean = check_fields(type_, fields)
        if at.tzinfo is None:
            raise EventError("the time has no zone: give it in London time or with an offset.")
        return reference, clean

    def log(self, case_ref: str, type_: str, at: datetime, fields: dict[str, Any],
            actor: str, source: str, team: str | None = None,
            request_id: str | None = None, refuse_repeat: bool = False) -> LogResult:
        """Check and append one event, recomputing the case's deadlines in the same transaction.

        Raises EventError (one sentence) and stores nothing when the event is refused.
        """
        reference, clean = self._prepare(case_ref, type_, at, fields)
        now = self.clock()
        try:
            return self._log(reference, type_, at, clean, actor, source, team, request_id, now,
                             refuse_repeat)
        except IntegrityError:
            # Two first events of one new case raced, or a retried delivery raced its
            # original: the other transaction won, so read again and go once more.
            return self._log(reference, type_, at, clean, actor, source, team, request_id, now,
                             refuse_repeat)

    def log_many(self, entries: Sequence[LogEntry], actor: str, source: str) -> list[LogResult]:
        """Check and append several events (siblings seen together) in ONE transaction:
        every one is stored or, if any is refused, none is."""
        ready = []
        for n, e in enumerate(entries):
            try:
                ready.append((*self._prepare(e.case, e.type, e.at, e.fields), e))
            except EventError as err:
                raise EntryRefused(n, err) from None
        now = self.clock()

        def attempt() -> list[LogResult]:
            with self.sessions.begin() as s:
                out = []
                for n, (ref, clean, e) in enumerate(ready):
                    try:
                        out.append(self._log_in(s, ref, e.type, e.at, clean, actor, source,
                                                e.team, e.request_id, now, e.refuse_repeat))
                    except EventError as err:  # the transaction rolls back: none is stored
                        raise EntryRefused(n, err) from None
                return out
        try:
            return attempt()
        except IntegrityError:  # as in `log`: a concurrent first event or retried delivery
            return attempt()

    def _log(self, reference: str, type_: str, at: datetime, fields: dict[str, Any],
             actor: str, source: str, team: str | None, request_id: str | None,
             now: datetime, refuse_repeat: bool = False) -> LogResult:
        with self.sessions.begin() as s:
            return self._log_in(s, reference, type_, at, fields, actor, source, team,
                                request_id, now, refuse_repeat)

    def _log_in(self, s: Session, reference: str, type_: str, at: datetime,
                fields: dict[str, Any], actor: str, source: str, team: str | None,
                request_id: str | None, now: datetime,
                refuse_repeat: bool = False) -> LogResult:
        if request_id is not None:
            seen = repo.event_by_request(s, request_id)
            if seen is not None:
                case = s.get(Case, seen.case_id)
                assert case is not None
                after = self._compute(s, case, now)
                return LogResult(seen.id, case.reference, seen.type, seen.at, after, after,
                                 duplicate=True)
        case = repo.get_case(s, reference, for_update=True)
        existing: list[Event] = []
        if case is None:
            if type_ not in OPENERS:
                raise NoSuchCase(reference)
            team_row = self._team_for_new_case(s, reference, team)
        else:
            existing = [row_to_event(r, reference) for r in repo.case_event_rows(s, case)]
        candidate = Event(id="new", case=reference, type=type_, at=at, fields=fields,
                          order=len(existing) + 1)
        check_new_event(existing, candidate, now)
        check_pack_limits(self.library.get(case.policy if case is not None else team_row.policy),
                          type_, fields)
        if refuse_repeat and case is not None and type_ == "referral_received":
            self._refuse_repeat(case, existing, candidate, now)
        opened = case is None
        before: list[Deadline] = []
        if case is None:
            case = repo.create_case(s, reference, team_row)
        else:
            before = self._compute_events(case, existing, now)
        row = repo.insert_event(s, case, type_, at, _json_fields(fields), actor, source,
                                request_id)
        if type_ == "allocated" and fields.get("worker"):
            case.allocated_worker = str(fields["worker"])
        events = [*existing, row_to_event(row, reference)]
        after = self._compute_events(case, events, now)
        repo.replace_deadlines(s, case, (deadline_row(d) for d in after))
        repo.audit(s, actor, source, "event_logged", case=reference, event=row.id,
                   type=type_)
        return LogResult(row.id, reference, type_, row.at, before, after, opened=opened)

    def _refuse_repeat(self, case: Case, existing: list[Event], new: Event,
                       now: datetime) -> None:
        """Raise RepeatedReferral if `new` repeats the case's last referral: same track,
        the case not closed since, within one working day of it on the pack's calendar.
        Re-tracking (s17 to s47) and a referral after a closure are real events."""
        known = effective_events(existing, now)
        last = next((e for e in reversed(known) if e.type == "referral_received"), None)
        if last is None or last.fields.get("track") != new.fields.get("track"):
            return
        if any(e.type == "case_closed" and e.at >= last.at for e in known):
            return
        first, second = sorted((local_date(last.at), local_date(new.at)))
        if self.library.calendar(case.policy).working_days_between(first, second) <= 1:
            raise RepeatedReferral(case.reference, last.at, str(new.fields.get("track")))

    # --- reading ------------------------------------------------------------------------

    def _compute_events(self, case: Case, events: list[Event], now: datetime) -> list[Deadline]:
        pack = self.library.get(case.policy)
        return compute_case(pack, self.library.calendar(case.policy), case.reference, events,
                            now)

    def _compute(self, s: Session, case: Case, now: datetime) -> list[Deadline]:
        events = [row_to_event(r, case.reference) for r in repo.case_event_rows(s, case)]
        return self._compute_events(case, events, now)

    def _case(self, s: Session, case_ref: str) -> Case:
        reference = check_case_reference(case_ref, self.case_pattern)
        case = repo.get_case(s, reference)
        if case is None:
            raise EventError(f"there is no case {reference}: check the reference, or log its "
                             "referral first.")
        return case

    def deadlines(self, case_ref: str, now: datetime | None = None) -> list[Deadline]:
        """The case's deadlines at `now` (default: the clock), computed from its events."""
        with self.sessions() as s:
            return self._compute(s, self._case(s, case_ref), now or self.clock())

    def timeline(self, case_ref: str) -> list[TimelineEntry]:
        """Every event of the case in time order, voided ones marked."""
        with self.sessions() as s:
            case = self._case(s, case_ref)
            rows = repo.case_event_rows(s, case)
            events = [row_to_event(r, case.reference) for r in rows]
            live = {e.id for e in effective_events(events, max(e.at for e in events))}
            out = [TimelineEntry(r.id, r.type, r.at, dict(e.fields), r.recorded_by,
                                 r.recorded_at, r.source,
                                 voided=r.type != "event_voided" and r.id not in live)
                   for r, e in zip(rows, events, strict=True)]
            return sorted(out, key=lambda t: t.at)

    def case_summary(self, case_ref: str) -> CaseSummary:
        """The case's team, pack and allocated worker."""
        with self.sessions() as s:
            case = self._case(s, case_ref)
            team = repo.team_by_id(s, case.team_id)
            return CaseSummary(case.reference, team.name, case.policy, case.allocated_worker)

    def calendar_of(self, case_ref: str) -> WorkingCalendar:
        """The working-day calendar of the case's pack."""
        return self.library.calendar(self.case_summary(case_ref).policy)

    def case_references(self) -> list[str]:
        """Every case reference."""
        with self.sessions() as s:
            return repo.case_references(s)

    def recompute_all(self, now: datetime | None = None) -> int:
        """Recompute and store every case's deadlines (after a pack changes); returns cases."""
        now = now or self.clock()
        refs = self.case_references()
        for ref in refs:
            with self.sessions.begin() as s:
                case = self._case(s, ref)
                repo.replace_deadlines(s, case, (deadline_row(d)
                                                 for d in self._compute(s, case, now)))
        return len(refs)
