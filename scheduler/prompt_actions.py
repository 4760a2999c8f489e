"""What people do with a prompt: snooze it, tick its checklist. State lives in the store."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from scheduler.notify import next_working_morning, snoozable
from scheduler.timescales.calendar import WorkingCalendar
from scheduler.timescales.vocabulary import EventError
from store.models import ChecklistTick, OutboxRow, Snooze


def snooze(sessions: sessionmaker[Session], cal: WorkingCalendar, case: str, rule: str,
           seq: int, stage: str, by: str, now: datetime) -> datetime:
    """Put a prompt off to the next working morning; returns when it comes back."""
    if not snoozable(stage):
        raise EventError("escalations and exceptions cannot be snoozed: they need action.")
    until = next_working_morning(now, cal)
    with sessions.begin() as s:
        existing = s.scalar(select(Snooze).where(Snooze.case_ref == case, Snooze.rule == rule,
                                                 Snooze.seq == seq, Snooze.stage == stage))
        if existing is None:
            s.add(Snooze(case_ref=case, rule=rule, seq=seq, stage=stage, until=until, by=by))
        else:
            existing.until, existing.by = until, by
        # The prompt comes back then: a copy of the sent row, due at `until`.
        # Only the snoozer's own prompt: a manager's copy of it is theirs to snooze.
        sent = s.scalars(select(OutboxRow).where(
            OutboxRow.case_ref == case, OutboxRow.rule == rule, OutboxRow.seq == seq,
            OutboxRow.stage == stage, OutboxRow.recipient == f"staff:{by}",
            OutboxRow.sent_at.is_not(None))).all()
        for row in sent:
            key = f"{row.key}:snoozed:{until.date().isoformat()}"
            if s.scalar(select(OutboxRow.id).where(OutboxRow.key == key)) is None:
                s.add(OutboxRow(key=key, stage=row.stage, case_ref=row.case_ref, rule=row.rule,
                                seq=row.seq, recipient=row.recipient, team=row.team,
                                transport=row.transport, urgent=False, payload=row.payload,
                                created_at=now, next_attempt_at=until, attempts=0))
    return until


def set_ticks(sessions: sessionmaker[Session], case: str, rule: str, seq: int,
              items: Iterable[int], by: str) -> int:
    """Record which checklist items are done (the whole set, as the checkboxes show it)."""
    chosen = sorted(set(items))
    with sessions.begin() as s:
        s.execute(delete(ChecklistTick).where(ChecklistTick.case_ref == case,
                                              ChecklistTick.rule == rule,
                                              ChecklistTick.seq == seq))
        for i in chosen:
            s.add(ChecklistTick(case_ref=case, rule=rule, seq=seq, item=i, by=by))
    return len(chosen)
