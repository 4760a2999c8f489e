"""Plain-text and JSON views of deadlines: UK dates, weekdays, never month-first."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from scheduler.timescales.calendar import LONDON, WorkingCalendar, local_date
from scheduler.timescales.engine import Deadline

STATUS_WORDS = {
    "pending": "due",
    "overdue": "OVERDUE",
    "met": "met",
    "met_late": "met late",
    "cancelled": "cancelled",
}


def day_text(d: date, with_year: bool = False) -> str:
    """'Thu 3 Dec' (or 'Thu 3 Dec 2026')."""
    text = f"{d:%a} {d.day} {d:%b}"
    return f"{text} {d.year}" if with_year else text


def short_date(d: date) -> str:
    """'21/11' — day first, always."""
    return f"{d.day:02d}/{d.month:02d}"


def moment_text(at: datetime, with_year: bool = False) -> str:
    """'Thu 3 Dec 14:30' in London time."""
    local = at.astimezone(LONDON)
    return f"{day_text(local.date(), with_year)} {local:%H:%M}"


def due_text(d: Deadline, with_year: bool = False) -> str:
    """The due moment as a person reads it: a day for day rules, a time for hour rules."""
    if d.hourly:
        return moment_text(d.due, with_year)
    return day_text(local_date(d.due), with_year)


WORKING_DAY_UNITS = ("working_days", "by_day", "before_day")


def day_of_text(d: Deadline, cal: WorkingCalendar, today: date) -> str:
    """'day 9 of 10' for an open working-day window, counted as its procedure counts.

    Suffolk's "by day N" calls the anchor's date day 1; the others call it day 0.
    """
    if d.unit not in WORKING_DAY_UNITS or not d.open:
        return ""
    window = cal.day_of_window(local_date(d.anchor_at), local_date(d.due), today,
                               start_is_day_one=d.unit == "by_day")
    return f"day {window[0]} of {window[1]}" if window else ""


def iso_local(at: datetime | None) -> str | None:
    """ISO 8601 with offset, in London local time."""
    return at.astimezone(LONDON).isoformat() if at is not None else None


def deadline_json(d: Deadline) -> dict[str, Any]:
    """The deadline object of the CLI contract (`deadlines --json`, `case --json`)."""
    return {
        "case": d.case,
        "rule": d.rule,
        "seq": d.seq,
        "title": d.title,
        "due": iso_local(d.due),
        "status": d.status,
        "met_at": iso_local(d.met_at),
        "met_by_event": d.met_by_event,
        "owner": d.owner,
        "anchor_at": iso_local(d.anchor_at),
        "hourly": d.hourly,
        "delay_reason": d.delay_reason,
        "stopped_at": iso_local(d.stopped_at),
    }


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A fixed-width text table."""
    body = [list(map(str, r)) for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h)
              for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))

    out = [line(headers), line(["-" * w for w in widths])]
    out.extend(line(r) for r in body)
    return "\n".join(x.rstrip() for x in out)


def deadlines_table(deadlines: Sequence[Deadline], cal: WorkingCalendar, now: datetime) -> str:
    """Deadlines as a readable table, soonest first."""
    if not deadlines:
        return "No deadlines."
    today = local_date(now)
    rows = []
    for d in deadlines:
        when = due_text(d, with_year=d.due.astimezone(LONDON).year != today.year)
        progress = day_of_text(d, cal, today)
        status = STATUS_WORDS[d.status]
        if d.stopped_at is not None:
            status = f"missed, stopped {short_date(local_date(d.stopped_at))}"
        if d.met_at is not None:
            status = f"{status} {short_date(local_date(d.met_at))}"
        rows.append([d.case, d.rule + (f" #{d.seq}" if d.seq > 1 else ""), when, progress,
                     status, d.title])
    return table(["case", "rule", "due", "progress", "status", "title"], rows)


def change_summary(before: Sequence[Deadline], after: Sequence[Deadline],
                   cal: WorkingCalendar, now: datetime) -> list[str]:
    """What an event changed: deadlines met, cancelled, newly set, open again (after a void)
    or gone altogether, and what is next."""
    old = {(d.rule, d.seq): d for d in before}
    lines: list[str] = []
    for d in after:
        prev = old.get((d.rule, d.seq))
        if (prev is not None and prev.status == d.status and prev.due == d.due
                and prev.open == d.open):
            continue
        if d.status in ("met", "met_late") and (prev is None or prev.open):
            late = " (late)" if d.status == "met_late" else ""
            lines.append(f"Met{late}: {d.title} (due {due_text(d)}).")
        elif d.status == "cancelled" and (prev is None or prev.open):
            lines.append(f"No longer applies: {d.title}.")
        elif d.stopped_at is not None and (prev is None or prev.open):
            # Closed after it fell due: nobody is chased any more, but the breach stays.
            lines.append(f"Stopped, still recorded as missed: {d.title} (was due {due_text(d)}).")
        elif d.open and prev is not None and not prev.open:
            # A void took away what met or cancelled it: the worker must know it is back.
            lines.append(f"Open again: {d.title} (due {due_text(d)}).")
        elif d.open and (prev is None or prev.due != d.due):
            progress = day_of_text(d, cal, local_date(now))
            extra = f", {progress}" if progress else ""
            lines.append(f"New: {d.title} by {due_text(d)}{extra}.")
    # Deadlines the event took away altogether (a voided referral, a voided s47 start).
    gone = {(d.rule, d.seq) for d in after}
    lines.extend(f"No longer applies: {d.title}." for d in before if (d.rule, d.seq) not in gone)
    nxt = next_open(after)
    if nxt is not None:
        if nxt.status == "overdue":
            lines.append(f"Next: {nxt.title}, overdue (was due {due_text(nxt)}).")
        else:
            lines.append(f"Next: {nxt.title} by {due_text(nxt)}.")
    return lines


def next_open(deadlines: Sequence[Deadline]) -> Deadline | None:
    """The soonest deadline still open."""
    open_ones = [d for d in deadlines if d.open]
    return min(open_ones, key=lambda d: d.due) if open_ones else None
