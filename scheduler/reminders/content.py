"""What a reminder says, as values every transport renders its own way.

The reminders produce content, not payloads: a `Prompt` (one deadline's stage for one person
or channel, its checklist and its actions), a `Digest` (a team's morning picture), a
`Summary` (a manager's, a service manager's, or an import's), an `Alert` (to the admins).
The outbox stores content as JSON with a version (`to_json`, `from_json`); each transport
renders it at send time within its own limits (bot/transports/<kind>): Block Kit for Slack,
plain text for the console (`plain_text`), Adaptive Cards for Teams, HTML for email.

Nothing here names a platform, nor a chat command as code: a prompt's own words may tell
the reader what to type (e.g. /case 123456 authorise, as every transport's grammar takes
it), but where a transport sends people for what a digest could not show (`see_all`) is
the transport's to say. What refers back to a deadline (a button's value, a card's data) is
one typed `ActionRef`, written and read here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from scheduler.timescales.vocabulary import EventError

CONTENT_VERSION = 1  # bump when the JSON below changes shape; from_json reads every version
PER_PERSON = 8  # lines of one person a digest shows before "and N more"


@dataclass(frozen=True)
class ActionRef:
    """The deadline (and stage) a prompt's action is about; `event` names what "Log it"
    logs, `item` the checklist item a tick is about."""

    case: str
    rule: str
    seq: int
    stage: str
    event: str | None = None
    item: int | None = None

    def to_token(self) -> str:
        """"case|rule|seq|stage", then "|event" or "|item" when set (Slack caps a value at
        2,000 characters; a reference, a rule id and a stage are far shorter)."""
        token = f"{self.case}|{self.rule}|{self.seq}|{self.stage}"
        if self.event is not None:
            token += f"|{self.event}"
        if self.item is not None:
            token += f"|{self.item}"
        return token

    @classmethod
    def from_token(cls, token: str, with_item: bool = False) -> ActionRef:
        """The reference a token holds; `with_item`: its last part is a checklist item.
        A token not made by `to_token` is refused in one sentence."""
        parts = token.split("|")
        try:
            case, rule, seq, stage, *rest = parts
            item = int(rest.pop()) if with_item else None
            if len(rest) > 1 or not case or not rule:
                raise ValueError
            return cls(case, rule, int(seq), stage, rest[0] if rest else None, item)
        except (ValueError, IndexError):
            raise EventError("that button no longer matches a reminder: use the latest "
                             "message, or type the command instead.") from None


ActionKind = Literal["log_it", "reason", "snooze", "quote"]
ACTION_LABELS: dict[str, str] = {
    "log_it": "Log it", "reason": "Record a reason", "snooze": "Snooze to next working day",
    "quote": "Show the procedure",
}


@dataclass(frozen=True)
class Action:
    """A button on a prompt. `ref.event` is set for "log_it" (the event it logs)."""

    kind: ActionKind
    ref: ActionRef
    primary: bool = False

    @property
    def label(self) -> str:
        return ACTION_LABELS[self.kind]


@dataclass(frozen=True)
class ChecklistItem:
    """One item of a prompt's checklist, ticked or not, with the reference a tick sends."""

    item: int
    text: str
    ticked: bool

    def ref(self, prompt: ActionRef) -> ActionRef:
        return ActionRef(prompt.case, prompt.rule, prompt.seq, prompt.stage, item=self.item)


@dataclass(frozen=True)
class Prompt:
    """One stage of one deadline for one recipient: what is due and when, what to do."""

    ref: ActionRef  # case, rule, seq, stage
    lines: tuple[str, ...]  # the headline first ("Overdue: case 123456, ..."), then notes
    checklist_title: str | None = None
    checklist: tuple[ChecklistItem, ...] = ()
    actions: tuple[Action, ...] = ()
    quote: str | None = None  # the procedure's own words, shown on request
    # An hour rule's prompt (the planner's `urgent`): a transport may raise it further, as
    # Teams does in the person's activity feed. Stored only when True, so v1 rows still read.
    urgent: bool = False
    kind: Literal["prompt"] = "prompt"

    @property
    def urgent_words(self) -> str:
        """The headline: what a notification's preview shows."""
        return self.lines[0] if self.lines else ""


@dataclass(frozen=True)
class Entry:
    """One person's lines in a section of a digest (`who` empty: lines of nobody in
    particular). `more`: further lines not carried here (counted, never shown)."""

    who: str
    lines: tuple[str, ...]
    more: int = 0


