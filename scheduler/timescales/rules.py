"""The policy model: what a rule of a pack says, validated so a typo is a clear error.

A pack is data (YAML, read elsewhere); this module turns its parsed mapping into typed,
checked rules and resolves `extends`. It does no I/O.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .vocabulary import EVENT_TYPES, TRACKS, FieldKind


class Unit(StrEnum):
    """How a rule's count is read (timescales.md §1)."""

    WORKING_DAYS = "working_days"  # "within N working days of X": X's date is day 0
    BY_DAY = "by_day"  # "by day N" where X's date (or next working day) is day 1
    BEFORE_DAY = "before_day"  # "before day N", day 0 = X's date: end of working day N-1
    HOURS = "hours"  # "within N hours": elapsed hours
    CALENDAR_DAYS = "calendar_days"
    MONTHS = "months"  # same day N months later, clamped, else the working day before
    WEEKS_BEFORE = "weeks_before"  # N weeks before a date field of the anchor event
    ON_DATE = "on_date"  # on a date field of the anchor event


Role = Literal["worker", "manager", "service_manager", "team_duty"]
Pick = Literal["first", "latest", "each"]
Scalar = bool | int | str


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


DOCUMENT_SUFFIXES = (".txt", ".md", ".pdf")


class Source(_Model):
    """Where a rule comes from: the procedure's file under shared/seeds and its sentence."""

    document: str
    quote: str = Field(min_length=10)

    @field_validator("document")
    @classmethod
    def _document(cls, v: str) -> str:
        # Existence cannot be checked here (no I/O; an authority's seeds live elsewhere);
        # the quote test checks the built-ins. A practice lead must at least be told a file.
        name = v.strip()
        stem, dot, suffix = name.rpartition(".")
        if (not stem or not dot or f".{suffix.lower()}" not in DOCUMENT_SUFFIXES
                or "/" in name or "\\" in name):
            raise ValueError(
                f"'{v}' is not a procedure's file name: give the file's name, ending in "
                f"{', '.join(DOCUMENT_SUFFIXES)}, for example my-procedure.txt"
            )
        return name


class CountFrom(_Model):
    """A manager-set day number that overrides the rule's count (Suffolk's management decision)."""

    event: str
    field: str
    # The latest day the procedure lets the manager set ("at the latest by day 7"): a larger
    # day is refused when logged, and one stored before the limit existed counts as this.
    max: int | None = Field(default=None, ge=1, le=400)


class Due(_Model):
    """When a deadline falls, relative to its anchor."""

    unit: Unit
    count: int | None = Field(default=None, ge=0, le=400)
    field: str | None = None
    count_from: CountFrom | None = None
    schedule: tuple[int, ...] = ()  # recurring: counts of the first occurrences ...
    then_every: int | None = Field(default=None, ge=1)  # ... then this many more each time

    @model_validator(mode="after")
    def _shape(self) -> Due:
        dated = self.unit in (Unit.ON_DATE, Unit.WEEKS_BEFORE)
        if dated and not self.field:
            raise ValueError(f"unit {self.unit.value} needs `field`: the anchor's date field")
        if self.unit is not Unit.ON_DATE and self.count is None and not self.schedule:
            raise ValueError(f"unit {self.unit.value} needs `count`")
        if self.then_every is not None and not self.schedule:
            raise ValueError("`then_every` needs a `schedule` of the first occurrences")
        return self


class Match(_Model):
    """An event type with optional field conditions."""

    event: str
    where: Mapping[str, Scalar] = Field(default_factory=dict)
    same: tuple[str, ...] = ()  # fields that must equal the anchor event's (same agency)
    # met_by only: a date field that must fall after the deadline's due day, so an extension
    # meets a rule only if it runs beyond it (Suffolk day 35: not the day-20 extension to 30).
    beyond_due: str | None = None


class Anchor(_Model):
    """What starts the clock: the first of `events` that the case has, chosen by `pick`."""

    events: tuple[str, ...] = Field(min_length=1)
    where: Mapping[str, Scalar] = Field(default_factory=dict)
    pick: Pick = "latest"

    @model_validator(mode="before")
    @classmethod
    def _single(cls, data: Any) -> Any:
        if isinstance(data, dict) and "event" in data:
            data = dict(data)
            data["events"] = [data.pop("event")]
        return data


class OnMiss(_Model):
    """What a missed deadline asks of people (read by the notifier)."""

    reason_required: bool = False
    escalate_to: Role | None = None
    exception: bool = False  # a legal limit: an exception to the service manager


