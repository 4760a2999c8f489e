"""Reading a case-management system's export (CSV, one row per open case) into events.

Pure: no store. Each row becomes the events its dated cells record, in time order; a row
that cannot be read is refused with its line number and one sentence, and the other rows
go on. The casebook then checks each case's events against what it already holds
(`Casebook.import_cases`), so a CSV and a chat command are refused alike.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

import yaml

from bot.commands.dates import parse_day, parse_time
from scheduler.bulk_import import ImportEvent, ImportRow, RowRefusal
from scheduler.timescales.calendar import LONDON
from scheduler.timescales.vocabulary import (
    EVENT_TYPES,
    TRACKS,
    EventError,
    FieldKind,
    check_case_reference,
    check_fields,
)

# The named columns of the issue, and the event each records; any other event type of the
# vocabulary is read from `<type>_at`. The order breaks ties between cells of the same moment
# (a date without a time): the referral comes before the visit logged the same day.
NAMED_COLUMNS: dict[str, str] = {
    "contact_at": "contact_received",
    "referral_at": "referral_received",
    "allocated_at": "allocated",
    "seen_at": "child_seen",
    "strategy_at": "strategy_discussion_held",
    "icpc_at": "icpc_held",
    "completed_at": "assessment_completed",
    "authorised_at": "assessment_authorised",
    "closed_at": "case_closed",
}
# Fields with columns of their own: column -> (event type, field).
FIELD_COLUMNS: dict[str, tuple[str, str]] = {
    "track": ("referral_received", "track"),
    "seen_alone": ("child_seen", "alone"),
    "cp_plan": ("icpc_held", "cp_plan"),
    "worker": ("allocated", "worker"),
    "outcome": ("assessment_completed", "outcome"),
}
# An opening event: a case starts with a contact or a referral.
OPENERS = ("contact_received", "referral_received")
# Not importable from a row: a void names a stored event id, which an export cannot know.
NOT_IMPORTED = ("event_voided",)
KEY_COLUMNS = ("case", "team")
# A date without a time is taken at midday, as the chat commands take one, so a visit on the
# referral's day is not put before the referral.
MIDDAY = time(12, 0)
DATE_HINT = "type 2026-11-21, 21/11/2026 or 21/11/2026 14:30"
_DAY_FIRST = re.compile(r"^(\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4})(?:[ T,]+(\d{1,2}[:.]\d{2})"
                        r"(?:[:.]\d{2})?)?$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([ T].*)?$")
_MONTH_NAME = re.compile(r"^(\d{1,2})[ -]([A-Za-z]{3,9})[ -](\d{4})(?:[ T,]+(\d{1,2}[:.]\d{2})"
                         r"(?:[:.]\d{2})?)?$")
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
                                       "sep", "oct", "nov", "dec"), start=1)}


class ImportFileError(EventError):
    """The file as a whole cannot be imported (not a row of it): one sentence."""


@dataclass
class ReadResult:
    """The rows of a file that can be imported, and those refused."""

    rows: list[ImportRow] = field(default_factory=list)
    refused: list[RowRefusal] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


def event_columns() -> dict[str, str]:
    """Every dated column read: the named ones and `<type>_at` for each event type."""
    out = dict(NAMED_COLUMNS)
    for name in EVENT_TYPES:
        if name not in NOT_IMPORTED:
            out.setdefault(f"{name}_at", name)
    return out


def read_map(text: str, where: str) -> dict[str, str]:
    """An export's headers renamed to caseclock's (`Referral Date: referral_at`), keys
    compared without case; a header mapped to nothing (`Primary Need Code:`) is left
    out."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ImportFileError(f"{where} is not YAML: write one 'Export Header: column' per "
                              "line, for example 'Referral Date: referral_at'.") from None
    if not isinstance(raw, dict):
        raise ImportFileError(f"{where} is not a map of headers: write one 'Export Header: "
                              "column' per line, for example 'Referral Date: referral_at'.")
    known = {*event_columns(), *FIELD_COLUMNS, *KEY_COLUMNS}
    out: dict[str, str] = {}
    for key, value in raw.items():
        target = "" if value is None else str(value).strip().lower()
        if target and target not in known and not _field_column(target):
            named = ", ".join((*KEY_COLUMNS, *NAMED_COLUMNS, *FIELD_COLUMNS))
            raise ImportFileError(f"{where} maps '{key}' to '{value}', which is not a column "
                                  f"caseclock reads: use one of {named}, or TYPE_at for "
                                  "another event type.")
        out[str(key).strip().lower()] = target
    return out


