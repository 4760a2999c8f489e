"""A stored deadline row as the engine's `Deadline`: one conversion for every reader.

Readers that select columns rather than ORM objects select `DEADLINE_COLUMNS` (their names
match `DeadlineRow`'s attributes, so a result row converts as an ORM row does).
"""

from __future__ import annotations

from typing import Any, cast

from scheduler.timescales.engine import Deadline, Status
from store.models import DeadlineRow

DEADLINE_COLUMNS = (DeadlineRow.rule, DeadlineRow.seq, DeadlineRow.title, DeadlineRow.due,
                    DeadlineRow.status, DeadlineRow.met_at, DeadlineRow.met_by_event,
                    DeadlineRow.owner, DeadlineRow.anchor_at, DeadlineRow.hourly,
                    DeadlineRow.delay_reason, DeadlineRow.unit, DeadlineRow.stopped_at,
                    DeadlineRow.stopped_by_event)


def deadline_from_row(row: Any, ref: str) -> Deadline:
    """The `Deadline` of case `ref` stored in `row` (a `DeadlineRow`, or a result row holding
    `DEADLINE_COLUMNS`), stop included. The anchoring event is not stored: it is empty."""
    return Deadline(case=ref, rule=row.rule, seq=row.seq, title=row.title, due=row.due,
                    status=cast(Status, row.status), met_at=row.met_at,
                    met_by_event=row.met_by_event, owner=row.owner, anchor_at=row.anchor_at,
                    anchor_event="", hourly=row.hourly, delay_reason=row.delay_reason,
                    unit=row.unit, stopped_at=row.stopped_at,
                    stopped_by_event=row.stopped_by_event)
