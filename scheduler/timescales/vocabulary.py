"""The event vocabulary of timescales.md §2: event types, their fields, and how to check them.

This module is the single source of truth for event names and fields: packs are validated
against it, the CLI and chat commands parse against it, and the engine reads events through it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


class FieldKind(Enum):
    """The kinds of value an event field may hold."""

    BOOL = "boolean"
    TEXT = "text"
    DATE = "date"
    INT = "whole number"
    CHOICE = "choice"


@dataclass(frozen=True)
class FieldSpec:
    """One extra field of an event type."""

    kind: FieldKind
    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class EventType:
    """An event type of §2 with its meaning and extra fields."""

    name: str
    meaning: str
    fields: Mapping[str, FieldSpec] = field(default_factory=dict)


def _t(name: str, meaning: str, **fields: FieldSpec) -> EventType:
    return EventType(name, meaning, fields)


_B = FieldSpec(FieldKind.BOOL)
TRACKS = ("s17", "s47", "early_help")
# The statutory tracks: before a referral says otherwise, a case is on one of these, so
# rules limited to early help wait for an early_help referral (timescales.md §4 "Track").
STATUTORY_TRACKS = ("s17", "s47")
OUTCOMES = ("nfa", "cin", "cp", "early_help")

EVENT_TYPES: Mapping[str, EventType] = {
    e.name: e
    for e in (
        _t("contact_received", "a contact reaches the front door (MASH)"),
        _t(
            "referral_received",
            "the contact is accepted for assessment: the point of referral",
            track=FieldSpec(FieldKind.CHOICE, required=True, choices=TRACKS),
        ),
        _t(
            "management_decision",
            "manager's initial direction recorded",
            seen_by_day=FieldSpec(FieldKind.INT),
            first_review_by_day=FieldSpec(FieldKind.INT),
            target=FieldSpec(FieldKind.DATE),
        ),
        _t("allocated", "case allocated to a worker", worker=FieldSpec(FieldKind.TEXT)),
        _t("assessment_started", "assessment commenced"),
        _t("family_contacted", "first contact with the family made"),
        _t("child_seen", "child seen by the worker", alone=_B, home_visited=_B, bedroom_seen=_B),
        _t("strategy_discussion_held", "strategy discussion or meeting held"),
        _t("s47_started", "section 47 enquiry initiated"),
        _t("s47_outcome", "outcome of the section 47 enquiry", icpc_required=_B),
        _t("multi_agency_planning_held", "multi-agency planning discussion held"),
        _t("family_network_meeting_held", "family network meeting or family group conference held"),
        _t("assessment_review_held", "manager review / supervision of the assessment"),
        _t("icpc_report_shared", "conference report authorised and shared with the family"),
        _t("icpc_held", "initial child protection conference held", cp_plan=_B),
        _t("core_group_held", "core group meeting held"),
        _t(
            "review_conference_held",
            "review child protection conference held",
            cp_plan_continues=_B,
        ),
        _t("plan_agreed", "a plan agreed (ISP, CIN plan, family action plan)",
           kind=FieldSpec(FieldKind.TEXT)),
        _t("cin_meeting_held", "child in need meeting held"),
        _t(
            "assessment_completed",
            "worker has finished the assessment",
            outcome=FieldSpec(FieldKind.CHOICE, choices=OUTCOMES),
        ),
        _t("assessment_authorised", "manager authorised (signed off) the assessment"),
        _t(
            "extension_agreed",
            "manager agreed more time, with a rationale",
            until=FieldSpec(FieldKind.DATE, required=True),
            reason=FieldSpec(FieldKind.TEXT, required=True),
        ),
        _t(
            "delay_reason",
            "why a timescale was or will be missed",
            rule=FieldSpec(FieldKind.TEXT, required=True),
            reason=FieldSpec(FieldKind.TEXT, required=True),
        ),
        _t(
            "expected_delivery_date",
            "pre-birth: the expected date of delivery is known",
            date=FieldSpec(FieldKind.DATE, required=True),
        ),
        _t(
            "agency_info_requested",
            "information requested from an agency by a date",
            agency=FieldSpec(FieldKind.TEXT, required=True),
            by=FieldSpec(FieldKind.DATE, required=True),
        ),
        _t(
            "agency_info_received",
            "information from an agency arrived",
            agency=FieldSpec(FieldKind.TEXT, required=True),
        ),
        _t("case_closed", "case closed or no further action", reason=FieldSpec(FieldKind.TEXT)),
        _t(
            "event_voided",
            "a mistaken entry withdrawn",
            event_id=FieldSpec(FieldKind.TEXT, required=True),
            reason=FieldSpec(FieldKind.TEXT, required=True),
        ),
    )
}

# Digits and letters only, 3-20 characters, at least one digit: so a name (Smith,
# JohnSmith) is refused. The one default of the project: settings leave the pattern unset
# (None) unless CASECLOCK_CASE_PATTERN is given, and every check falls back to this.
DEFAULT_CASE_PATTERN = r"(?=.*\d)[A-Za-z0-9]{3,20}"
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


class EventError(ValueError):
    """A bad event: the message is one sentence saying what was wrong and what to type."""


@dataclass(frozen=True)
class Event:
    """One logged event of one case; `at` is timezone-aware (stored in UTC)."""

    id: str
    case: str
    type: str
    at: datetime
    fields: Mapping[str, Any] = field(default_factory=dict)
    order: int = 0  # recording order, breaks ties between events logged for the same instant


def looks_like_case(token: str, pattern: str | None = None) -> bool:
    """True iff `token` is a whole case reference of `pattern` (default: the built-in one)
    and holds a digit, so a word or a name is never read as a case, whatever the pattern."""
    # ASCII only: a pattern's \d also matches Arabic-Indic digits and str.isdigit() takes
    # '²', neither of which any authority's reference holds.
    return (isinstance(token, str) and token.isascii()
            and re.fullmatch(pattern or DEFAULT_CASE_PATTERN, token) is not None
            and any(c.isdigit() for c in token))


def check_case_reference(ref: str, pattern: str | None = None) -> str:
    """Return `ref` if it is a case reference of the configured shape, else raise EventError.

    `pattern` is CASECLOCK_CASE_PATTERN when set, else the default. A reference must hold a
    digit under any pattern, as in the chat grammar, so the CLI and chat accept the same cases.
    """
    if looks_like_case(ref, pattern):
        return ref
    if pattern is None or pattern == DEFAULT_CASE_PATTERN:
        shape = "3-20 letters and digits, at least one a digit, no spaces), for example 123456"
    else:
        # A custom pattern: name its shape; the default's description or example may not fit.
        shape = f"the configured shape {pattern}, at least one character a digit)"
    raise EventError(
        f"'{ref}' is not a case reference: use the authority's own reference, never a name "
        f"({shape}."
    )


def parse_instant(value: Any, what: str = "at") -> datetime:
    """Read an ISO 8601 instant; a time without an offset is London local time."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise EventError(
                f"'{value}' in {what} is not a date and time: type ISO 8601 such as "
                "2026-11-21T14:30 or 2026-11-21T14:30+00:00."
            ) from None
    else:
        raise EventError(f"{what} is missing: type a date and time such as 2026-11-21T14:30.")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=LONDON)
    return dt


