"""What a practice lead reads: a pack's rules in words, and the timeline of one referral."""

from __future__ import annotations

import textwrap
from datetime import date, datetime, time
from typing import Any

from bot.render import day_text, moment_text
from scheduler.timescales.calendar import LONDON, WorkingCalendar
from scheduler.timescales.engine import _schedule, due_at
from scheduler.timescales.rules import Match, Pack, Rule, Unit
from scheduler.timescales.vocabulary import EVENT_TYPES, Event

UNIT_WORDS = {
    Unit.WORKING_DAYS: "{n} working days after",
    Unit.BY_DAY: "by day {n}, counting the date of",
    Unit.BEFORE_DAY: "before day {n} (end of working day {m}) after",
    Unit.HOURS: "{n} hours after",
    Unit.CALENDAR_DAYS: "{n} calendar days after",
    Unit.MONTHS: "{n} months after",
}


def _words(name: str) -> str:
    return name.replace("_", " ")


def _match_text(m: Match) -> str:
    text = _words(m.event)
    if m.where:
        text += " (" + ", ".join(f"{k}={v}" for k, v in m.where.items()) + ")"
    if m.same:
        text += " for the same " + ", ".join(m.same)
    if m.beyond_due:
        text += f" with {m.beyond_due} after the due day"
    return text


def anchor_text(rule: Rule) -> str:
    """'referral received', or 'contact received, else referral received', with its pick."""
    names = ", else ".join(_words(e) for e in rule.anchor.events)
    if rule.anchor.where:
        names += " (" + ", ".join(f"{k}={v}" for k, v in rule.anchor.where.items()) + ")"
    pick = {"first": "the first ", "latest": "the latest ", "each": "each "}[rule.anchor.pick]
    return pick + names


def due_rule_text(rule: Rule) -> str:
    """The rule's timescale in words, as the pack encodes it."""
    due = rule.due
    if due.unit is Unit.ON_DATE:
        return f"on the {due.field} date given with {anchor_text(rule)}"
    if due.unit is Unit.WEEKS_BEFORE:
        return (f"{due.count} weeks before the {due.field} of {anchor_text(rule)} "
                "(the working day before, if that is not one)")
    if due.schedule:
        counts = ", ".join(str(c) for c in due.schedule)
        every = f", then every {due.then_every}" if due.then_every else ""
        return f"after {counts}{every} working days from {anchor_text(rule)}"
    n = due.count or 0
    words = UNIT_WORDS[due.unit]
    if n == 1:  # "1 working day after", "1 hour after": a practice lead reads this aloud
        words = words.replace("days after", "day after").replace("hours after", "hour after") \
                     .replace("months after", "month after")
    text = words.format(n=n, m=n - 1) + " " + anchor_text(rule)
    if due.unit is Unit.MONTHS:
        text += ", or the working day before if that is not one"
    if due.count_from:
        limit = f", 1 to {due.count_from.max}" if due.count_from.max is not None else ""
        text += (f" (or day {due.count_from.field} of the {_words(due.count_from.event)}"
                 f"{limit})")
    return text


def show_pack(pack: Pack) -> str:
    """Every rule with its timescale, what meets and cancels it, and the quoted sentence."""
    out = [f"{pack.name}: {pack.title}"]
    if len(pack.lineage) > 1:
        out.append(f"extends {' -> '.join(pack.lineage[1:])}")
    if pack.closure_days:
        out.append("closure days: " + ", ".join(
            day_text(d, with_year=True) for d in sorted(pack.closure_days)))
    for r in pack.rules:
        tracks = "any track" if r.tracks == "any" else "tracks " + ", ".join(r.tracks)
        out.append("")
        out.append(f"{r.id}: {r.title}")
        out.append(f"  due:       {due_rule_text(r)}")
        out.append(f"  applies:   {tracks}")
        out.append(f"  met by:    {' or '.join(_match_text(m) for m in r.met_by)}"
                   + (" (the seq-th one)" if r.match == "nth" else ""))
        cancels = [*(_match_text(m) for m in r.cancelled_by), "case closed"]
        out.append(f"  cancelled: {' or '.join(cancels)}")
        if r.stops_on:
            out.append(f"  stops on:  {' or '.join(_match_text(m) for m in r.stops_on)}")
        out.append(f"  owner:     {_words(r.owner)}")
        if r.checklist:
            out.append(f"  checklist: {r.checklist}")
        if r.on_miss.exception or r.on_miss.escalate_to or r.on_miss.reason_required:
            bits = []
            if r.on_miss.reason_required:
                bits.append("reasons must be recorded")
            if r.on_miss.escalate_to:
                bits.append(f"escalate to {_words(r.on_miss.escalate_to)}")
            if r.on_miss.exception:
                bits.append("exception report")
            out.append(f"  if missed: {'; '.join(bits)}")
        if r.reading:
            out.append("  reading:   " + textwrap.fill(r.reading, 88,
                                                       subsequent_indent=" " * 13))
        out.append(f"  source:    {r.source.document}")
        out.append(textwrap.fill(f"\u201c{r.source.quote}\u201d", 88,
                                 initial_indent=" " * 13, subsequent_indent=" " * 13))
    return "\n".join(out)


