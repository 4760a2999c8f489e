"""The notification outbox: the sweep writes rows, workers claim, send and mark them.

All state lives in the database, so nothing goes twice and nothing is lost across restarts,
crashes and several processes:
- a row's `key` is unique per (deadline, due, stage, recipient): the sweep inserts with
  ON CONFLICT DO NOTHING, however often and from however many processes it runs;
- a deadline that is met, cancelled or moved withdraws its unsent rows;
- workers claim, send and mark rows (scheduler/reminders/delivery.py; `Outbox` in
  scheduler/reminders/outbox.py puts the sweep and a delivery together): a claim left by a
  dead process expires and is taken again, failures back off over more than an hour, and
  what cannot be delivered is parked and the admins told.
"""

from __future__ import annotations

import gc
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as dtime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from scheduler.casebook import row_to_event
from scheduler.packs import PackLibrary
from scheduler.reminders.actions import refresh_snoozed
from scheduler.reminders.compose import (
    compose_digest,
    compose_import_summary,
    compose_prompt,
    compose_service_summary,
    digest_sections,
)
from scheduler.reminders.content import Content, to_json
from scheduler.reminders.delivery import KEY_CHUNK, chunks
from scheduler.reminders.planner import (
    CaseInfo,
    Planned,
    Planner,
    TeamPeople,
    digest_due,
    digest_plans,
    import_summary_plans,
    in_working_hours,
    next_hours_boundary,
    service_summary_plans,
    working_hours_from,
)
from scheduler.timescales.engine import compute_case
from scheduler.timescales.vocabulary import Event
from store.models import (
    Case,
    ChecklistTick,
    DeadlineRow,
    EventRow,
    OutboxRow,
    Staff,
    Team,
)
from store.repo import awaiting_authorisation, open_deadline_clause, overseers

log = logging.getLogger("caseclock.outbox")  # ids and counts only, never case content

# --- context from the store ---------------------------------------------------------------

@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for one bulk preview.

    A preview builds hundreds of thousands of long-lived objects (events, deadlines,
    messages); each burst of allocations sets off full collections that scan them all again
    and find nothing, about half the preview's time at 10,000 cases. Reference counting
    still frees everything as usual; the collector resumes, as it was, when the block ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _teams(s: Session) -> dict[str, TeamPeople]:
    managers: dict[int | None, list[str]] = defaultdict(list)
    for st in s.scalars(select(Staff).where(Staff.active.is_(True), Staff.role == "manager")
                        .order_by(Staff.name)):
        managers[st.team_id].append(st.name)
    # Who is told what a team's service managers are told: those who oversee it by the one
    # rule the chat also uses to let them open its cases (else the admins, who see it all).
    teams = s.scalars(select(Team)).all()
    service = overseers(s, [t.id for t in teams])
    out = {}
    for t in teams:
        hh, mm = (int(x) for x in (t.digest_at or "08:30").split(":"))
        out[t.name] = TeamPeople(t.name, tuple(managers[t.id]), tuple(service[t.id]),
                                 # a shared mailbox serves as the team's channel too
                                 bool(t.slack_channel or t.msteams_channel or t.digest_email),
                                 bool(t.ooh_channel), dtime(hh, mm), t.policy)
    return out


@dataclass
class SweepResult:
    """What one sweep did."""

    created: int = 0
    withdrawn: int = 0
    planned: int = 0
    refreshed: int = 0  # snoozed prompts composed again or dropped as they come back


@dataclass
class _Plan:
    """Everything due at one instant, before composing: composing is the costly part, so the
    sweep composes only what the outbox does not hold yet."""

    now: datetime
    teams: dict[str, TeamPeople]
    items: list[tuple[Planned, Planner | None]]  # None: a digest or a manager's summary
    # The references of the cases awaiting authorisation as planned (the sweep's plan only),
    # so withdrawing nudges does not read every completion again.
    awaiting: set[str] | None = None


INSERT_CHUNK = 500  # rows per bulk INSERT


