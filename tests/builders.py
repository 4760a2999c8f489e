"""Small builders for engine tests: inline packs and events with London-local times."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from scheduler.timescales.calendar import LONDON, WorkingCalendar
from scheduler.timescales.engine import Deadline, compute_deadlines
from scheduler.timescales.rules import Pack, parse_pack_file, resolve
from scheduler.timescales.vocabulary import Event

SOURCE = {"document": "test.txt", "quote": "a sentence of a procedure under test"}
CAL = WorkingCalendar()
_order = itertools.count(1)


def rule(
    rule_id: str, due: dict[str, Any], anchor: Any, met_by: Any, **extra: Any
) -> dict[str, Any]:
    """A rule mapping as a pack file would hold it."""
    if isinstance(anchor, str):
        anchor = {"event": anchor}
    if isinstance(met_by, str):
        met_by = [{"event": met_by}]
    title = "rule " + rule_id.replace("_", " ")
    owner = extra.pop("owner", "worker")
    return {"id": rule_id, "title": title, "due": due, "anchor": anchor, "met_by": met_by,
            "owner": owner, "source": SOURCE, **extra}


def pack(*rules: dict[str, Any]) -> Pack:
    """A one-file pack holding `rules`."""
    pf = parse_pack_file("inline.yaml", {"name": "inline", "title": "Inline", "rules": list(rules)},
                         {})
    return resolve("inline", {"inline": pf})


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    """A London-local instant."""
    return datetime(y, m, d, hh, mm, tzinfo=LONDON)


def ev(type_: str, when: datetime, case: str = "123456", id_: str | None = None,
       **fields: Any) -> Event:
    """An event; ids and recording order are allocated in call order."""
    n = next(_order)
    return Event(id=id_ or f"e{n}", case=case, type=type_, at=when, fields=fields, order=n)


def deadlines(p: Pack, events: list[Event], now: datetime,
              cal: WorkingCalendar = CAL) -> list[Deadline]:
    """All deadlines of the events at `now`."""
    return compute_deadlines(p, cal, events, now)


def one(p: Pack, events: list[Event], now: datetime, rule_id: str | None = None,
        seq: int = 1) -> Deadline:
    """The single deadline of a rule (the only rule when not named)."""
    found = [d for d in deadlines(p, events, now)
             if (rule_id is None or d.rule == rule_id) and d.seq == seq]
    assert len(found) == 1, found
    return found[0]


def local(d: Deadline) -> str:
    """The due moment as London-local ISO text, for readable assertions."""
    return d.due.astimezone(LONDON).isoformat()