@dataclass(frozen=True)
class Section:
    """A digest's section ("Overdue"), its people in order. `more`: entries not carried."""

    header: str
    entries: tuple[Entry, ...]
    more: int = 0

    @property
    def total(self) -> int:
        return sum(len(e.lines) + e.more for e in self.entries) + self.more


@dataclass(frozen=True)
class Digest:
    """A team's morning picture: a head line with the counts, then sections of lines by
    person. Every line is carried; a transport shows what fits (`fit`) and counts the rest."""

    head: str
    sections: tuple[Section, ...]
    team: str = ""
    counts: Mapping[str, int] = field(default_factory=dict)
    kind: Literal["digest", "summary"] = "digest"
    audience: str = "team"  # "team", "manager", "service" or "import"

    def fit(self, budget: int | None, per_person: int = PER_PERSON) -> Fitted:
        """What a transport with room for `budget` parts shows (a section's header and each
        person's lines are a part each; None: no limit), and what it cuts, counted exactly
        by section."""
        shown: list[tuple[str, list[tuple[str, tuple[str, ...], int]]]] = []
        hidden: dict[str, int] = {}
        room = budget
        for section in self.sections:
            entries = [e for e in section.entries if e.lines or e.more]
            if not entries:
                if section.more:  # nothing of it carried, only counted
                    hidden[section.header] = section.more
                continue
            if room is not None and room < 2:  # no room for the header and one person
                hidden[section.header] = section.total
                continue
            people: list[tuple[str, tuple[str, ...], int]] = []
            if room is not None:
                room -= 1
            cut = section.more
            for i, e in enumerate(entries):
                if room is not None and room < 1:
                    cut += sum(len(rest.lines) + rest.more for rest in entries[i:])
                    break
                lines = e.lines[:per_person]
                people.append((e.who, lines, len(e.lines) - len(lines) + e.more))
                if room is not None:
                    room -= 1
            shown.append((section.header, people))
            if cut:
                hidden[section.header] = cut
        return Fitted(shown, hidden)


@dataclass(frozen=True)
class Fitted:
    """A digest as one transport shows it: sections of (who, lines, how many more) and the
    lines it could not show, by section."""

    shown: list[tuple[str, list[tuple[str, tuple[str, ...], int]]]]
    hidden: dict[str, int]

    def closing(self, see_all: str | None = None) -> str | None:
        """"and 13 more not shown here (13 overdue)", then ", see `X`" where the transport
        lists everything (`see_all`, its command); None when nothing was cut."""
        if not self.hidden:
            return None
        return (f"and {sum(self.hidden.values())} more not shown here ("
                + ", ".join(f"{n} {h.lower()}" for h, n in self.hidden.items())
                + ")" + _see(see_all))


def _see(see_all: str | None) -> str:
    return f", see `{see_all}`" if see_all else ""


def more_words(n: int, see_all: str | None = None) -> str:
    """The line under a person's lines when some are not shown ("and 4 more", then where
    the transport lists them all)."""
    return f"and {n} more{_see(see_all)}"


@dataclass(frozen=True)
class Summary(Digest):
    """A manager's or service manager's morning summary, or an import's missed deadlines:
    a digest addressed to one person."""

    kind: Literal["digest", "summary"] = "summary"
    audience: str = "manager"


@dataclass(frozen=True)
class Alert:
    """A message to the admins (a notification that could not be delivered, and what to do)."""

    text: str
    kind: Literal["alert"] = "alert"


Content = Prompt | Digest | Summary | Alert
PLAIN_BUDGET = 48  # the parts a plain-text digest shows, as Slack's 50 blocks allow


def plain_text(content: Content, budget: int | None = PLAIN_BUDGET,
               see_all: str | None = None) -> str:
    """The content as plain text: the console's message and every transport's fallback
    (Slack's notification text, an email's text part). `budget`: the parts of a digest shown
    (see Digest.fit); `see_all`: the command that lists what a digest cut, in the
    transport's grammar (bot/transports/plain.py gives the chat's)."""
    if isinstance(content, Alert):
        return content.text
    if isinstance(content, Prompt):
        text = " ".join(content.lines)
        if content.checklist:
            text += "\n" + "\n".join(f"  [{'x' if it.ticked else ' '}] {it.text}"
                                     for it in content.checklist)
        return text
    fitted = content.fit(budget)
    lines = [content.head]
    for header, people in fitted.shown:
        lines.append(f"{header}:")
        for who, shown, more in people:
            lines.append(f"  {who + ': ' if who else ''}" + "; ".join(shown))
            if more:
                lines.append(f"    {more_words(more, see_all)}")
    closing = fitted.closing(see_all)
    if closing:
        lines.append(closing)
    return "\n".join(lines)


