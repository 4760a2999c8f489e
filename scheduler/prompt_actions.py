"""What people do with a prompt: snooze it, tick its checklist. State lives in the store.

A snooze belongs to the person (or the team channel) whose prompt it was: it puts a copy of
that one delivered row back in the outbox for the next working morning. When the copy comes
due, the sweep (`refresh_snoozed`) plans its deadline again at that moment: if a later stage
has been reached meanwhile ("overdue"), the copy is dropped, since that stage's own prompt
goes instead; otherwise it is rendered again, with the checklist as it is then.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from scheduler.messages import render_prompt
from scheduler.notify import (
    CaseInfo,
    Planned,
    Planner,
    TeamPeople,
    in_working_hours,
    next_working_morning,
    snoozable,
)
from scheduler.packs import PackLibrary
from scheduler.timescales.calendar import WorkingCalendar
from scheduler.timescales.engine import Deadline
from scheduler.timescales.vocabulary import EventError
from store.models import Case, ChecklistTick, DeadlineRow, OutboxRow, Snooze, Team
from store.repo import open_deadline_clause

SNOOZED = ":snoozed:"  # in the key of a snoozed copy, after the original row's key
REFRESH_AHEAD = timedelta(minutes=2)  # a copy is re-planned this long before it comes due


def snooze(sessions: sessionmaker[Session], cal: WorkingCalendar, case: str, rule: str,
           seq: int, stage: str, by: str, now: datetime, channel: str | None = None
           ) -> datetime:
    """Put `by`'s prompt off to the next working morning (or the prompt in `channel`, when
    it was clicked in a team channel); returns when it comes back."""
    if not snoozable(stage):
        raise EventError("escalations and exceptions cannot be snoozed: they need action.")
    until = next_working_morning(now, cal)
    recipients = [f"staff:{by}", *([f"channel:{channel}"] if channel else [])]
    with sessions.begin() as s:
        # For the record only (who last snoozed this stage): what comes back, and to whom,
        # is the outbox copy below.
        existing = s.scalar(select(Snooze).where(Snooze.case_ref == case, Snooze.rule == rule,
                                                 Snooze.seq == seq, Snooze.stage == stage))
        if existing is None:
            s.add(Snooze(case_ref=case, rule=rule, seq=seq, stage=stage, until=until, by=by))
        else:
            existing.until, existing.by = until, by
        sent = s.scalars(select(OutboxRow).where(
            OutboxRow.case_ref == case, OutboxRow.rule == rule, OutboxRow.seq == seq,
            OutboxRow.stage == stage, OutboxRow.recipient.in_(recipients),
            OutboxRow.sent_at.is_not(None))).all()
        for row in sent:
            original = row.key.split(SNOOZED, 1)[0]  # a snoozed copy snoozed again
            key = f"{original}{SNOOZED}{until.date().isoformat()}"
            if s.scalar(select(OutboxRow.id).where(OutboxRow.key == key)) is None:
                s.add(OutboxRow(key=key, stage=row.stage, case_ref=row.case_ref, rule=row.rule,
                                seq=row.seq, recipient=row.recipient, team=row.team,
                                transport=row.transport, urgent=False, payload=row.payload,
                                created_at=now, next_attempt_at=until, attempts=0))
    return until


def refresh_snoozed(s: Session, library: PackLibrary, teams: Mapping[str, TeamPeople],
                    now: datetime) -> tuple[int, int]:
    """Re-plan the snoozed copies coming due within REFRESH_AHEAD, each at the moment it
    comes back: drop it if its recipient has reached a later stage (or nothing is due any
    more), else render it again with the current checklist. Returns (dropped, refreshed)."""
    rows = s.scalars(select(OutboxRow).where(
        OutboxRow.key.contains(SNOOZED), OutboxRow.sent_at.is_(None),
        OutboxRow.withdrawn_at.is_(None), OutboxRow.parked_at.is_(None),
        OutboxRow.next_attempt_at <= now + REFRESH_AHEAD)).all()
    dropped = refreshed = 0
    for row in rows:
        at = max(now, row.next_attempt_at)
        found = s.execute(
            select(DeadlineRow, Case, Team.name).join(Case, Case.id == DeadlineRow.case_id)
            .join(Team, Team.id == Case.team_id)
            .where(Case.reference == row.case_ref, DeadlineRow.rule == row.rule,
                   DeadlineRow.seq == row.seq, open_deadline_clause())).first()
        message = None
        if found is not None:
            d, case, team = found
            planner = Planner(library.get(case.policy), library.calendar(case.policy), teams)
            deadline = Deadline(case=case.reference, rule=d.rule, seq=d.seq, title=d.title,
                                due=d.due, status=d.status,  # type: ignore[arg-type]
                                met_at=None, met_by_event=None, owner=d.owner,
                                anchor_at=d.anchor_at, anchor_event="", hourly=d.hourly,
                                delay_reason=d.delay_reason, unit=d.unit)
            planned = [p for p in planner.plan_deadline(
                deadline, CaseInfo(case.reference, team, case.allocated_worker), at,
                in_working_hours(at, planner.cal))
                if p.recipient == row.recipient and row.key.startswith(p.key)]
            if planned:
                message = _render(s, library, planner, planned[0], at)
        if message is None:
            row.withdrawn_at = now
            dropped += 1
        elif message != row.payload:
            row.payload = message
            refreshed += 1
    return dropped, refreshed


def _render(s: Session, library: PackLibrary, planner: Planner, p: Planned,
            at: datetime) -> dict[str, Any]:
    rule = planner.rules.get(p.rule)
    checklist = library.checklists.get(rule.checklist) if rule and rule.checklist else None
    ticked = s.scalars(select(ChecklistTick.item).where(
        ChecklistTick.case_ref == p.case, ChecklistTick.rule == p.rule,
        ChecklistTick.seq == p.seq)).all()
    return render_prompt(p, rule, planner.pack, planner.cal, at, checklist, ticked)


def set_ticks(sessions: sessionmaker[Session], case: str, rule: str, seq: int,
              items: Iterable[int], by: str) -> int:
    """Record which checklist items are done (the whole set, as the checkboxes show it: an
    empty set unticks everything)."""
    chosen = sorted(set(items))
    with sessions.begin() as s:
        s.execute(delete(ChecklistTick).where(ChecklistTick.case_ref == case,
                                              ChecklistTick.rule == rule,
                                              ChecklistTick.seq == seq))
        for i in chosen:
            s.add(ChecklistTick(case_ref=case, rule=rule, seq=seq, item=i, by=by))
    return len(chosen)