class Rule(_Model):
    """One timescale of a pack, with the sentence of the procedure it encodes."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=3)
    due: Due
    anchor: Anchor
    tracks: tuple[str, ...] | Literal["any"] = ("s17", "s47")
    met_by: tuple[Match, ...] = Field(min_length=1)
    match: Literal["first", "nth"] = "first"  # nth: the seq-th meeting event meets the seq-th
    cancelled_by: tuple[Match, ...] = ()
    stops_on: tuple[Match, ...] = ()  # a recurring rule generates no more after this
    owner: Role
    checklist: str | None = None
    on_miss: OnMiss = OnMiss()
    reading: str | None = None  # how an ambiguous phrase was read ("5 days" as working days)
    lead_days: int | None = Field(default=None, ge=0, le=30)  # "upcoming" prompt, working days
    source: Source

    @field_validator("tracks", mode="before")
    @classmethod
    def _tracks(cls, v: Any) -> Any:
        if isinstance(v, str) and v != "any":
            return (v,)
        return v

    @property
    def recurring(self) -> bool:
        """True when the rule repeats on a schedule or once per anchor."""
        return bool(self.due.schedule) or self.anchor.pick == "each"

    @property
    def hourly(self) -> bool:
        """True for rules counted in elapsed hours (urgent in the notifier)."""
        return self.due.unit is Unit.HOURS


class PackFile(_Model):
    """A pack as written in YAML, before `extends` is resolved."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    extends: str | None = None
    document: str | None = None
    description: str | None = None
    closure_days: tuple[date, ...] = ()
    escalate_after_days: int | None = Field(default=None, ge=0, le=30)
    drop: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class Checklist:
    """A checklist of timescales.md §5, shown with the prompt it belongs to."""

    id: str
    title: str
    source: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Pack:
    """A resolved pack: its own rules plus those it inherits, and every closure day."""

    name: str
    title: str
    rules: tuple[Rule, ...]
    closure_days: frozenset[date]
    lineage: tuple[str, ...]  # this pack, then what it extends
    escalate_after_days: int = 1  # overdue this many working days: to the team manager

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id, or KeyError."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


class PackError(ValueError):
    """A pack that cannot be used; the message names the file, the rule and the field."""


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _check_event(where: str, name: str) -> None:
    if name not in EVENT_TYPES:
        raise PackError(f"{where}: '{name}' is not an event type{_suggest(name, EVENT_TYPES)}")


def _check_fields(where: str, event: str, fields: Iterable[str]) -> None:
    known = EVENT_TYPES[event].fields
    for f in fields:
        if f not in known:
            raise PackError(
                f"{where}: '{f}' is not a field of {event}{_suggest(f, known)}"
            )


def _check_values(where: str, event: str, conditions: Mapping[str, Scalar]) -> None:
    """Each `where` value must be one the field can hold, or the condition never matches."""
    known = EVENT_TYPES[event].fields
    for name, value in conditions.items():
        spec = known[name]
        if spec.kind is FieldKind.BOOL:
            ok, want = isinstance(value, bool), "true or false"
        elif spec.kind is FieldKind.CHOICE:
            ok, want = value in spec.choices, f"one of {', '.join(spec.choices)}"
        elif spec.kind is FieldKind.INT:
            ok, want = isinstance(value, int) and not isinstance(value, bool), "a whole number"
        elif spec.kind is FieldKind.DATE:
            raise PackError(f"{where}.{name}: {event}'s {name} is a date, which a rule cannot "
                            "match on: remove the condition")
        else:
            ok, want = isinstance(value, str) and bool(value.strip()), "some text"
        if not ok:
            raise PackError(f"{where}.{name}: {value!r} is not a value of {event}'s {name}: "
                            f"use {want}")


def _check_beyond_due(where: str, key: str, m: Match) -> None:
    """`beyond_due` names a date field of the event, and only a meeting event has a due."""
    if key != "met_by":
        raise PackError(f"{where}: only met_by events can be asked to run beyond the due "
                        "day: move the condition to met_by or remove it")
    spec = EVENT_TYPES[m.event].fields.get(m.beyond_due or "")
    if spec is None or spec.kind is not FieldKind.DATE:
        dates = [n for n, f in EVENT_TYPES[m.event].fields.items() if f.kind is FieldKind.DATE]
        raise PackError(f"{where}: '{m.beyond_due}' is not a date field of {m.event}: use "
                        f"{', '.join(dates) if dates else 'an event with a date field'}")