class Sweep:
    """Creates notification rows from deadlines; a `Delivery` sends them."""

    def __init__(self, sessions: sessionmaker[Session], library: PackLibrary,
                 transport_for: Callable[[str], str] | None = None) -> None:
        self.sessions = sessions
        self.library = library
        self.transport_for = transport_for or (lambda _recipient: "console")
        # The last sweep's plan of each open deadline (see _plan), valid for these teams.
        self._memo: dict[tuple[Any, ...], tuple[datetime, datetime, list[Planned]]] = {}
        self._memo_teams: dict[str, TeamPeople] = {}

    # --- planning ------------------------------------------------------------------------

    def plan(self, now: datetime) -> list[tuple[Planned, Content]]:
        """Every notification due at `now` with its content, as if nothing had been
        sent and nothing snoozed (`caseclock notify --dry-run`).

        The deadlines are computed from the events at `now` by the engine rather than read
        from the store, so a preview of a later moment includes what only time creates (the
        next of a recurring review) before the hourly recompute has stored it.
        """
        with self.sessions() as s, _no_cyclic_gc():
            plan = self._preview(s, now)
            return self._compose(s, plan, plan.items)

    def _preview(self, s: Session, now: datetime) -> _Plan:
        teams = _teams(s)
        team_names = dict(s.execute(select(Team.id, Team.name)).all())
        awaiting = awaiting_authorisation(s)
        cases = {c.id: c for c in s.scalars(select(Case))}
        events: dict[int, list[Event]] = defaultdict(list)
        for row in s.scalars(select(EventRow).order_by(EventRow.seq)):
            events[row.case_id].append(row_to_event(row, cases[row.case_id].reference))
        planners: dict[str, Planner] = {}
        plan = _Plan(now, teams, [])
        for case_id, case in cases.items():
            planner = planners.get(case.policy)
            if planner is None:
                planner = planners[case.policy] = Planner(
                    self.library.get(case.policy), self.library.calendar(case.policy), teams)
            deadlines = compute_case(planner.pack, planner.cal, case.reference,
                                     events[case_id], now)
            info = CaseInfo(case.reference, team_names[case.team_id], case.allocated_worker,
                            awaiting.get(case_id), case.imported_at)
            plan.items.extend((p, planner) for p in planner.plan_case(deadlines, info, now))
        self._add_digests(plan, teams, now)
        return plan

    def _plan(self, s: Session, now: datetime) -> _Plan:
        """Plan (without composing) from the stored open deadlines.

        This runs every minute over every open deadline, so it reads columns, not ORM
        objects, and reuses a deadline's plan from the last sweep while its stored row is
        unchanged and no stage (nor working hours) has begun since: only deadlines that moved
        or reached a stage boundary are planned again.
        """
        from scheduler.reminders.rows import (  # imports: others edit them
            DEADLINE_COLUMNS,
            deadline_from_row,
        )

        teams = _teams(s)
        if teams != self._memo_teams:  # a change of staff or channels: plan everything again
            self._memo, self._memo_teams = {}, teams
        team_names = dict(s.execute(select(Team.id, Team.name)).all())
        planners: dict[str, Planner] = {}
        working: dict[str, bool] = {}
        boundary = next_hours_boundary(now)

        def planner_for(policy: str) -> Planner:
            planner = planners.get(policy)
            if planner is None:
                planner = planners[policy] = Planner(
                    self.library.get(policy), self.library.calendar(policy), teams)
                working[policy] = in_working_hours(now, planner.cal)
            return planner

        plan = _Plan(now, teams, [])
        memo: dict[tuple[Any, ...], tuple[datetime, datetime, list[Planned]]] = {}
        rows = s.execute(
            select(Case.reference, Case.team_id, Case.policy, Case.allocated_worker,
                   Case.imported_at, *DEADLINE_COLUMNS)
            .select_from(DeadlineRow).join(Case, Case.id == DeadlineRow.case_id)
            .where(open_deadline_clause()))
        for row in rows:
            key = tuple(row)
            ref, team_id, policy, worker, imported_at = key[:5]
            planner = planner_for(policy)
            hit = self._memo.get(key)
            if hit is None or not hit[0] <= now < hit[1]:
                d = deadline_from_row(row, ref)
                info = CaseInfo(ref, team_names[team_id], worker, imported_at=imported_at)
                hit = (now, min(planner.next_change(d, now), boundary),
                       planner.plan_deadline(d, info, now, working[policy]))
            memo[key] = hit
            plan.items.extend((p, planner) for p in hit[2])
        self._memo = memo  # deadlines no longer open drop out
        awaiting = awaiting_authorisation(s)
        plan.awaiting = set()
        for part in chunks(list(awaiting), KEY_CHUNK):
            for case_id, ref, team_id, policy, worker in s.execute(
                    select(Case.id, Case.reference, Case.team_id, Case.policy,
                           Case.allocated_worker).where(Case.id.in_(list(part)))):
                plan.awaiting.add(ref)
                planner = planner_for(policy)
                info = CaseInfo(ref, team_names[team_id], worker, awaiting[case_id])
                plan.items.extend((p, planner) for p in planner.plan_nudge(
                    info, now, working[policy]))
        self._add_digests(plan, teams, now)
        return plan

    def _add_digests(self, plan: _Plan, teams: dict[str, TeamPeople], now: datetime) -> None:
        """The digests and summaries due at `now` (each team's own time, its working days).
        A service manager's summary waits for the latest digest time of their teams."""
        from scheduler.timescales.calendar import LONDON  # the imports are others' to edit

        digest_days: dict[str, date] = {}
        later: list[str] = []  # a working day, but the team's digest time is still to come
        today = now.astimezone(LONDON).date()
        for team in teams.values():
            cal = self.library.calendar(team.policy)
            day = digest_due(team, cal, now)
            if day is not None:
                digest_days[team.name] = day
                plan.items.extend((p, None) for p in digest_plans(team, day))
            elif cal.is_working_day(today):
                later.append(team.name)
        plan.items.extend((p, None) for p in service_summary_plans(teams, digest_days, later))

    def add_import_summaries(self, missed: Mapping[str, Sequence[str]], day: date, run: str,
                             now: datetime) -> int:
        """Enqueue the summaries of one import run (team -> deadlines already missed before
        it), once the whole run has committed: made once, not looked for by every minute's
        sweep, and never cut short by a sweep between the import's chunks. A direct
        message, so it waits for the team's working hours as every other one does."""
        with self.sessions() as s:
            teams = _teams(s)
        created = 0
        for name, lines in sorted(missed.items()):
            if name not in teams:
                continue
            composed: list[tuple[Planned, Content]] = [(p, compose_import_summary(p))
                        for p in import_summary_plans(teams[name], day, run, lines)]
            send_at = working_hours_from(now, self.library.calendar(teams[name].policy))
            with self.sessions.begin() as s:
                created += self._insert(s, composed, now, send_at)
        return created

    def _compose(self, s: Session, plan: _Plan, items: Sequence[tuple[Planned, Planner | None]]
                ) -> list[tuple[Planned, Content]]:
        """The content of `items` (prompts with current checklist progress, digests)."""
        ticks: dict[tuple[str, str, int], set[int]] = defaultdict(set)
        if any(planner is not None for _, planner in items):
            for ref, rule_id, seq, item in s.execute(select(
                    ChecklistTick.case_ref, ChecklistTick.rule, ChecklistTick.seq,
                    ChecklistTick.item)):
                ticks[(ref, rule_id, seq)].add(item)
        digest_teams = {name for p, planner in items if planner is None
                        for name in p.details.get("teams") or (p.team,)}  # type: ignore[attr-defined]
        sections = digest_sections(s, plan.now, self.library, digest_teams) if (
            digest_teams) else {}
        out: list[tuple[Planned, Content]] = []
        for p, planner in items:
            if planner is None and p.details.get("kind") == "service":
                out.append((p, compose_service_summary(sections, p, plan.now)))
                continue
            if planner is None:
                out.append((p, compose_digest(sections[p.team], p, plan.teams[p.team],
                                              plan.now)))
                continue
            rule = planner.rules.get(p.rule)
            checklist = self.library.checklists.get(rule.checklist) if rule and (
                rule.checklist) else None
            out.append((p, compose_prompt(p, rule, planner.pack, planner.cal, plan.now,
                                          checklist, ticks.get((p.case, p.rule, p.seq), ()))))
        return out

    # --- the sweep -----------------------------------------------------------------------

    def sweep(self, now: datetime) -> SweepResult:
        """Insert what is due (once, whatever ran before) and withdraw what no longer is.

        Keys are cheap and messages are not: the sweep plans every key, asks the outbox
        which it already holds, and composes and inserts only the new ones. Planning reads
        outside the write transaction, which on SQLite would block every command's write.
        """
        result = SweepResult()
        with self.sessions() as s:
            plan = self._plan(s, now)
            result.planned = len(plan.items)
            unique = {p.key: (p, planner) for p, planner in plan.items}
            held = self._held_keys(s, list(unique))
            composed = self._compose(s, plan, [v for k, v in unique.items() if k not in held])
        # A write transaction per chunk, not one for all: on SQLite a long one would hold
        # back every command's write. Each insert is idempotent, so a crash between chunks
        # only leaves the rest to the next sweep.
        for part in chunks(composed, INSERT_CHUNK):
            with self.sessions.begin() as s:
                result.created += self._insert(s, part, now)
        with self.sessions.begin() as s:
            result.withdrawn = self._withdraw(s, now, set(unique), plan.awaiting)
            dropped, result.refreshed = refresh_snoozed(s, self.library, plan.teams, now)
            result.withdrawn += dropped
        if result.created or result.withdrawn:
            log.info("sweep: %d created, %d withdrawn", result.created, result.withdrawn)
        return result

    @staticmethod
    def _held_keys(s: Session, keys: Sequence[str]) -> set[str]:
        """Which of `keys` the outbox already holds (in any state), a chunk per query."""
        held: set[str] = set()
        for part in chunks(keys, KEY_CHUNK):
            held.update(s.scalars(select(OutboxRow.key).where(OutboxRow.key.in_(list(part)))))
        return held

    def _insert(self, s: Session, composed: Sequence[tuple[Planned, Content]],
                now: datetime, send_at: datetime | None = None) -> int:
        """Bulk-insert new rows (first sent at `send_at`, else now); ON CONFLICT DO NOTHING
        still guards a race with another process's sweep, so each key is created once.
        Returns how many were created."""
        if not composed:
            return 0
        table = cast(Table, OutboxRow.__table__)
        insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = insert(table).on_conflict_do_nothing(index_elements=["key"]).returning(
            table.c.id)
        rows = [{"key": p.key, "stage": p.stage, "case_ref": p.case, "rule": p.rule,
                 "seq": p.seq, "recipient": p.recipient, "team": p.team,
                 "transport": self.transport_for(p.recipient), "urgent": p.urgent,
                 "payload": to_json(content), "created_at": now, "next_attempt_at": send_at or now,
                 "attempts": 0}
                for p, content in composed]
        return len(s.connection().execute(stmt, rows).all())

    def _withdraw(self, s: Session, now: datetime, planned: set[str],
                  awaiting_refs: set[str] | None = None) -> int:
        # `awaiting_refs`: the cases awaiting authorisation as the plan found them (None:
        # read them here). The plan is a moment old; an authorisation in between leaves a
        # nudge for the next sweep to withdraw, as a plan's own keys are kept until then.
        # A row still applies if its deadline is open with the same due moment (its key
        # starts "case:rule:seq:due:"); a moved due date makes a new key and retires the old.
        # A row planned in this sweep applies; of the others only the unsent rows' cases are
        # looked up: a handful in the steady state.
        pending = s.execute(select(OutboxRow.id, OutboxRow.key, OutboxRow.case_ref,
                                   OutboxRow.rule, OutboxRow.seq, OutboxRow.stage).where(
            OutboxRow.sent_at.is_(None), OutboxRow.withdrawn_at.is_(None),
            OutboxRow.parked_at.is_(None), OutboxRow.stage != "digest",
            OutboxRow.rule != "admin_alert")).all()
        pending = [row for row in pending if row[1] not in planned]
        if not pending:
            return 0
        open_deadlines: set[str] = set()
        refs = sorted({ref for _, _, ref, rule, _, _ in pending
                       if rule != "awaiting_authorisation"})
        for part in chunks(refs, KEY_CHUNK):
            open_deadlines.update(
                f"{ref}:{rule}:{seq}:{due.isoformat()}:"
                for ref, rule, seq, due in s.execute(
                    select(Case.reference, DeadlineRow.rule, DeadlineRow.seq, DeadlineRow.due)
                    .join(Case, Case.id == DeadlineRow.case_id)
                    .where(open_deadline_clause(), Case.reference.in_(list(part)))))
        awaiting: set[str] = awaiting_refs if awaiting_refs is not None else set()
        if awaiting_refs is None and any(rule == "awaiting_authorisation"
                                         for _, _, _, rule, _, _ in pending):
            awaiting = set(s.scalars(select(Case.reference).where(
                Case.id.in_(list(awaiting_authorisation(s))))))
        gone = []
        for row_id, key, ref, rule, seq, stage in pending:
            if rule == "awaiting_authorisation":
                still = ref in awaiting
            else:
                # The due part holds colons of its own (an ISO time): cut it out between the
                # row's known fields rather than splitting the key on colons.
                head = f"{ref}:{rule}:{seq}:"
                due = key[len(head):].split(f":{stage}:", 1)[0]
                still = f"{head}{due}:" in open_deadlines
            if not still:
                gone.append(row_id)
        for part in chunks(gone, KEY_CHUNK):
            s.execute(update(OutboxRow).where(OutboxRow.id.in_(list(part)),
                                              OutboxRow.sent_at.is_(None))
                      .values(withdrawn_at=now))
        return len(gone)
