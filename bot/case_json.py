"""The object `caseclock case CASE --json` prints: the case, its whole timeline and its
deadlines, so a script reads from one command what a person reads from `caseclock case`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from bot.render import deadline_json, iso_local
from scheduler.casebook import CaseSummary, TimelineEntry
from scheduler.timescales.engine import Deadline


def _value(v: Any) -> Any:
    """A field value as JSON: instants in London ISO 8601, dates as 2026-11-21."""
    if isinstance(v, datetime):
        return iso_local(v)
    if isinstance(v, date):
        return v.isoformat()
    return v


def event_json(e: TimelineEntry) -> dict[str, Any]:
    """One event of the timeline, voided ones included and marked."""
    return {
        "id": e.id,
        "type": e.type,
        "at": iso_local(e.at),
        "fields": {k: _value(v) for k, v in e.fields.items()},
        "recorded_by": e.recorded_by,
        "recorded_at": iso_local(e.recorded_at),
        "source": e.source,
        "voided": e.voided,
    }


def case_json(summary: CaseSummary, timeline: Sequence[TimelineEntry],
              deadlines: Sequence[Deadline]) -> dict[str, Any]:
    """The case object: team, policy, worker, every event, and the `deadlines --json` objects."""
    return {
        "case": summary.reference,
        "team": summary.team,
        "policy": summary.policy,
        "allocated_worker": summary.allocated_worker,
        "events": [event_json(e) for e in timeline],
        "deadlines": [deadline_json(d) for d in deadlines],
    }
