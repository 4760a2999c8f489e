"""The notification outbox: the sweep writes rows, workers claim, send and mark them.

All state lives in the database, so nothing goes twice and nothing is lost across restarts,
crashes and several processes:
- a row's `key` is unique per (deadline, due, stage, recipient): the sweep inserts with
  ON CONFLICT DO NOTHING, however often and from however many processes it runs;
- a worker claims rows with one UPDATE (FOR UPDATE SKIP LOCKED on PostgreSQL), sends, and
  marks them sent; a claim left by a dead process expires after LEASE and is taken again;
- failures back off exponentially with jitter over more than an hour, honour Retry-After
  (without using up an attempt), and park after MAX_ATTEMPTS or a refusal, telling the admins
  Slack's own error; `retry_parked` queues parked rows again; a deadline that is met,
  cancelled or moved withdraws its unsent rows.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any, Protocol, cast

from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from scheduler.casebook import row_to_event
from scheduler.messages import (
    digest_sections,
    render_digest,
    render_prompt,
    render_service_summary,
)
from scheduler.notify import (
    CaseInfo,
    Planned,
    Planner,
    TeamPeople,
    digest_due,
    digest_plans,
    in_working_hours,
    next_hours_boundary,
    service_summary_plans,
)
from scheduler.packs import PackLibrary
from scheduler.prompt_actions import refresh_snoozed
from scheduler.timescales.engine import Deadline, compute_case
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
from store.repo import awaiting_authorisation, open_deadline_clause

log = logging.getLogger("caseclock.outbox")  # ids and counts only, never case content

LEASE = timedelta(minutes=2)
# Back-off: 5 s doubled each attempt up to 20 minutes, +-25% jitter. Twelve attempts span
# 81 minutes (at least 61 with the worst jitter), so a Slack outage of up to an hour is
# ridden out instead of parking every reminder within minutes.
MAX_ATTEMPTS = 12
BASE_BACKOFF = 5.0  # seconds
MAX_BACKOFF = 1200.0
JITTER = 0.25
AMBIGUOUS = "ambiguous"  # a failure after which the message may still have been delivered
CHANNEL_PACE = 1.0  # seconds between two messages to one channel (Slack's guidance)
HOLD_FOR_PACE = 2.0  # seconds a worker waits for a channel's turn before deferring a row


def backoff(attempts: int, base: float = BASE_BACKOFF) -> float:
    """Seconds to wait after the `attempts`-th failure (1-based), with jitter."""
    delay = float(min(MAX_BACKOFF, base * 2 ** (attempts - 1)))
    return delay * random.uniform(1 - JITTER, 1 + JITTER)


class TransportError(Exception):
    """A failed send; `retry_after` (seconds) when the other side said when to come back."""

    def __init__(self, message: str, retry_after: float | None = None,
                 permanent: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class Transport(Protocol):
    """Delivers one message to one recipient ("staff:NAME" or "channel:ID")."""

    def send(self, recipient: str, message: dict[str, Any]) -> None: ...


# --- context from the store ---------------------------------------------------------------

def _teams(s: Session) -> dict[str, TeamPeople]:
    # Imported here so this change stays within this function (the module's imports are
    # edited by others); the repo is already a dependency of this module.
    from store.repo import oversight_by_staff

    staff = s.scalars(select(Staff).where(Staff.active.is_(True))).all()
    service_staff = [st for st in staff if st.role == "service_manager"]
    oversight = oversight_by_staff(s)
    out = {}
    for t in s.scalars(select(Team)).all():
        managers = tuple(sorted(st.name for st in staff
                                if st.team_id == t.id and st.role == "manager"))
        # A team's service managers are those who oversee it: named it, or gave no list (and
        # so oversee every team). When nobody does, all of them, so no escalation is lost.
        service = tuple(sorted(st.name for st in service_staff
                               if st.id not in oversight or t.id in oversight[st.id])
                        ) or tuple(sorted(st.name for st in service_staff))
        hh, mm = (int(x) for x in (t.digest_at or "08:30").split(":"))
        out[t.name] = TeamPeople(t.name, managers, service, t.slack_channel, t.ooh_channel,
                                 dtime(hh, mm), t.policy)
    return out


def _awaiting_authorisation(s: Session) -> dict[int, datetime]:
    return awaiting_authorisation(s)


@dataclass
class SweepResult:
    """What one sweep did."""

    created: int = 0
    withdrawn: int = 0
    planned: int = 0
    refreshed: int = 0  # snoozed prompts re-rendered or dropped as they come back


@dataclass
class _Plan:
    """Everything due at one instant, before rendering: rendering is the costly part, so the
    sweep renders only what the outbox does not hold yet."""

    now: datetime
    teams: dict[str, TeamPeople]
    items: list[tuple[Planned, Planner | None]]  # None: a digest or a manager's summary


KEY_CHUNK = 2000  # values per IN (...) query: within SQLite's and PostgreSQL's limits
INSERT_CHUNK = 500  # rows per bulk INSERT


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


class Outbox:
    """Creates notification rows from deadlines and delivers them."""

    def __init__(self, sessions: sessionmaker[Session], library: PackLibrary,
                 transports: dict[str, Transport] | None = None,
                 transport_for: Callable[[str], str] | None = None,
                 worker_id: str | None = None, lease: timedelta = LEASE,
                 pace: float = CHANNEL_PACE, base_backoff: float = BASE_BACKOFF) -> None:
        self.sessions = sessions
        self.library = library
        self.transports = transports or {}
        self.transport_for = transport_for or (lambda _recipient: "console")
        self.worker_id = worker_id or uuid.uuid4().hex[:12]
        self.lease, self.pace, self.base_backoff = lease, pace, base_backoff
        self._last_sent: dict[str, float] = {}
        self._pace_lock = threading.Lock()
        # The last sweep's plan of each open deadline (see _plan), valid for these teams.
        self._memo: dict[tuple[Any, ...], tuple[datetime, datetime, list[Planned]]] = {}
        self._memo_teams: dict[str, TeamPeople] = {}

    # --- planning ------------------------------------------------------------------------

    def plan(self, now: datetime) -> list[tuple[Planned, dict[str, Any]]]:
        """Every notification due at `now` with its rendered message, as if nothing had been
        sent and nothing snoozed (`caseclock notify --dry-run`).

        The deadlines are computed from the events at `now` by the engine rather than read
        from the store, so a preview of a later moment includes what only time creates (the
        next of a recurring review) before the hourly recompute has stored it.
        """
        with self.sessions() as s:
            plan = self._preview(s, now)
            return self._render(s, plan, plan.items)

    def _preview(self, s: Session, now: datetime) -> _Plan:
        teams = _teams(s)
        team_names = dict(s.execute(select(Team.id, Team.name)).all())
        awaiting = _awaiting_authorisation(s)
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
                            awaiting.get(case_id))
            plan.items.extend((p, planner) for p in planner.plan_case(deadlines, info, now))
        self._add_digests(plan, teams, now)
        return plan

    def _plan(self, s: Session, now: datetime) -> _Plan:
        """Plan (without rendering) from the stored open deadlines.

        This runs every minute over every open deadline, so it reads columns, not ORM
        objects, and reuses a deadline's plan from the last sweep while its stored row is
        unchanged and no stage (nor working hours) has begun since: only deadlines that moved
        or reached a stage boundary are planned again.
        """
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
                   DeadlineRow.rule, DeadlineRow.seq, DeadlineRow.title, DeadlineRow.due,
                   DeadlineRow.status, DeadlineRow.owner, DeadlineRow.anchor_at,
                   DeadlineRow.hourly, DeadlineRow.delay_reason, DeadlineRow.unit)
            .select_from(DeadlineRow).join(Case, Case.id == DeadlineRow.case_id)
            .where(open_deadline_clause()))
        for row in rows:
            key = tuple(row)
            (ref, team_id, policy, worker, rule, seq, title, due, status, owner, anchor,
             hourly, reason, unit) = key
            planner = planner_for(policy)
            hit = self._memo.get(key)
            if hit is None or not hit[0] <= now < hit[1]:
                d = Deadline(case=ref, rule=rule, seq=seq, title=title, due=due, status=status,
                             met_at=None, met_by_event=None, owner=owner, anchor_at=anchor,
                             anchor_event="", hourly=hourly, delay_reason=reason, unit=unit)
                info = CaseInfo(ref, team_names[team_id], worker)
                hit = (now, min(planner.next_change(d, now), boundary),
                       planner.plan_deadline(d, info, now, working[policy]))
            memo[key] = hit
            plan.items.extend((p, planner) for p in hit[2])
        self._memo = memo  # deadlines no longer open drop out
        awaiting = _awaiting_authorisation(s)
        for part in _chunks(list(awaiting), KEY_CHUNK):
            for case_id, ref, team_id, policy, worker in s.execute(
                    select(Case.id, Case.reference, Case.team_id, Case.policy,
                           Case.allocated_worker).where(Case.id.in_(list(part)))):
                planner = planner_for(policy)
                info = CaseInfo(ref, team_names[team_id], worker, awaiting[case_id])
                plan.items.extend((p, planner) for p in planner.plan_nudge(
                    info, now, working[policy]))
        self._add_digests(plan, teams, now)
        return plan

    def _add_digests(self, plan: _Plan, teams: dict[str, TeamPeople], now: datetime) -> None:
        """The digests and summaries due at `now` (each team's own time, its working days)."""
        digest_days: dict[str, date] = {}
        for team in teams.values():
            day = digest_due(team, self.library.calendar(team.policy), now)
            if day is not None:
                digest_days[team.name] = day
                plan.items.extend((p, None) for p in digest_plans(team, day))
        plan.items.extend((p, None) for p in service_summary_plans(teams, digest_days))

    def _render(self, s: Session, plan: _Plan, items: Sequence[tuple[Planned, Planner | None]]
                ) -> list[tuple[Planned, dict[str, Any]]]:
        """The messages of `items` (prompts with current checklist progress, digests)."""
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
        out: list[tuple[Planned, dict[str, Any]]] = []
        for p, planner in items:
            if planner is None and p.details.get("kind") == "service":
                out.append((p, render_service_summary(sections, p, plan.now)))
                continue
            if planner is None:
                out.append((p, render_digest(sections[p.team], p, plan.teams[p.team],
                                             plan.now)))
                continue
            rule = planner.rules.get(p.rule)
            checklist = self.library.checklists.get(rule.checklist) if rule and (
                rule.checklist) else None
            out.append((p, render_prompt(p, rule, planner.pack, planner.cal, plan.now,
                                         checklist, ticks.get((p.case, p.rule, p.seq), ()))))
        return out

    # --- the sweep -----------------------------------------------------------------------

    def sweep(self, now: datetime) -> SweepResult:
        """Insert what is due (once, whatever ran before) and withdraw what no longer is.

        Keys are cheap and messages are not: the sweep plans every key, asks the outbox
        which it already holds, and renders and inserts only the new ones. Planning reads
        outside the write transaction, which on SQLite would block every command's write.
        """
        result = SweepResult()
        with self.sessions() as s:
            plan = self._plan(s, now)
            result.planned = len(plan.items)
            unique = {p.key: (p, planner) for p, planner in plan.items}
            held = self._held_keys(s, list(unique))
            rendered = self._render(s, plan, [v for k, v in unique.items() if k not in held])
        # A write transaction per chunk, not one for all: on SQLite a long one would hold
        # back every command's write. Each insert is idempotent, so a crash between chunks
        # only leaves the rest to the next sweep.
        for part in _chunks(rendered, INSERT_CHUNK):
            with self.sessions.begin() as s:
                result.created += self._insert(s, part, now)
        with self.sessions.begin() as s:
            result.withdrawn = self._withdraw(s, now, set(unique))
            dropped, result.refreshed = refresh_snoozed(s, self.library, plan.teams, now)
            result.withdrawn += dropped
        if result.created or result.withdrawn:
            log.info("sweep: %d created, %d withdrawn", result.created, result.withdrawn)
        return result

    @staticmethod
    def _held_keys(s: Session, keys: Sequence[str]) -> set[str]:
        """Which of `keys` the outbox already holds (in any state), a chunk per query."""
        held: set[str] = set()
        for part in _chunks(keys, KEY_CHUNK):
            held.update(s.scalars(select(OutboxRow.key).where(OutboxRow.key.in_(list(part)))))
        return held

    def _insert(self, s: Session, rendered: Sequence[tuple[Planned, dict[str, Any]]],
                now: datetime) -> int:
        """Bulk-insert new rows; ON CONFLICT DO NOTHING still guards a race with another
        process's sweep, so each key is created once. Returns how many were created."""
        if not rendered:
            return 0
        table = cast(Table, OutboxRow.__table__)
        insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = insert(table).on_conflict_do_nothing(index_elements=["key"]).returning(
            table.c.id)
        rows = [{"key": p.key, "stage": p.stage, "case_ref": p.case, "rule": p.rule,
                 "seq": p.seq, "recipient": p.recipient, "team": p.team,
                 "transport": self.transport_for(p.recipient), "urgent": p.urgent,
                 "payload": message, "created_at": now, "next_attempt_at": now, "attempts": 0}
                for p, message in rendered]
        return len(s.connection().execute(stmt, rows).all())

    def _withdraw(self, s: Session, now: datetime, planned: set[str]) -> int:
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
        for part in _chunks(refs, KEY_CHUNK):
            open_deadlines.update(
                f"{ref}:{rule}:{seq}:{due.isoformat()}:"
                for ref, rule, seq, due in s.execute(
                    select(Case.reference, DeadlineRow.rule, DeadlineRow.seq, DeadlineRow.due)
                    .join(Case, Case.id == DeadlineRow.case_id)
                    .where(open_deadline_clause(), Case.reference.in_(list(part)))))
        awaiting: set[str] = set()
        if any(rule == "awaiting_authorisation" for _, _, _, rule, _, _ in pending):
            awaiting = set(s.scalars(select(Case.reference).where(
                Case.id.in_(list(_awaiting_authorisation(s))))))
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
        for part in _chunks(gone, KEY_CHUNK):
            s.execute(update(OutboxRow).where(OutboxRow.id.in_(list(part)),
                                              OutboxRow.sent_at.is_(None))
                      .values(withdrawn_at=now))
        return len(gone)

    # --- delivery ------------------------------------------------------------------------

    def claim(self, now: datetime, limit: int = 50) -> list[tuple[OutboxRow, datetime | None]]:
        """Atomically take up to `limit` rows ready to send.

        Each comes with the time of an earlier claim that expired (a process died holding
        it), so the sender can check whether that attempt got through before resending.
        """
        ready = and_(OutboxRow.sent_at.is_(None), OutboxRow.withdrawn_at.is_(None),
                     OutboxRow.parked_at.is_(None), OutboxRow.next_attempt_at <= now,
                     or_(OutboxRow.claimed_at.is_(None),
                         OutboxRow.claimed_at < now - self.lease))
        with self.sessions.begin() as s:
            candidates = select(OutboxRow.id, OutboxRow.claimed_at).where(ready).order_by(
                OutboxRow.urgent.desc(), OutboxRow.id).limit(limit)
            if s.get_bind().dialect.name == "postgresql":
                candidates = candidates.with_for_update(skip_locked=True)
            previous = {row_id: claimed for row_id, claimed in s.execute(candidates).all()}
            if not previous:
                return []
            # `ready` again in the UPDATE: a row another process took meanwhile is skipped.
            claimed = s.scalars(update(OutboxRow).where(OutboxRow.id.in_(list(previous)), ready)
                                .values(claimed_by=self.worker_id, claimed_at=now)
                                .returning(OutboxRow)).all()
            return [(row, previous.get(row.id)) for row in claimed]

    def _pace(self, recipient: str) -> float:
        """Seconds to wait before `recipient` may get another message."""
        with self._pace_lock:
            last = self._last_sent.get(recipient)
            wait = 0.0 if last is None else max(0.0, last + self.pace - time.monotonic())
            if wait == 0.0:
                self._last_sent[recipient] = time.monotonic()
            return wait

    def _mark(self, row_id: int, **values: Any) -> None:
        with self.sessions.begin() as s:
            s.execute(update(OutboxRow).where(OutboxRow.id == row_id,
                                              OutboxRow.claimed_by == self.worker_id)
                      .values(**values))

    def deliver_one(self, row: OutboxRow, clock: Callable[[], datetime],
                    recovered_since: datetime | None = None) -> str:
        """Send one claimed row: 'sent', 'deferred', 'retry' or 'parked'."""
        wait = self._pace(row.recipient)
        while 0 < wait <= HOLD_FOR_PACE:
            # Hold the claim and wait for the channel's turn: cheaper than a write to defer
            # it, and the claim's lease is far longer.
            time.sleep(wait)
            wait = self._pace(row.recipient)
        if wait > 0:
            self._mark(row.id, claimed_by=None, claimed_at=None,
                       next_attempt_at=clock() + timedelta(seconds=wait))
            return "deferred"
        transport = self.transports.get(row.transport)
        try:
            if transport is None:
                raise TransportError(f"no transport {row.transport}", permanent=True)
            check = getattr(transport, "already_delivered", None)
            # After a crash mid-send or an ambiguous failure (a timeout: the message may have
            # arrived), ask the other side before sending again.
            since = recovered_since or (row.created_at if (row.last_error or "").startswith(
                AMBIGUOUS) else None)
            if since is not None and check is not None and check(
                    row.recipient, row.key, since - timedelta(seconds=5)):
                self._mark(row.id, sent_at=clock(), claimed_by=None)
                return "sent"
            transport.send(row.recipient, {**row.payload, "key": row.key})
            with self._pace_lock:  # pace from the answer: the other side counts arrivals
                self._last_sent[row.recipient] = time.monotonic()
        except TransportError as err:
            return self._failed(row, err, clock())
        except Exception as err:  # a timeout, a dropped connection: it may have got through
            return self._failed(row, TransportError(f"{AMBIGUOUS}: {type(err).__name__}"),
                                clock())
        self._mark(row.id, sent_at=clock(), claimed_by=None)
        return "sent"

    def _failed(self, row: OutboxRow, err: TransportError, now: datetime) -> str:
        # A 429 is Slack pacing us, not a failure of the message: it is retried when Slack
        # says, without using up an attempt (a busy morning must not park prompts).
        rate_limited = err.retry_after is not None and not err.permanent
        attempts = row.attempts + (0 if rate_limited else 1)
        if err.retry_after is not None:
            with self._pace_lock:
                self._last_sent[row.recipient] = time.monotonic() + err.retry_after
        if attempts >= MAX_ATTEMPTS or err.permanent:
            self._mark(row.id, attempts=attempts, parked_at=now, claimed_by=None,
                       last_error=str(err)[:500])
            if row.rule != "admin_alert":  # an alert that cannot be delivered is not alerted
                self._alert_admins(row, err, attempts, now)
            log.warning("outbox row %d parked after %d attempts", row.id, attempts)
            return "parked"
        delay = err.retry_after if err.retry_after is not None else backoff(
            attempts, self.base_backoff)
        self._mark(row.id, attempts=attempts, claimed_by=None, claimed_at=None,
                   last_error=str(err)[:500], next_attempt_at=now + timedelta(seconds=delay))
        return "retry"

    def _alert_admins(self, row: OutboxRow, err: TransportError, attempts: int,
                      now: datetime) -> None:
        why = (f"{err}" if err.permanent else
               f"{attempts} attempts over the last hour or more failed, the last with: {err}")
        text = (f"caseclock could not deliver notification {row.id} ({row.stage}, "
                f"{row.rule}, to {row.recipient.split(':', 1)[1]}): {why}. It is parked: "
                "once the cause is fixed, `caseclock notify --retry-parked` sends it again.")
        with self.sessions.begin() as s:
            admins = s.scalars(select(Staff.name).where(Staff.role == "admin",
                                                        Staff.active.is_(True))).all()
            for name in admins:
                recipient = f"staff:{name}"
                stmt = (pg_insert if s.get_bind().dialect.name == "postgresql"
                        else sqlite_insert)(OutboxRow).values(
                    # The parking moment is in the key: a row re-queued and parked again is
                    # reported again.
                    key=f"admin_alert:{row.id}:{now.isoformat()}:{recipient}",
                    stage="exception", case_ref="", rule="admin_alert", seq=0,
                    recipient=recipient, team=row.team,
                    transport=self.transport_for(recipient), urgent=False,
                    payload={"text": text}, created_at=now, next_attempt_at=now, attempts=0,
                ).on_conflict_do_nothing(index_elements=["key"])
                s.execute(stmt)

    def retry_parked(self, now: datetime) -> int:
        """Queue every parked row again, with fresh attempts (the admin's path once Slack's
        settings are fixed); returns how many. A row whose last try may have got through
        keeps its error, so it is checked with Slack before it is sent again."""
        with self.sessions.begin() as s:
            ids = list(s.scalars(select(OutboxRow.id).where(
                OutboxRow.parked_at.is_not(None), OutboxRow.sent_at.is_(None),
                OutboxRow.withdrawn_at.is_(None))))
            for part in _chunks(ids, KEY_CHUNK):
                s.execute(update(OutboxRow).where(OutboxRow.id.in_(list(part))).values(
                    parked_at=None, attempts=0, next_attempt_at=now, claimed_by=None,
                    claimed_at=None))
        if ids:
            log.info("re-queued %d parked rows", len(ids))
        return len(ids)

    def deliver(self, clock: Callable[[], datetime], limit: int = 50) -> dict[str, int]:
        """Claim and send what is ready now; returns counts by outcome."""
        counts: dict[str, int] = defaultdict(int)
        for row, recovered in self.claim(clock(), limit):
            counts[self.deliver_one(row, clock, recovered)] += 1
        return dict(counts)

    def next_due(self, now: datetime) -> datetime | None:
        """When the next unsent row may be claimed (None: nothing waits), so a delivery loop
        can sleep until then instead of ending its tick with rows a second away."""
        with self.sessions() as s:
            return s.scalar(select(func.min(OutboxRow.next_attempt_at)).where(
                OutboxRow.sent_at.is_(None), OutboxRow.withdrawn_at.is_(None),
                OutboxRow.parked_at.is_(None),
                or_(OutboxRow.claimed_at.is_(None), OutboxRow.claimed_at < now - self.lease)))

    def counts(self) -> dict[str, int]:
        """Rows by state (for checks and the admin's view)."""
        with self.sessions() as s:
            total = s.scalar(select(func.count()).select_from(OutboxRow)) or 0
            sent = s.scalar(select(func.count()).select_from(OutboxRow)
                            .where(OutboxRow.sent_at.is_not(None))) or 0
            parked = s.scalar(select(func.count()).select_from(OutboxRow)
                              .where(OutboxRow.parked_at.is_not(None))) or 0
            withdrawn = s.scalar(select(func.count()).select_from(OutboxRow)
                                 .where(OutboxRow.withdrawn_at.is_not(None))) or 0
        return {"total": total, "sent": sent, "parked": parked, "withdrawn": withdrawn}


def utc_now() -> datetime:
    """The real time."""
    return datetime.now(UTC)


__all__: Sequence[str] = ("Outbox", "Transport", "TransportError", "utc_now")
