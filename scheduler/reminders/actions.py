"""What people do with a prompt: snooze it, tick its checklist, read the procedure's words,
record a reason, log what happened. One service for every transport: Slack's listeners call
it, and so will Teams'; each renders the ActionResult its own way. State lives in the store.

A button carries an ActionRef ("case|rule|seq|stage[|event]"), written and read only in
scheduler/reminders/content.py.
Permissions are those of the chat commands, injected (`Commands`): a button obeys the rules of
the command it stands for, and the scheduler imports nothing of the bot.

A snooze belongs to the person (or the team channel) whose prompt it was: it puts a copy of
that one delivered row back in the outbox for the next working morning. When the copy comes
due, the sweep (`refresh_snoozed`) plans its deadline again at that moment: if a later stage
has been reached meanwhile ("overdue"), the copy is dropped, since that stage's own prompt
goes instead; otherwise its content is composed again, with the checklist as it is then.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from scheduler.casebook import Casebook
from scheduler.packs import PackLibrary
from scheduler.reminders.address import Address
from scheduler.reminders.compose import compose_prompt
from scheduler.reminders.content import ActionRef, to_json
from scheduler.reminders.delivery import KEY_CHUNK, chunks
from scheduler.reminders.planner import (
    CaseInfo,
    Planner,
    TeamPeople,
    in_working_hours,
    next_working_morning,
    snoozable,
)
from scheduler.reminders.rows import DEADLINE_COLUMNS, deadline_from_row
from scheduler.timescales.calendar import LONDON, WorkingCalendar
from scheduler.timescales.vocabulary import EventError
from store.models import Case, ChecklistTick, DeadlineRow, OutboxRow, Snooze, Team
from store.repo import open_deadline_clause

SNOOZED = ":snoozed:"  # in the key of a snoozed copy, after the original row's key
REFRESH_AHEAD = timedelta(minutes=2)  # a copy is re-planned this long before it comes due


def snooze(sessions: sessionmaker[Session], cal: WorkingCalendar, case: str, rule: str,
           seq: int, stage: str, by: str, now: datetime, where: Address | None = None
           ) -> datetime:
    """Put `by`'s prompt off to the next working morning (or the prompt of the team channel
    `where`, when it was clicked there); returns when it comes back."""
    if not snoozable(stage):
        raise EventError("escalations and exceptions cannot be snoozed: they need action.")
    until = next_working_morning(now, cal)
    # Clicked in a team's channel, it is the channel's prompt alone (the clicker's own direct
    # message of the same stage is theirs to snooze from it); clicked anywhere else (their
    # own chat with the bot), the clicker's own.
    recipients = [str(where)] if where is not None and not where.is_person else [
        str(Address.person(by))]
    with sessions.begin() as s:
        # For the record only (who last snoozed this stage): what comes back, and to whom,
        # is the outbox copy below.
        existing = s.scalar(select(Snooze).where(Snooze.case_ref == case, Snooze.rule == rule,
                                                 Snooze.seq == seq, Snooze.stage == stage))
        if existing is None:
            s.add(Snooze(case_ref=case, rule=rule, seq=seq, stage=stage, until=until, by=by))
        else:
            existing.until, existing.by = until, by
        sent = s.scalars(select(OutboxRow).where(
            OutboxRow.case_ref == case, OutboxRow.rule == rule, OutboxRow.seq == seq,
            OutboxRow.stage == stage, OutboxRow.recipient.in_(recipients),
            OutboxRow.sent_at.is_not(None))).all()
        for row in sent:
            original = row.key.split(SNOOZED, 1)[0]  # a snoozed copy snoozed again
            key = f"{original}{SNOOZED}{until.date().isoformat()}"
            if s.scalar(select(OutboxRow.id).where(OutboxRow.key == key)) is None:
                s.add(OutboxRow(key=key, stage=row.stage, case_ref=row.case_ref, rule=row.rule,
                                seq=row.seq, recipient=row.recipient, team=row.team,
                                transport=row.transport, urgent=False, payload=row.payload,
                                created_at=now, next_attempt_at=until, attempts=0))
    return until


def refresh_snoozed(s: Session, library: PackLibrary, teams: Mapping[str, TeamPeople],
                    now: datetime) -> tuple[int, int]:
    """Re-plan the snoozed copies coming due within REFRESH_AHEAD, each at the moment it
    comes back: drop it if its recipient has reached a later stage (or nothing is due any
    more), else compose it again with the current checklist. Returns (dropped, refreshed).

    This runs inside the sweep's write transaction, so it reads the copies' deadlines and
    ticks in one query each (a chunk of cases per query) and plans with one planner per
    pack, whatever the number of copies."""
    rows = s.scalars(select(OutboxRow).where(
        OutboxRow.key.contains(SNOOZED), OutboxRow.sent_at.is_(None),
        OutboxRow.withdrawn_at.is_(None), OutboxRow.parked_at.is_(None),
        OutboxRow.next_attempt_at <= now + REFRESH_AHEAD)).all()
    if not rows:
        return 0, 0
    refs = sorted({row.case_ref for row in rows})
    found: dict[tuple[str, str, int], Any] = {}
    ticks: dict[tuple[str, str, int], list[int]] = defaultdict(list)
    for part in chunks(refs, KEY_CHUNK):
        for found_row in s.execute(
                select(Case.reference, Case.policy, Case.allocated_worker,
                       Team.name.label("team_name"), *DEADLINE_COLUMNS)
                .select_from(DeadlineRow).join(Case, Case.id == DeadlineRow.case_id)
                .join(Team, Team.id == Case.team_id)
                .where(Case.reference.in_(list(part)), open_deadline_clause())):
            found[(found_row.reference, found_row.rule, found_row.seq)] = found_row
        for ref, rule, seq, item in s.execute(
                select(ChecklistTick.case_ref, ChecklistTick.rule, ChecklistTick.seq,
                       ChecklistTick.item).where(ChecklistTick.case_ref.in_(list(part)))
                .order_by(ChecklistTick.item)):
            ticks[(ref, rule, seq)].append(item)
    planners: dict[str, Planner] = {}
    dropped = refreshed = 0
    for row in rows:
        at = max(now, row.next_attempt_at)
        d = found.get((row.case_ref, row.rule, row.seq))
        message = None
        if d is not None:
            planner = planners.get(d.policy)
            if planner is None:
                planner = planners[d.policy] = Planner(
                    library.get(d.policy), library.calendar(d.policy), teams)
            planned = [p for p in planner.plan_deadline(
                deadline_from_row(d, d.reference),
                CaseInfo(d.reference, d.team_name, d.allocated_worker), at,
                in_working_hours(at, planner.cal))
                if p.recipient == row.recipient and row.key.startswith(p.key)]
            if planned:
                p = planned[0]
                rule_def = planner.rules.get(p.rule)
                checklist = library.checklists.get(rule_def.checklist) if rule_def and (
                    rule_def.checklist) else None
                message = to_json(compose_prompt(
                    p, rule_def, planner.pack, planner.cal, at, checklist,
                    ticks.get((p.case, p.rule, p.seq), ())))
        if message is None:
            row.withdrawn_at = now
            dropped += 1
        elif message != row.payload:
            row.payload = message
            refreshed += 1
    return dropped, refreshed


def set_ticks(sessions: sessionmaker[Session], case: str, rule: str, seq: int,
              items: Iterable[int], by: str) -> int:
    """Record which checklist items are done (the whole set, as the checkboxes show it: an
    empty set unticks everything)."""
    chosen = sorted(set(items))
    with sessions.begin() as s:
        s.execute(delete(ChecklistTick).where(ChecklistTick.case_ref == case,
                                              ChecklistTick.rule == rule,
                                              ChecklistTick.seq == seq))
        for i in chosen:
            s.add(ChecklistTick(case_ref=case, rule=rule, seq=seq, item=i, by=by))
    return len(chosen)


def checklist_choice(value: str) -> tuple[ActionRef, int]:
    """A checklist option's value, the prompt's token then '|item': (reference, item)."""
    ref = ActionRef.from_token(value, with_item=True)
    assert ref.item is not None
    return replace(ref, item=None), ref.item


@dataclass(frozen=True)
class ActionResult:
    """What an action did, for the transport to render: `text` to tell the person privately
    ("" for nothing), whether it was `done`, and whether the prompt should be `refresh`ed
    to show it (a card updated in place; Slack's checkboxes show their own state)."""

    done: bool
    text: str = ""
    refresh: bool = False


class Person(Protocol):
    """Who clicked, as the directory knows them (bot.directory.Actor)."""

    @property
    def name(self) -> str: ...


class Reply(Protocol):
    """A command's answer (bot.commands.handler.Reply)."""

    @property
    def text(self) -> str: ...

    @property
    def ok(self) -> bool: ...


class Commands(Protocol):
    """What the service needs of the chat commands (bot.commands.handler.CommandHandler):
    the permission check of a case, and running a command line."""

    def visible_case(self, actor: Any, case: str) -> str: ...

    def handle(self, actor: Any, command: str, text: str, source: str,
               request_id: str | None = None) -> Any: ...


class PromptActions:
    """Snooze, tick, quote, reason and "Log it" for a prompt's reference, an actor and where
    it was clicked. `stranger` is what someone not in the directory is told; `command_for`
    maps a meeting event to the command line that logs it, and `reason_command` is the
    command and word that record a reason (both the command table's: the scheduler names no
    chat command)."""

    def __init__(self, casebook: Casebook, commands: Commands, stranger: str,
                 command_for: Callable[[str], tuple[str, str] | None],
                 reason_command: tuple[str, str]) -> None:
        self.casebook = casebook
        self.commands = commands
        self.stranger = stranger
        self.command_for = command_for
        self.reason_command = reason_command

    def snooze(self, ref: ActionRef, actor: Person | None,
               where: Address | None) -> ActionResult:
        """Put the prompt off to the next working morning: the one of the team channel
        `where` when it was clicked there (for everyone in it), else the actor's own. Each
        transport says where a click came from as an Address (None: a personal chat)."""
        if actor is None:
            return ActionResult(False, self.stranger)
        casebook = self.casebook
        try:
            self.commands.visible_case(actor, ref.case)  # a button obeys the rules of commands
            until = snooze(casebook.sessions, casebook.calendar_of(ref.case), ref.case,
                           ref.rule, ref.seq, ref.stage, actor.name, casebook.clock(),
                           where=where)
        except EventError as err:
            return ActionResult(False, f"Not snoozed: {err}")
        local = until.astimezone(LONDON)
        return ActionResult(True, f"Snoozed: it comes back {local:%a} {local.day} {local:%b} "
                                  f"at {local:%H:%M}.")

    def tick(self, ref: ActionRef, actor: Person | None, items: Iterable[int]) -> ActionResult:
        """Record the checklist as now ticked (the whole set: an empty one unticks all)."""
        if actor is None:
            return ActionResult(False)  # a checkbox has nowhere to say it: nothing stored
        try:
            self.commands.visible_case(actor, ref.case)  # only a team the actor sees
        except EventError as err:
            return ActionResult(False, f"Not ticked: {err}")
        set_ticks(self.casebook.sessions, ref.case, ref.rule, ref.seq, items, actor.name)
        return ActionResult(True, refresh=True)

    def quote(self, ref: ActionRef, actor: Person | None) -> ActionResult:
        """The procedure's own words for the prompt's rule, and where they come from."""
        try:
            if actor is None:
                raise EventError(self.stranger)
            self.commands.visible_case(actor, ref.case)
        except EventError as err:
            return ActionResult(False, str(err))
        casebook = self.casebook
        rule = casebook.library.get(casebook.case_summary(ref.case).policy).rule(ref.rule)
        return ActionResult(True, f"{rule.title}: \u201c{rule.source.quote}\u201d "
                                  f"({rule.source.document})")

    def reason_line(self, ref: ActionRef, why: str) -> tuple[str, str]:
        """The command line a reason stands for: ('/case', 'CASE reason RULE why')."""
        command, word = self.reason_command
        return command, f"{ref.case} {word} {ref.rule} {why.strip()}"

    def reason(self, ref: ActionRef, actor: Person | None, why: str, source: str,
               request_id: str | None = None) -> ActionResult:
        """Record why the prompt's timescale was or will be missed, as the command would
        (`request_id` makes a retried submission store it once)."""
        command, text = self.reason_line(ref, why)
        reply = self.commands.handle(actor, command, text, source=source,
                                     request_id=request_id)
        return ActionResult(bool(reply.ok), str(reply.text), refresh=bool(reply.ok))

    def log_it(self, ref: ActionRef) -> tuple[str, str]:
        """The command line "Log it" opens, to complete and send: (command, first words),
        e.g. ('/case', '123456 review '); ('/seen', '123456 ') for a prompt without its
        event (older buttons)."""
        found = self.command_for(ref.event or "child_seen") or self.command_for("child_seen")
        command, words = found if found else ("", "")
        return command, " ".join(w for w in (ref.case, words) if w) + " "
