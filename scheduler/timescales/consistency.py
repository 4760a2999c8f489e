"""Refusing an event that contradicts its case, before anything is stored.

Each refusal is one sentence saying what was wrong and what to do instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .calendar import LONDON
from .engine import effective_events
from .rules import Pack
from .vocabulary import Event, EventError

# An event of the key type needs, at or before its `at`, one of the listed events.
PREREQUISITES: dict[str, tuple[tuple[str, ...], str]] = {
    "management_decision": (("referral_received",), "log the referral first (/referral CASE s17)"),
    "allocated": (("referral_received", "contact_received"), "log the contact or referral first"),
    "assessment_started": (("referral_received",), "log the referral first"),
    "assessment_completed": (("referral_received",), "log the referral first"),
    "assessment_authorised": (
        ("referral_received",),
        "an assessment can only be authorised after its referral is logged",
    ),
    "assessment_review_held": (("referral_received",), "log the referral first"),
    "extension_agreed": (("referral_received",), "log the referral first"),
    "s47_outcome": (
        ("s47_started", "strategy_discussion_held"),
        "log the strategy discussion first (/strategy CASE today 11:00)",
    ),
    "icpc_report_shared": (("strategy_discussion_held",), "log the strategy discussion first"),
    "core_group_held": (("icpc_held",), "log the initial child protection conference first"),
    "review_conference_held": (("icpc_held",), "log the initial child protection conference first"),
    "agency_info_received": (("agency_info_requested",), "log the request for information first"),
}

# After a case is closed only these reopen it (or correct it).
REOPENERS = ("contact_received", "referral_received", "event_voided")


def _local(at: datetime) -> str:
    return at.astimezone(LONDON).strftime("%d/%m/%Y %H:%M")


def check_new_event(existing: Sequence[Event], new: Event, now: datetime) -> None:
    """Raise EventError if `new` cannot be appended to a case holding `existing` events."""
    if new.at > now:
        raise EventError(
            f"{_local(new.at)} is in the future: log what has happened, with a time up to now."
        )
    if new.type == "event_voided":
        target = str(new.fields.get("event_id"))
        live = {e.id for e in effective_events(existing, now)}
        ids = {e.id for e in existing}
        if target not in ids:
            raise EventError(
                f"there is no event {target} on case {new.case}: check the id in the case's "
                f"timeline (/case {new.case})."
            )
        withdrawn = next(e for e in existing if e.id == target)
        if new.at < withdrawn.at:
            # A withdrawal dated before what it withdraws would rewrite the past unseen.
            raise EventError(
                f"the void at {_local(new.at)} is earlier than event {target} it withdraws "
                f"({_local(withdrawn.at)}): give the void a time at or after it."
            )
        voids = [e for e in existing if e.id == target and e.type == "event_voided"]
        if target not in live and not voids:
            raise EventError(f"event {target} is already voided: nothing to do.")
        return
    known = effective_events(existing, now)
    earlier = [e for e in known if e.at <= new.at]
    closed = [e for e in earlier if e.type == "case_closed"]
    if closed and new.type not in REOPENERS:
        last_close = closed[-1]
        reopened = any(
            e.type in ("contact_received", "referral_received") and e.at >= last_close.at
            for e in earlier
        )
        if not reopened:
            raise EventError(
                f"case {new.case} was closed on {_local(last_close.at)}: log a new contact or "
                "referral to reopen it, or void the closure if it was a mistake."
            )
    need = PREREQUISITES.get(new.type)
    if need is not None:
        types, advice = need
        if not any(e.type in types for e in earlier):
            raise EventError(
                f"case {new.case} has no {' or '.join(t.replace('_', ' ') for t in types)} "
                f"before {_local(new.at)}, so {new.type.replace('_', ' ')} cannot be logged: "
                f"{advice}."
            )
    if new.type == "agency_info_received":
        agency = new.fields.get("agency")
        if not any(
            e.type == "agency_info_requested" and e.fields.get("agency") == agency for e in earlier
        ):
            raise EventError(
                f"no information was requested from {agency} on case {new.case}: log the request "
                "first, or check the agency's name."
            )


def check_pack_limits(pack: Pack, type_name: str, fields: Mapping[str, Any]) -> None:
    """Raise EventError if a day the event sets is past the latest its case's pack allows
    (Suffolk: the child is seen "at the latest by day 7", so seen_by_day is 1 to 7)."""
    for rule in pack.rules:
        cf = rule.due.count_from
        if cf is None or cf.max is None or cf.event != type_name:
            continue
        day = fields.get(cf.field)
        if isinstance(day, int) and day > cf.max:
            raise EventError(
                f"{cf.field} {day} is past day {cf.max}, the latest the {pack.name} procedure "
                f"allows for {rule.id}: give a day from 1 to {cf.max}."
            )