def _check_rule(path: str, rule: Rule, checklists: Mapping[str, Checklist]) -> None:
    at = f"{path}: rule {rule.id}"
    for i, ev in enumerate(rule.anchor.events):
        _check_event(f"{at}, field anchor.events[{i}]", ev)
        _check_fields(f"{at}, field anchor.where", ev, rule.anchor.where)
        _check_values(f"{at}, field anchor.where", ev, rule.anchor.where)
    for key, matches in (
        ("met_by", rule.met_by),
        ("cancelled_by", rule.cancelled_by),
        ("stops_on", rule.stops_on),
    ):
        for i, m in enumerate(matches):
            _check_event(f"{at}, field {key}[{i}].event", m.event)
            _check_fields(f"{at}, field {key}[{i}].where", m.event, m.where)
            _check_values(f"{at}, field {key}[{i}].where", m.event, m.where)
            _check_fields(f"{at}, field {key}[{i}].same", m.event, m.same)
            if m.beyond_due is not None:
                _check_beyond_due(f"{at}, field {key}[{i}].beyond_due", key, m)
            for ev in rule.anchor.events:
                _check_fields(f"{at}, field {key}[{i}].same (anchor {ev})", ev, m.same)
    if rule.due.field:
        for ev in rule.anchor.events:
            spec = EVENT_TYPES[ev].fields.get(rule.due.field)
            if spec is None or spec.kind is not FieldKind.DATE:
                raise PackError(
                    f"{at}, field due.field: '{rule.due.field}' is not a date field of {ev}"
                )
    if rule.due.count_from:
        cf = rule.due.count_from
        _check_event(f"{at}, field due.count_from.event", cf.event)
        _check_fields(f"{at}, field due.count_from.field", cf.event, [cf.field])
        if cf.max is not None and rule.due.count is not None and rule.due.count > cf.max:
            # The default day must itself be one a manager could set, or the limit contradicts it.
            raise PackError(f"{at}, field due.count_from.max: {cf.max} is before the rule's own "
                            f"day {rule.due.count}: give a max of at least {rule.due.count}")
    if rule.tracks != "any":
        for t in rule.tracks:
            if t not in TRACKS:
                raise PackError(
                    f"{at}, field tracks: '{t}' is not a track: use {', '.join(TRACKS)} or any"
                )
    if rule.checklist is not None and rule.checklist not in checklists:
        raise PackError(
            f"{at}, field checklist: '{rule.checklist}' is not a checklist"
            f"{_suggest(rule.checklist, checklists)}; known: {', '.join(sorted(checklists))}"
        )


def _pretty_validation(path: str, data: Mapping[str, Any], err: ValidationError) -> str:
    first = err.errors()[0]
    loc = list(first["loc"])
    rule_part = ""
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rules = data.get("rules") or []
        rid = rules[loc[1]].get("id") if loc[1] < len(rules) and isinstance(
            rules[loc[1]], dict) else None
        rule_part = f": rule {rid or '#' + str(loc[1] + 1)}"
        loc = loc[2:]
    field_name = ".".join(str(p) for p in loc) or "(pack)"
    msg = first["msg"]
    if first["type"] == "enum":
        msg = f"'{first.get('input')}' is not allowed; {msg.lower()}"
    return f"{path}{rule_part}, field {field_name}: {msg}"


def parse_pack_file(path: str, data: Any, checklists: Mapping[str, Checklist]) -> PackFile:
    """Validate one parsed YAML document as a pack; `path` names it in errors."""
    if not isinstance(data, dict):
        raise PackError(f"{path}: a pack must be a mapping with name, title and rules")
    try:
        pack = PackFile.model_validate(data)
    except ValidationError as err:
        raise PackError(_pretty_validation(path, data, err)) from None
    seen: set[str] = set()
    for rule in pack.rules:
        if rule.id in seen:
            raise PackError(f"{path}: rule {rule.id} is defined twice")
        seen.add(rule.id)
        _check_rule(path, rule, checklists)
    return pack


def resolve(name: str, files: Mapping[str, PackFile]) -> Pack:
    """Resolve `extends`: inherited rules in order, replaced by id, dropped, then new ones."""
    lineage: list[str] = []
    chain: list[PackFile] = []
    current: str | None = name
    while current is not None:
        if current in lineage:
            raise PackError(f"pack {name}: extends loops through {current}")
        if current not in files:
            known = ", ".join(sorted(files))
            raise PackError(
                f"'{current}' is not a policy pack{_suggest(current, files)}: known packs are "
                f"{known}"
            )
        lineage.append(current)
        chain.append(files[current])
        current = files[current].extends
    rules: dict[str, Rule] = {}
    closures: set[date] = set()
    escalate_after = 1
    for pf in reversed(chain):
        if pf.escalate_after_days is not None:
            escalate_after = pf.escalate_after_days
        for dropped in pf.drop:
            if dropped not in rules:
                raise PackError(
                    f"pack {pf.name}: drop names '{dropped}', which it does not inherit"
                )
            del rules[dropped]
        for rule in pf.rules:
            rules[rule.id] = rule  # same id replaces in place; dict keeps first position
        closures.update(pf.closure_days)
    top = files[name]
    return Pack(
        name=top.name,
        title=top.title,
        rules=tuple(rules.values()),
        closure_days=frozenset(closures),
        lineage=tuple(lineage),
        escalate_after_days=escalate_after,
    )


def parse_checklists(path: str, data: Any) -> dict[str, Checklist]:
    """Read the checklists document: a mapping of id to title, source and items."""
    if not isinstance(data, dict):
        raise PackError(f"{path}: checklists must be a mapping of id to title, source, items")
    out: dict[str, Checklist] = {}
    for cid, body in data.items():
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise PackError(f"{path}: checklist {cid} needs a list of items")
        items: Sequence[Any] = body["items"]
        out[str(cid)] = Checklist(
            id=str(cid),
            title=str(body.get("title", cid)),
            source=str(body.get("source", "")),
            items=tuple(str(i) for i in items),
        )
    return out
