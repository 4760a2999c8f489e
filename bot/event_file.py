"""Reading events from JSON Lines for `caseclock deadlines --events FILE`."""

from __future__ import annotations

import codecs
import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from scheduler.timescales.consistency import check_new_event, check_pack_limits
from scheduler.timescales.rules import Pack
from scheduler.timescales.vocabulary import (
    Event,
    EventError,
    check_case_reference,
    check_fields,
    parse_instant,
)

RESERVED = ("case", "type", "at", "id")

_SAVE_AS = "save it as UTF-8 without a byte-order mark, one JSON event per line"


def decode_events_file(data: bytes, name: str) -> list[str]:
    """The lines of an events file, which must be UTF-8 as JSON Lines is; a spreadsheet's
    "Unicode text" (UTF-16) or a byte-order mark is refused with one sentence, not read as
    garbage or as a JSON error on line 1."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or (
            b"\x00" in data[:200]):  # UTF-16 without a mark still has a NUL in every ASCII pair
        raise EventError(f"{name} is UTF-16 text: {_SAVE_AS}.")
    if data.startswith(codecs.BOM_UTF8):
        raise EventError(f"{name} starts with a byte-order mark: {_SAVE_AS}.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise EventError(f"{name} is not UTF-8 text (line {line}): {_SAVE_AS}.") from None
    return text.splitlines(keepends=True)


def parse_event(raw: Any, order: int, case_pattern: str | None = None) -> Event:
    """One event from a decoded JSON object; raises EventError with one sentence."""
    if not isinstance(raw, dict):
        raise EventError('each line must be a JSON object such as {"case": "123456", '
                         '"type": "referral_received", "at": "2026-11-21T14:30", "track": "s17"}.')
    for key in ("case", "type", "at"):
        if key not in raw:
            raise EventError(f'"{key}" is missing: every event needs "case", "type" and "at".')
    case = check_case_reference(str(raw["case"]), case_pattern)
    fields = check_fields(str(raw["type"]), {k: v for k, v in raw.items() if k not in RESERVED})
    at = parse_instant(raw["at"])
    event_id = str(raw.get("id") or f"L{order}")
    return Event(id=event_id, case=case, type=str(raw["type"]), at=at, fields=fields, order=order)


def read_events(lines: Iterable[str], now: datetime,
                case_pattern: str | None = None, pack: Pack | None = None) -> list[Event]:
    """Parse and check every line (against `pack`'s limits too, when given); the first
    problem raises EventError naming its line."""
    events: list[Event] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as err:
            raise EventError(f"line {n} is not JSON ({err.msg}): write one event object "
                             "per line.") from None
        try:
            events.append(parse_event(raw, n, case_pattern))
        except EventError as err:
            raise EventError(f"line {n}: {err}") from None
    ids = [e.id for e in events]
    dup = next((i for i in ids if ids.count(i) > 1), None)
    if dup is not None:
        raise EventError(f'event id "{dup}" is used twice: give every event its own "id".')
    by_case: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        by_case[e.case].append(e)
    for e in events:
        if e.type == "event_voided":
            # A void withdraws what was logged before it: checked against earlier lines
            # only, so two lines voiding each other (a cycle) cannot both stand.
            others = [o for o in by_case[e.case] if o.order < e.order]
            _check_void_target(e, others)
        else:
            others = [o for o in by_case[e.case] if o is not e]
        try:
            check_new_event(others, e, now)
            if pack is not None:
                check_pack_limits(pack, e.type, e.fields)
        except EventError as err:
            raise EventError(f"line {e.order}: {err}") from None
    return events


def _check_void_target(void: Event, earlier: list[Event]) -> None:
    """Refuse a void naming no event of an earlier line of its case."""
    target = str(void.fields.get("event_id"))
    if not any(o.id == target for o in earlier):
        raise EventError(
            f'line {void.order}: event_voided names "{target}", which is not an event of case '
            f"{void.case} on an earlier line: put the event first, then its void."
        )
