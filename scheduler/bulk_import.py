"""Bringing an open caseload in: many cases at once, through the casebook's checks.

`Casebook.log` stores one event per transaction and recomputes its case each time, which is
right for chat but takes minutes over 100,000 rows. Here a chunk of cases is one transaction:
each case's new events are checked in time order against what it already holds (the same
`check_new_event` as `log`), its deadlines computed once, and events, deadlines and audit
entries inserted in bulk. A case whose events are refused is left out whole, with its line
and one sentence; the rest of the chunk is stored.

Importing the same file again stores nothing new: an event is the same as a stored one when
the case, type and moment agree, whoever logged it. A row's worker is who holds the case now:
another worker for a stored case updates it (a reallocation), with no dated event made up.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduler.casebook import Casebook, _json_fields, row_to_event
from scheduler.reminders.planner import CaseInfo, Planner
from scheduler.timescales.calendar import LONDON
from scheduler.timescales.consistency import check_new_event
from scheduler.timescales.engine import Deadline, compute_case
from scheduler.timescales.vocabulary import Event, EventError
from store.models import AuditEntry, Case, DeadlineRow, EventRow, Team, new_event_id, utcnow

if TYPE_CHECKING:
    from scheduler.reminders.outbox import Outbox

CHUNK = 1000  # cases per transaction: short enough not to hold SQLite's writer for long
# A new case starts with one of these (as the casebook requires of a first event).
OPENERS = ("contact_received", "referral_received")


@dataclass(frozen=True)
class ImportEvent:
    """One event a row of an export records."""

    type: str
    at: datetime
    fields: dict[str, Any] = field(default_factory=dict)
    line: int = 0  # its own line in the file, when not the row's (JSON Lines)


@dataclass(frozen=True)
class ImportRow:
    """One row read from an export: its line in the file, case, team and events in order."""

    line: int
    case: str
    team: str
    events: tuple[ImportEvent, ...]
    worker: str | None = None  # who holds the case now, dated allocation or not


class _LineRefused(EventError):
    """An event of a row refused, with the line it came from."""

    def __init__(self, line: int, reason: EventError) -> None:
        super().__init__(str(reason))
        self.line = line


@dataclass(frozen=True)
class RowRefusal:
    """A row that was not imported: its line and one sentence."""

    line: int
    reason: str


@dataclass
class ImportOutcome:
    """What an import stored (or, in a dry run, would store)."""

    cases_created: int = 0
    cases_updated: int = 0
    events: int = 0
    unchanged: int = 0  # rows whose every event is already stored
    overdue: int = 0  # open deadlines of the imported cases already past due
    due_this_week: int = 0  # open deadlines due from now to Sunday
    reallocated: int = 0  # stored cases the export gives another worker
    refused: list[RowRefusal] = field(default_factory=list)
    # team -> the deadlines this run found already missed before the import (not in a dry
    # run): its managers' one summary, instead of a prompt each.
    missed: dict[str, list[str]] = field(default_factory=dict)


def _deadline_dict(d: Deadline, case_id: int, now: datetime) -> dict[str, Any]:
    return {"case_id": case_id, "rule": d.rule, "seq": d.seq, "title": d.title, "due": d.due,
            "status": d.status, "met_at": d.met_at, "met_by_event": d.met_by_event,
            "owner": d.owner, "anchor_at": d.anchor_at, "hourly": d.hourly,
            "delay_reason": d.delay_reason, "unit": d.unit, "stopped_at": d.stopped_at,
            "stopped_by_event": d.stopped_by_event, "computed_at": now}


def end_of_week(now: datetime) -> datetime:
    """Sunday midnight (London) ending `now`'s week: "due this week" runs up to it."""
    local = now.astimezone(LONDON)
    monday = local.date() - timedelta(days=local.weekday())
    return datetime.combine(monday + timedelta(days=7), datetime.min.time(), tzinfo=LONDON)


@dataclass(frozen=True)
class _Target:
    """A case events are imported into: its id and pack, and its ORM row if it was stored
    before this import (None for a case this chunk creates)."""

    id: int
    policy: str
    team: str
    stored: Case | None


def _worker(events: Sequence[Event]) -> str | None:
    """The worker of the last allocation among `events`, if any."""
    found = None
    for e in events:
        if e.type == "allocated" and e.fields.get("worker"):
            found = str(e.fields["worker"])
    return found


def _missed_line(d: Deadline) -> str:
    due = d.due.astimezone(LONDON)
    return f"{d.case} {d.title} (due {due:%a} {due.day} {due:%b %Y})"