def parse_date(value: Any, what: str) -> date:
    """Read an ISO date (2026-11-21) or a UK date (21/11/2026); never month-first."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
        try:
            if m:
                return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise EventError(
        f"'{value}' in {what} is not a date: type 2027-01-29 or 29/01/2027 (day first)."
    )


def _coerce(type_name: str, name: str, spec: FieldSpec, value: Any) -> Any:
    where = f"{name} of {type_name}"
    if spec.kind is FieldKind.BOOL:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise EventError(
            f"'{value}' in {where} is not yes or no: type {name}=true or {name}=false."
        )
    if spec.kind is FieldKind.INT:
        if isinstance(value, bool):
            raise EventError(f"{where} must be a whole number of days, for example {name}=5.")
        try:
            n = int(value)
        except (TypeError, ValueError):
            raise EventError(
                f"'{value}' in {where} is not a whole number: type {name}=5."
            ) from None
        if n < 1 or n > 250:
            raise EventError(f"{where} must be a day number from 1 to 250, not {n}.")
        return n
    if spec.kind is FieldKind.DATE:
        return parse_date(value, where)
    if spec.kind is FieldKind.CHOICE:
        text = str(value).strip().lower()
        if text not in spec.choices:
            raise EventError(
                f"'{value}' is not a valid {where}: type one of {', '.join(spec.choices)}."
            )
        return text
    text = str(value).strip()
    if not text:
        raise EventError(f"{where} is empty: type a few words, for example {name}=\"...\".")
    return text


def check_fields(type_name: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalise the extra fields of an event of `type_name`."""
    etype = EVENT_TYPES.get(type_name)
    if etype is None:
        raise EventError(
            f"'{type_name}' is not an event type: type one of {', '.join(sorted(EVENT_TYPES))}."
        )
    out: dict[str, Any] = {}
    for name, value in raw.items():
        spec = etype.fields.get(name)
        if spec is None:
            allowed = ", ".join(etype.fields) or "none"
            raise EventError(
                f"'{name}' is not a field of {type_name}: its fields are {allowed}."
            )
        if value is None:
            continue
        out[name] = _coerce(type_name, name, spec, value)
    for name, spec in etype.fields.items():
        if spec.required and name not in out:
            example = {
                FieldKind.DATE: "2027-01-29",
                FieldKind.CHOICE: "|".join(spec.choices),
            }.get(spec.kind, "...")
            raise EventError(f"{type_name} needs {name}: add {name}={example}.")
    return out