# The child protection path: these events happen only once a case is a section 47 enquiry,
# so a rule that starts from one of them does not apply to an s17 or early help referral,
# although the pack lists it under both statutory tracks (a case can step up to s47).
SECTION_47_EVENTS = frozenset({"strategy_discussion_held", "s47_started", "s47_outcome",
                               "icpc_report_shared", "icpc_held", "core_group_held",
                               "review_conference_held"})


def applies_to_track(rule: Rule, track: str) -> bool:
    """Whether a referral on `track` brings this rule into play: its tracks admit it and,
    off the s47 track, it does not start from an event of the child protection path."""
    if rule.tracks != "any" and track not in rule.tracks:
        return False
    return track == "s47" or not set(rule.anchor.events) <= SECTION_47_EVENTS


def _synthetic_anchor(rule: Rule, at: datetime) -> Event:
    etype = rule.anchor.events[-1] if "referral_received" in rule.anchor.events else (
        rule.anchor.events[0])
    fields: dict[str, Any] = dict(rule.anchor.where)
    return Event(id="example", case="EXAMPLE", type=etype, at=at, fields=fields)


def explain(pack: Pack, cal: WorkingCalendar, referral: date, track: str) -> str:
    """Each rule's due date for a referral on `referral`, in date order; rules anchored on
    later events (a strategy discussion, a conference) assume they happen that day too."""
    at = datetime.combine(referral, time(9, 0), tzinfo=LONDON)
    article = "an" if track[0] in "aeious" else "a"  # "an s47", "an early_help"
    lines = [
        f"{pack.name}: {article} {track} referral received {day_text(referral, with_year=True)}"
        " at 09:00. Rules that start from a later event assume it happens the same day.",
        "",
    ]
    dated: list[tuple[datetime, str, str, str]] = []
    undated: list[tuple[str, str, str]] = []
    stepped_up = 0
    for r in pack.rules:
        if not applies_to_track(r, track):
            stepped_up += track in r.tracks or r.tracks == "any"
            continue
        anchor = _synthetic_anchor(r, at)
        if r.due.unit in (Unit.ON_DATE, Unit.WEEKS_BEFORE):
            undated.append((r.id, f"set by the {r.due.field} date", r.title))
            continue
        counts = [_schedule(r, k) for k in (1, 2, 3, 4)] if r.due.schedule else [r.due.count]
        for k, n in enumerate(counts, start=1):
            due = due_at(r, cal, anchor, n)
            when = (moment_text(due, with_year=True) if r.hourly
                    else day_text(due.astimezone(LONDON).date(), with_year=True))
            label = r.id + (f" #{k}" if len(counts) > 1 else "")
            dated.append((due, label, when, f"{r.title} ({due_rule_text(r)})"))
    dated.sort(key=lambda row: (row[0], row[1]))
    rows = [(label, when, text) for _, label, when, text in dated] + undated
    width = max((len(r[0]) for r in rows), default=0)
    wwidth = max((len(r[1]) for r in rows), default=0)
    lines.extend(f"{a.ljust(width)}  {b.ljust(wwidth)}  {c}" for a, b, c in rows)
    if stepped_up:
        rules = "rule starts" if stepped_up == 1 else "rules start"
        lines.extend(["", f"{stepped_up} more {rules} from a strategy discussion or "
                      f"conference, should the case become a section 47 enquiry: "
                      f"`caseclock policy explain {pack.name} --track s47` lists them."])
    return "\n".join(lines)


def event_types_text() -> str:
    """The vocabulary, one event type a line."""
    return "\n".join(f"{name}: {t.meaning}" for name, t in EVENT_TYPES.items())