# --- JSON, as the outbox stores it --------------------------------------------------------

def _ref_json(ref: ActionRef) -> dict[str, Any]:
    out: dict[str, Any] = {"case": ref.case, "rule": ref.rule, "seq": ref.seq,
                           "stage": ref.stage}
    if ref.event is not None:
        out["event"] = ref.event
    if ref.item is not None:
        out["item"] = ref.item
    return out


def _ref(data: Mapping[str, Any]) -> ActionRef:
    return ActionRef(str(data["case"]), str(data["rule"]), int(data["seq"]), str(data["stage"]),
                     data.get("event"), data.get("item"))


def to_json(content: Content) -> dict[str, Any]:
    """The content as the outbox stores it: plain JSON with the version."""
    if isinstance(content, Alert):
        return {"v": CONTENT_VERSION, "kind": "alert", "text": content.text}
    if isinstance(content, Prompt):
        out = {"v": CONTENT_VERSION, "kind": "prompt", "ref": _ref_json(content.ref),
               "lines": list(content.lines), "checklist_title": content.checklist_title,
               "checklist": [{"item": c.item, "text": c.text, "ticked": c.ticked}
                             for c in content.checklist],
               "actions": [{"kind": a.kind, "ref": _ref_json(a.ref), "primary": a.primary}
                           for a in content.actions],
               "quote": content.quote}
        if content.urgent:
            out["urgent"] = True
        return out
    return {"v": CONTENT_VERSION, "kind": content.kind, "audience": content.audience,
            "team": content.team, "head": content.head, "counts": dict(content.counts),
            "sections": [{"header": s.header, "more": s.more, "entries": [
                {"who": e.who, "lines": list(e.lines), "more": e.more} for e in s.entries]}
                for s in content.sections]}


class ContentError(ValueError):
    """Stored content this version cannot read."""


def from_json(data: Mapping[str, Any]) -> Content:
    """The content an outbox row holds (any version this code knows); anything else, a
    version it does not know or a malformed row, is a ContentError (the row is parked)."""
    try:
        return _from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        if isinstance(err, ContentError):
            raise
        raise ContentError(f"outbox content that cannot be read ({type(err).__name__})"
                           ) from None


def _from_json(data: Mapping[str, Any]) -> Content:
    version, kind = data.get("v"), data.get("kind")
    if version != CONTENT_VERSION:
        raise ContentError(f"outbox content version {version!r} is not one this caseclock "
                           f"reads ({CONTENT_VERSION}): restart caseclock, whose store "
                           "upgrades itself when it starts")
    if kind == "alert":
        return Alert(str(data["text"]))
    if kind == "prompt":
        return Prompt(
            _ref(data["ref"]), tuple(data.get("lines") or ()), data.get("checklist_title"),
            tuple(ChecklistItem(int(c["item"]), str(c["text"]), bool(c["ticked"]))
                  for c in data.get("checklist") or ()),
            tuple(Action(a["kind"], _ref(a["ref"]), bool(a.get("primary")))
                  for a in data.get("actions") or ()),
            data.get("quote"), bool(data.get("urgent", False)))
    if kind in ("digest", "summary"):
        cls = Summary if kind == "summary" else Digest
        return cls(str(data["head"]), tuple(
            Section(str(s["header"]), tuple(
                Entry(str(e["who"]), tuple(e["lines"]), int(e.get("more") or 0))
                for e in s["entries"]), int(s.get("more") or 0))
            for s in data.get("sections") or ()),
            str(data.get("team") or ""), dict(data.get("counts") or {}),
            audience=str(data.get("audience") or "team"))
    raise ContentError(f"outbox content of kind {kind!r} is not one this caseclock knows")


def sections_of(groups: Sequence[tuple[str, Sequence[tuple[str, Sequence[str]]]]]
                ) -> tuple[Section, ...]:
    """Sections from (header, [(who, lines)]) groups, empty people left out."""
    return tuple(Section(h, tuple(Entry(who, tuple(lines)) for who, lines in people if lines))
                 for h, people in groups)