def _field_column(name: str) -> tuple[str, str] | None:
    """`<type>_<field>` (assessment_completed_outcome): the event type and its field."""
    if name in FIELD_COLUMNS:
        return FIELD_COLUMNS[name]
    for type_name, etype in EVENT_TYPES.items():
        if name.startswith(type_name + "_") and name[len(type_name) + 1:] in etype.fields:
            return type_name, name[len(type_name) + 1:]
    return None


def parse_moment(cell: str, column: str) -> datetime:
    """A cell's moment: ISO 8601 or day first (21/11/2026 14:30, 21-Nov-2026), London time
    when no offset is given, midday when no time is."""
    text = cell.strip()
    bad = EventError(f"'{text}' in {column} is not a real date: {DATE_HINT}.")
    m = _DAY_FIRST.match(text)
    n = _MONTH_NAME.match(text)
    if m or n:
        if m:
            day_text, time_text = m.group(1).replace(".", "/").replace("-", "/"), m.group(2)
        else:
            assert n is not None
            month = _MONTHS.get(n.group(2)[:3].lower())
            if month is None:
                raise bad
            day_text, time_text = f"{n.group(1)}/{month}/{n.group(3)}", n.group(4)
        try:
            # The year is given, so `today` matters only for the range check (2000-2060).
            day = parse_day(day_text, datetime.now(LONDON).date())
            at = parse_time(time_text.replace(".", ":")) if time_text else MIDDAY
        except EventError:
            raise bad from None
        # Through UTC: a wall time in the spring clock change's gap does not exist.
        return datetime.combine(day, at, tzinfo=LONDON).astimezone(LONDON)
    if _ISO.match(text):
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise bad from None
        if len(text) == 10:
            parsed = datetime.combine(parsed.date(), MIDDAY)
        if not 2000 <= parsed.year <= 2060:
            raise bad
        return parsed.replace(tzinfo=LONDON) if parsed.tzinfo is None else parsed
    raise bad