class CaseloadImport:
    """Imports rows into a casebook's store, a chunk of cases per transaction; with an
    outbox, the run's summary of deadlines already missed goes to it once all is stored."""

    def __init__(self, casebook: Casebook, actor: str, source: str,
                 outbox: Outbox | None = None) -> None:
        self.casebook = casebook
        self.actor = actor
        self.source = source[:128]
        self.outbox = outbox
        self._planners: dict[str, Planner] = {}  # per pack: stage times are cached in it

    def run(self, rows: Sequence[ImportRow], dry_run: bool = False,
            progress: Callable[[int], None] | None = None,
            now: datetime | None = None) -> ImportOutcome:
        """Import `rows` (or, with `dry_run`, check and count them, storing nothing);
        `progress` is told how many rows each finished chunk held."""
        now = now or self.casebook.clock()
        outcome = ImportOutcome()
        for start in range(0, len(rows), CHUNK):
            part = rows[start:start + CHUNK]
            try:
                self._chunk(part, now, dry_run, outcome)
            except IntegrityError:
                # A new event id clashed with a stored one (8 random characters), or another
                # process created one of these cases meanwhile: the chunk rolled back, so
                # go once more, with fresh ids and a fresh read.
                self._chunk(part, now, dry_run, outcome)
            if progress is not None:
                progress(len(part))
        if not dry_run and outcome.missed and self.outbox is not None:
            # Only now that every chunk is stored: a sweep between chunks plans no summary,
            # and this run's summary has a key of its own (a random run id), so a second
            # import the same day is summarised too.
            self.outbox.add_import_summaries(outcome.missed, now.astimezone(LONDON).date(),
                                             secrets.token_hex(4), now)
        return outcome

    def _chunk(self, rows: Sequence[ImportRow], now: datetime, dry_run: bool,
               total: ImportOutcome) -> None:
        outcome = ImportOutcome()
        book = self.casebook
        with book.sessions() as s:
            teams = {t.name: t for t in s.scalars(select(Team))}
            cases = {c.reference: c for c in s.scalars(
                select(Case).where(Case.reference.in_([r.case for r in rows])))}
            by_id = {c.id: c.reference for c in cases.values()}
            held: dict[str, list[Event]] = defaultdict(list)
            if by_id:
                # Columns, not ORM objects: a re-import reads every event of its cases.
                for er in s.execute(select(EventRow.case_id, EventRow.id, EventRow.type,
                                           EventRow.at, EventRow.fields, EventRow.seq)
                                    .where(EventRow.case_id.in_(list(by_id)))
                                    .order_by(EventRow.seq)):
                    held[by_id[er.case_id]].append(row_to_event(er, by_id[er.case_id]))  # type: ignore[arg-type]
            accepted: list[tuple[ImportRow, list[Event], list[Event]]] = []
            for row in rows:
                try:
                    if row.case not in cases and row.team not in teams:
                        raise _LineRefused(row.line, EventError(
                            f"there is no team '{row.team}': teams are "
                            f"{', '.join(sorted(teams)) or 'none yet'}."))
                    checked = self._check(row, held[row.case], now)
                except _LineRefused as err:
                    outcome.refused.append(RowRefusal(err.line, str(err)))
                    continue
                if checked is None:
                    stored = cases.get(row.case)
                    if row.worker is None or stored is None or (
                            stored.allocated_worker == row.worker):
                        outcome.unchanged += 1
                        continue
                    # Nothing new but the worker: a reallocation, not "already stored".
                    checked = (held[row.case], [])
                accepted.append((row, *checked))
            # Core inserts (one executemany each), not ORM objects: a tenth of the time.
            new_cases = [{"reference": row.case, "team_id": teams[row.team].id,
                          "policy": teams[row.team].policy, "imported_at": now,
                          "created_at": now, "allocated_worker": row.worker or _worker(new)}
                         for row, _, new in accepted if row.case not in cases]
            team_of = {t.id: t.name for t in teams.values()}
            targets = {c.reference: _Target(c.id, c.policy, team_of.get(c.team_id, ""), c)
                       for c in cases.values()}
            if new_cases:
                s.connection().execute(insert(cast(Table, Case.__table__)), new_cases)
                policy = {str(c["reference"]): str(c["policy"]) for c in new_cases}
                team_by_ref = {row.case: row.team for row, _, _ in accepted}
                targets.update((ref, _Target(case_id, policy[ref], team_by_ref[ref], None))
                               for ref, case_id in s.execute(
                                   select(Case.reference, Case.id).where(
                                       Case.reference.in_(list(policy)))))
            outcome.cases_created = len(new_cases)
            outcome.cases_updated = len(accepted) - len(new_cases)
            self._store(s, accepted, targets, now, outcome, dry_run)
            if dry_run:
                s.rollback()
            else:
                s.commit()
        total.cases_created += outcome.cases_created
        total.cases_updated += outcome.cases_updated
        total.events += outcome.events
        total.unchanged += outcome.unchanged
        total.overdue += outcome.overdue
        total.due_this_week += outcome.due_this_week
        total.reallocated += outcome.reallocated
        total.refused.extend(outcome.refused)
        for team, lines in outcome.missed.items():
            total.missed.setdefault(team, []).extend(lines)

    def _check(self, row: ImportRow, stored: list[Event], now: datetime
               ) -> tuple[list[Event], list[Event]] | None:
        """The case's events after import and those new, each checked as `log` checks it;
        None when every event of the row is stored already."""
        known = {(e.type, e.at) for e in stored}
        fresh = [e for e in row.events if (e.type, e.at) not in known]
        if not fresh:
            return None
        if not stored and fresh[0].type not in OPENERS:
            raise _LineRefused(fresh[0].line or row.line, EventError(
                f"case {row.case} is new and its first event is {fresh[0].type}: a case starts "
                "with a contact or a referral, so give its contact_received or "
                "referral_received first."))
        events = list(stored)
        order = max((e.order for e in stored), default=0)
        new = []
        for ie in fresh:
            try:
                ref, clean = self.casebook._prepare(row.case, ie.type, ie.at, ie.fields)
                order += 1
                candidate = Event(id=new_event_id(), case=ref, type=ie.type, at=ie.at,
                                  fields=clean, order=order)
                check_new_event(events, candidate, now)
            except EventError as err:
                raise _LineRefused(ie.line or row.line, err) from None
            events.append(candidate)
            new.append(candidate)
        return events, new

    def _planner(self, policy: str) -> Planner:
        planner = self._planners.get(policy)
        if planner is None:
            library = self.casebook.library
            planner = self._planners[policy] = Planner(library.get(policy),
                                                       library.calendar(policy), {})
        return planner

    def _store(self, s: Session, accepted: list[tuple[ImportRow, list[Event], list[Event]]],
               targets: dict[str, _Target], now: datetime, outcome: ImportOutcome,
               dry_run: bool = False) -> None:
        recorded = utcnow()
        week_end = end_of_week(now)
        event_rows: list[dict[str, Any]] = []
        deadline_rows: list[dict[str, Any]] = []
        audit_rows: list[dict[str, Any]] = []
        updated = [targets[row.case].id for row, _, _ in accepted
                   if targets[row.case].stored is not None]
        # The deadlines the updated cases had before: a miss summarised by an earlier run
        # is not summarised again.
        before: dict[int, set[tuple[str, int, datetime]]] = defaultdict(set)
        if updated and not dry_run:
            for case_id, rule, seq, due in s.execute(
                    select(DeadlineRow.case_id, DeadlineRow.rule, DeadlineRow.seq,
                           DeadlineRow.due).where(DeadlineRow.case_id.in_(updated))):
                before[case_id].add((rule, seq, due))
        for row, events, new in accepted:
            case = targets[row.case]
            for e in new:
                event_rows.append({"id": e.id, "case_id": case.id, "type": e.type,
                                   "at": e.at, "fields": _json_fields(dict(e.fields)),
                                   "recorded_by": self.actor, "recorded_at": recorded,
                                   "source": self.source, "request_id": None})
            worker = row.worker or _worker(new)
            detail: dict[str, Any] = {"case": row.case, "events": len(new)}
            if case.stored is not None and worker is not None and (
                    worker != case.stored.allocated_worker):
                case.stored.allocated_worker = worker
                outcome.reallocated += 1
                detail["reallocated"] = True
            # Missed before the import: the moment the case was imported (this run, or an
            # earlier one for a case it updates); a case first logged in chat has none.
            imported_at = now if case.stored is None else case.stored.imported_at
            info = CaseInfo(row.case, case.team, worker, imported_at=imported_at)
            planner = self._planner(case.policy)
            for d in compute_case(planner.pack, planner.cal, row.case, events, now):
                deadline_rows.append(_deadline_dict(d, case.id, now))
                if d.open and d.status == "overdue":
                    outcome.overdue += 1
                    if (not dry_run and imported_at is not None
                            and (d.rule, d.seq, d.due) not in before[case.id]
                            and planner.missed_at_import(d, info)):
                        outcome.missed.setdefault(case.team, []).append(_missed_line(d))
                elif d.open and d.due < week_end:
                    outcome.due_this_week += 1
            # References and counts only, as every audit entry: never case content.
            audit_rows.append({"at": recorded, "actor": self.actor, "source": self.source,
                               "action": "case_imported", "detail": detail})
            outcome.events += len(new)
        if updated:
            s.execute(delete(DeadlineRow).where(DeadlineRow.case_id.in_(updated)))
        for model, values in ((EventRow, event_rows), (DeadlineRow, deadline_rows),
                              (AuditEntry, audit_rows)):
            if values:
                s.connection().execute(insert(cast(Table, model.__table__)), values)
        s.flush()


__all__ = ["CHUNK", "CaseloadImport", "ImportEvent", "ImportOutcome", "ImportRow",
           "RowRefusal"]
