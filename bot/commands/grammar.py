"""One grammar for every transport: Slack, Teams and the console accept the same text.

`parse(command, text, now)` turns `/seen 123456 yesterday 16:00 alone` into an Intent: the
events to log (one per case, for siblings), or a question (a case's timeline, what is due).
Every mistake is an EventError with one sentence and the usage line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.commands.dates import is_date_word, is_time_word, parse_day, when
from bot.commands.table import (
    CASE_WORDS,
    SLASH_COMMANDS,
    USAGE,
    case_help,
    logging_words,
)
from scheduler.timescales.calendar import LONDON
from scheduler.timescales.vocabulary import (
    DEFAULT_CASE_PATTERN,
    OUTCOMES,
    TRACKS,
    EventError,
    looks_like_case,
)

MENTION = re.compile(r"^@([\w.\-]+)$")  # a person typed as @jo, in every transport
# A transport's own mention markup, one token -> (name, that chat's user id), else None:
# Slack's `<@U123|jo>` is read in bot/transports/slack/mentions.py, not here.
MentionReader = Callable[[str], "tuple[str, str | None] | None"]

# The usage lines and /case help come from the one command table.
CASE_HELP = case_help()


@dataclass(frozen=True)
class EventDraft:
    """An event a command asks to log, before permissions and the store."""

    case: str
    type: str
    at: datetime
    fields: dict[str, Any]
    # A referral typed with `again`: a new referral, even within a working day of the last
    # one of the same track (otherwise taken for a double tap and refused).
    again: bool = False


@dataclass(frozen=True)
class Intent:
    """What a command line asks for."""

    kind: str  # "log", "show_case", "due", "help"
    command: str
    events: tuple[EventDraft, ...] = ()
    case: str | None = None
    target: str | None = None  # for /due: "me", "team" or a mention
    mention_ids: dict[str, str] = field(default_factory=dict)  # name -> chat user id

    @property
    def needs_manager(self) -> bool:
        """Authorising and extending are for managers."""
        return any(e.type in ("assessment_authorised", "extension_agreed") for e in self.events)


class _Words:
    """The tokens after the case references, consumed left to right."""

    def __init__(self, tokens: list[str], command: str) -> None:
        self.tokens = tokens
        self.command = command

    def take_when(self, now: datetime) -> datetime:
        """Remove a date and/or time wherever they stand and read them."""
        day = next((t for t in self.tokens if is_date_word(t)), None)
        if day is not None:
            self.tokens.remove(day)
        tm = next((t for t in self.tokens if is_time_word(t)), None)
        if tm is not None:
            self.tokens.remove(tm)
        return when(day, tm, now)

    def flag(self, *names: str) -> bool:
        for n in names:
            if n in (t.lower() for t in self.tokens):
                self.tokens = [t for t in self.tokens if t.lower() != n]
                return True
        return False

    def rest(self) -> str:
        text = " ".join(self.tokens).strip()
        self.tokens = []
        return text

    def done(self) -> None:
        if self.tokens:
            raise EventError(f"I did not understand '{' '.join(self.tokens)}': "
                             f"type {USAGE[self.command]}.")


def _split(text: str) -> list[str]:
    return [t for t in text.replace("\u00a0", " ").split() if t]


def _cases(tokens: list[str], command: str, many: bool,
           pattern: str | None) -> tuple[list[str], list[str]]:
    cases: list[str] = []
    while tokens and looks_like_case(tokens[0], pattern) and not is_date_word(tokens[0]) and not (
        is_time_word(tokens[0])
    ):
        cases.append(tokens.pop(0))
        if not many:
            break
    if not cases:
        first = tokens[0] if tokens else ""
        hint = f"'{first}' is not a case reference" if first else "the case reference is missing"
        shape = ("letters and digits" if pattern in (None, DEFAULT_CASE_PATTERN)
                 else f"the shape {pattern}")
        raise EventError(f"{hint}: use the authority's reference ({shape}, no names); "
                         f"type {USAGE[command]}.")
    return cases, tokens


def _need_text(text: str, what: str, example: str) -> str:
    if not text:
        raise EventError(f"{what} is empty: say why, for example {example}.")
    return text


def _need_date(words: _Words, what: str, example: str, today: date) -> date:
    tok = next((t for t in words.tokens if is_date_word(t)), None)
    if tok is None:
        raise EventError(f"{what} needs a date: type {example}.")
    words.tokens.remove(tok)
    return parse_day(tok, today, past=False)


def _mention(token: str, reader: MentionReader | None) -> tuple[str, str | None]:
    found = reader(token) if reader else None
    if found:
        return found
    m = MENTION.match(token)
    if not m:
        raise EventError(f"'{token}' is not a person: mention them, for example allocate @jo.")
    return m.group(1), None


# Each /case sub-command: (event type, a function reading its words into fields).
SubParser = Callable[[_Words, datetime], dict[str, Any]]


def _no_fields(_w: _Words, _now: datetime) -> dict[str, Any]:
    return {}


def _decision(w: _Words, now: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {}
    toks = [t.lower() for t in w.tokens]
    for key, name in (("seen", "seen_by_day"), ("review", "first_review_by_day")):
        if key in toks:
            i = toks.index(key)
            # ASCII digits only: '²' and Arabic-Indic digits pass isdigit() but not int().
            if i + 1 >= len(toks) or not (toks[i + 1].isascii() and toks[i + 1].isdigit()):
                raise EventError(f"{key} needs a day number: type decision {key} 5.")
            out[name] = int(toks[i + 1])
            del w.tokens[i:i + 2]
            toks = [t.lower() for t in w.tokens]
    if "target" in toks:
        i = toks.index("target")
        if i + 1 >= len(toks) or not is_date_word(toks[i + 1]):
            raise EventError("target needs a date: type decision target 15/01/2027.")
        out["target"] = parse_day(w.tokens[i + 1], now.astimezone(LONDON).date(), past=False)
        del w.tokens[i:i + 2]
    return out


def _choice(options: dict[str, tuple[str, Any]], what: str) -> SubParser:
    def read(w: _Words, _now: datetime) -> dict[str, Any]:
        for word, (name, value) in options.items():
            if w.flag(word):
                return {name: value}
        raise EventError(f"{what}: type one of {', '.join(options)}.")
    return read


def _outcome(w: _Words, _now: datetime) -> dict[str, Any]:
    for o in OUTCOMES:
        if w.flag(o):
            return {"outcome": o}
    return {}


def _plan(w: _Words, _now: datetime) -> dict[str, Any]:
    kind = w.tokens.pop(0) if w.tokens and not is_date_word(w.tokens[0]) else None
    if not kind:
        raise EventError("say which plan: type plan isp, plan cin or plan family.")
    return {"kind": kind.lower()}


# The /case words whose fields need reading; every other plain word has none.
READERS: dict[str, SubParser] = {
    "decision": _decision,
    "outcome": _choice({"icpc": ("icpc_required", True), "noicpc": ("icpc_required", False)},
                       "say whether a conference is needed"),
    "icpc": _choice({"plan": ("cp_plan", True), "noplan": ("cp_plan", False)},
                    "say whether the child is on a plan"),
    "rcpc": _choice({"continues": ("cp_plan_continues", True),
                     "ends": ("cp_plan_continues", False)}, "say whether the plan continues"),
    "plan": _plan,
    "complete": _outcome,
}
# The words read by _case_sub's own code below (a person, a date, a reason to the end).
OWN_CODE = ("allocate", "extend", "reason", "edd", "info", "received", "close", "void")
# Each plain /case word of the table (aliases too): (event type, its reader).
SUBCOMMANDS: dict[str, tuple[str, SubParser]] = {
    w: (c.event, READERS.get(c.word, _no_fields))
    for c in CASE_WORDS if c.event and c.word not in OWN_CODE for w in (c.word, *c.aliases)}


def _case_sub(case: str, words: _Words, now: datetime,
              mention: MentionReader | None) -> tuple[EventDraft, dict[str, str]]:
    sub = words.tokens.pop(0).lower()
    today = now.astimezone(LONDON).date()
    mentions: dict[str, str] = {}
    if sub in SUBCOMMANDS:
        etype, reader = SUBCOMMANDS[sub]
        fields = reader(words, now)  # first, so a field's own date is not read as the time
        at = words.take_when(now)
        words.done()
        return EventDraft(case, etype, at, fields), mentions
    if sub == "allocate":
        if not words.tokens:
            raise EventError("say who: type /case CASE allocate @jo.")
        name, uid = _mention(words.tokens.pop(0), mention)
        if uid:
            mentions[name] = uid
        at = words.take_when(now)
        words.done()
        return EventDraft(case, "allocated", at, {"worker": name}), mentions
    if sub == "extend":
        until = _need_date(words, "extend", "/case CASE extend 29/01/2027 awaiting health "
                           "information", today)
        if until <= today:
            # An extension ending today or earlier extends nothing, and would mark deadlines met.
            raise EventError(f"an extension must end after today, not on {until:%d/%m/%Y}: "
                             "type the new date, for example extend 29/01/2027 awaiting "
                             "health information.")
        reason = _need_text(words.rest(), "the reason for the extension",
                            "extend 29/01/2027 awaiting health information")
        return EventDraft(case, "extension_agreed", when(None, None, now),
                          {"until": until, "reason": reason}), mentions
    if sub == "reason":
        if not words.tokens:
            raise EventError("say which timescale: type /case CASE reason child_visited "
                             "family not at home twice.")
        rule = words.tokens.pop(0).lower()
        reason = _need_text(words.rest(), "the reason",
                            f"reason {rule} family not at home twice")
        return EventDraft(case, "delay_reason", when(None, None, now),
                          {"rule": rule, "reason": reason}), mentions
    if sub == "edd":
        edd = _need_date(words, "edd", "/case CASE edd 25/01/2027", today)
        words.done()
        return EventDraft(case, "expected_delivery_date", when(None, None, now),
                          {"date": edd}), mentions
    if sub == "info":
        if not words.tokens or is_date_word(words.tokens[0]):
            raise EventError("say which agency: type /case CASE info police 04/12.")
        agency = words.tokens.pop(0).lower()
        by = _need_date(words, "info", f"/case CASE info {agency} 04/12", today)
        words.done()
        return EventDraft(case, "agency_info_requested", when(None, None, now),
                          {"agency": agency, "by": by}), mentions
    if sub == "received":
        if not words.tokens:
            raise EventError("say which agency: type /case CASE received police.")
        agency = words.tokens.pop(0).lower()
        at = words.take_when(now)
        words.done()
        return EventDraft(case, "agency_info_received", at, {"agency": agency}), mentions
    if sub == "close":
        reason = _need_text(words.rest(), "the reason for closing", "close nfa")
        return EventDraft(case, "case_closed", when(None, None, now),
                          {"reason": reason}), mentions
    if sub == "void":
        if not words.tokens:
            raise EventError("say which entry: type /case CASE void EVENT-ID wrong case "
                             "(the id is in the reply and in /case CASE).")
        event_id = words.tokens.pop(0)
        reason = _need_text(words.rest(), "the reason for voiding", f"void {event_id} wrong case")
        return EventDraft(case, "event_voided", when(None, None, now),
                          {"event_id": event_id, "reason": reason}), mentions
    raise EventError(f"'{sub}' is not something I can log: type one of "
                     f"{', '.join(logging_words())}, "
                     "or /case help.")


def parse(command: str, text: str, now: datetime, case_pattern: str | None = None,
          mention: MentionReader | None = None) -> Intent:
    """Read one command line. `command` is the slash command, `text` what follows it.

    `case_pattern` is CASECLOCK_CASE_PATTERN (None: the default shape of a reference).
    `mention` reads the transport's own mention markup; plain `@jo` is read always.
    """
    command = command.strip().lower()
    if not command.startswith("/"):
        command = "/" + command
    if command not in USAGE:
        raise EventError(f"'{command}' is not a caseclock command: type "
                         f"{', '.join(SLASH_COMMANDS[:-1])} or {SLASH_COMMANDS[-1]}.")
    tokens = _split(text)
    if command == "/due":
        if not tokens:
            return Intent("due", command, target="me")
        if len(tokens) == 1 and tokens[0].lower() == "team":
            return Intent("due", command, target="team")
        if len(tokens) == 1:
            try:
                name, uid = _mention(tokens[0], mention)
            except EventError:  # not a mention: say /due's own forms, not allocate's
                raise EventError(f"'{tokens[0]}' is not a person: type /due @NAME, /due team "
                                 "or /due.") from None
            return Intent("due", command, target=name, mention_ids={name: uid} if uid else {})
        raise EventError(f"type {USAGE['/due']}.")
    if command == "/case" and (not tokens or tokens[0].lower() == "help"):
        return Intent("help", command)
    cases, rest = _cases(tokens, command, many=command in ("/seen",), pattern=case_pattern)
    words = _Words(rest, command)
    if command == "/referral":
        track = next((t.lower() for t in words.tokens if t.lower() in (*TRACKS, "eh")), None)
        if track is None:
            raise EventError(f"say the track: type {USAGE['/referral']}.")
        words.tokens = [t for t in words.tokens if t.lower() != track]
        again = words.flag("again")
        at = words.take_when(now)
        words.done()
        ref_fields = {"track": "early_help" if track == "eh" else track}
        return Intent("log", command,
                      (EventDraft(cases[0], "referral_received", at, ref_fields, again=again),))
    if command == "/seen":
        fields: dict[str, Any] = {}
        if words.flag("alone"):
            fields["alone"] = True
        if words.flag("home", "home_visited"):
            fields["home_visited"] = True
        if words.flag("bedroom", "bedroom_seen"):
            fields["bedroom_seen"] = True
        at = words.take_when(now)
        words.done()
        return Intent("log", command, tuple(EventDraft(c, "child_seen", at, dict(fields))
                                           for c in cases))
    if command == "/strategy":
        at = words.take_when(now)
        words.done()
        return Intent("log", command,
                      (EventDraft(cases[0], "strategy_discussion_held", at, {}),))
    # /case CASE [sub ...]
    if not words.tokens:
        return Intent("show_case", command, case=cases[0])
    if [t.lower() for t in words.tokens] == ["share"]:
        return Intent("share_case", command, case=cases[0])
    draft, mentions = _case_sub(cases[0], words, now, mention)
    return Intent("log", command, (draft,), mention_ids=mentions)