class CaseloadReader:
    """Reads rows of one export under its header map; teams and the case pattern given."""

    def __init__(self, headers: Sequence[str], teams: Iterable[str],
                 default_team: str | None = None, header_map: Mapping[str, str] | None = None,
                 case_pattern: str | None = None) -> None:
        self.teams = sorted(teams)
        self.default_team = default_team
        self.case_pattern = case_pattern
        header_map = header_map or {}
        dated = event_columns()
        self.columns: dict[int, str] = {}  # position -> caseclock column
        ignored = []
        for i, header in enumerate(headers):
            key = header.strip().lower()
            name = header_map.get(key, key)
            if name and (name in dated or name in KEY_COLUMNS or _field_column(name)):
                self.columns[i] = name
            elif header.strip():
                ignored.append(header.strip())
        self.ignored = ignored
        names = set(self.columns.values())
        # Worked out once per file, not per row: 100,000 rows read each cell many times.
        self.dated = dated
        self.field_targets = {n: target for n in names if n not in dated
                              and (target := _field_column(n)) is not None}
        self.order_of: dict[str, int] = {}
        for i, type_name in enumerate(dated.values()):
            self.order_of.setdefault(type_name, i)  # referral_at ranks, not referral_received_at
        if "case" not in names:
            raise ImportFileError("the file has no 'case' column: name the column of case "
                                  "references 'case', or map it with --map (Case ID: case).")
        if not names & {"contact_at", "referral_at", "contact_received_at",
                        "referral_received_at"}:
            raise ImportFileError("the file has no 'referral_at' or 'contact_at' column: every "
                                  "case starts with a contact or a referral, so give its date "
                                  "(map the export's header with --map).")
        if "team" not in names and default_team is None:
            raise ImportFileError("the file has no 'team' column: say which team its cases "
                                  "belong to with --team TEAM.")
        if default_team is not None and default_team not in self.teams:
            raise ImportFileError(f"there is no team {default_team}: teams are "
                                  f"{', '.join(self.teams) or 'none yet'}.")

    def row(self, line: int, cells: Sequence[str]) -> ImportRow:
        """The row's case and events; raises EventError (one sentence) when it is refused."""
        values = {name: (cells[i].strip() if i < len(cells) else "")
                  for i, name in self.columns.items()}
        case = check_case_reference(values.get("case", ""), self.case_pattern)
        team = values.get("team") or self.default_team or ""
        if team not in self.teams:
            raise EventError(f"there is no team '{team}': teams are "
                             f"{', '.join(self.teams) or 'none yet'}; add it with `caseclock "
                             "team add` or correct the team column.")
        dated = self.dated
        moments: dict[str, tuple[datetime, str]] = {}
        raw_fields: dict[str, dict[str, Any]] = {}
        for name, cell in values.items():
            if not cell:
                continue
            if name in dated:
                moments[dated[name]] = (parse_moment(cell, name), name)
            elif name in self.field_targets:
                target = self.field_targets[name]
                raw_fields.setdefault(target[0], {})[target[1]] = cell
        # The case's worker now. Without an allocation date the export says who holds the
        # case, not when it was allocated: no dated event is made up (one at the referral
        # would count every allocation deadline as met on time), only the worker is set.
        worker_cell = raw_fields.get("allocated", {}).get("worker")
        worker = (str(check_fields("allocated", {"worker": worker_cell})["worker"])
                  if worker_cell else None)
        # A detail of an event with no date (seen_alone "no" when the child is not yet seen)
        # is left out: an empty date means the event has not happened.
        openers = [moments[t] for t in OPENERS if t in moments]
        if not openers:
            raise EventError(f"case {case} has no referral_at or contact_at: a case starts with "
                             "a contact or a referral, so give its date.")
        opened_at, opened_by = min(openers)
        events = []
        for type_name, (at, column) in moments.items():
            if at < opened_at and type_name not in OPENERS:
                raise EventError(
                    f"{column} ({_uk(at)}) is before {opened_by} ({_uk(opened_at)}): nothing "
                    "happens on a case before it opens, so correct one of the dates.")
            fields = self._fields(type_name, raw_fields.get(type_name, {}), column)
            events.append(ImportEvent(type_name, at, fields))
        order_of = self.order_of
        events.sort(key=lambda e: (e.at, order_of.get(e.type, len(order_of))))
        return ImportRow(line, case, team, tuple(events), worker)

    @staticmethod
    def _fields(type_name: str, raw: dict[str, Any], column: str) -> dict[str, Any]:
        etype = EVENT_TYPES[type_name]
        if type_name == "referral_received" and not raw.get("track"):
            raise EventError(f"{column} has no track: give s17, s47 or early_help in the "
                             f"track column ({'/'.join(TRACKS)}).")
        for name, spec in etype.fields.items():
            if spec.required and name not in raw:
                raise EventError(f"{column} records {type_name}, which needs {name}: import "
                                 "it with `caseclock import events` instead.")
            if spec.kind is FieldKind.BOOL and name in raw:
                raw[name] = str(raw[name]).strip().lower()
        return check_fields(type_name, raw)


def _uk(at: datetime) -> str:
    return at.astimezone(LONDON).strftime("%d/%m/%Y")


def read_caseload(lines: Iterable[str], teams: Iterable[str], default_team: str | None = None,
                  header_map: Mapping[str, str] | None = None,
                  case_pattern: str | None = None) -> ReadResult:
    """Every row of a CSV export: those read and those refused (line numbers are the file's,
    the header being line 1); a case on two rows is refused on the second."""
    reader = csv.reader(lines)
    try:
        headers = next(reader)
    except StopIteration:
        raise ImportFileError("the file is empty: give a CSV export with a header row "
                              "(case, team, referral_at, ...).") from None
    except csv.Error as err:
        raise ImportFileError(f"the file is not CSV ({err}): export it as CSV.") from None
    mapper = CaseloadReader(headers, teams, default_team, header_map, case_pattern)
    out = ReadResult(ignored_columns=mapper.ignored)
    seen: dict[str, int] = {}
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            out.refused.append(RowRefusal(reader.line_num, f"the row is not CSV ({err}): "
                                          "correct its quotes."))
            continue
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        try:
            row = mapper.row(line, cells)
        except EventError as err:
            out.refused.append(RowRefusal(line, str(err)))
            continue
        if row.case in seen:
            out.refused.append(RowRefusal(line, f"case {row.case} is already on line "
                                          f"{seen[row.case]}: give each case one row."))
            continue
        seen[row.case] = line
        out.rows.append(row)
    return out
