"""A prompt card's buttons in Teams: `Action.Execute` invokes (adaptiveCard/action) with the
verbs log_it, reason, snooze, quote and tick, their data carrying the prompt's ActionRef
token ("ref"). Each runs the shared prompt-actions service with the permissions of the
commands, as Slack's buttons do, and answers with the card to show in place of the prompt
(the refreshed prompt and one line saying what was done).

The data each verb reads is what cards.py writes (see its docstring): {"ref": token} on
every button; the checklist's toggles ("item-N") with tick; the reason's text box with
reason; and, for log_it, {"line": ...} from the one-field form answered here (a card's "Log
it" has no text box of its own, so the first click answers with the command line prefilled).

Teams retries an invoke it got no answer to in time, so each action is idempotent: a snooze
puts one copy back in the outbox per stage and day whatever the number of clicks, a tick
stores the whole set, and a reason or a "Log it" line carries a request id made from who,
which prompt and what was typed, so the store keeps it once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select

from bot.commands.handler import NOT_IN_DIRECTORY, CommandHandler
from bot.directory import Actor
from bot.transports.teams.cards import CONTENT_TYPE, refreshed_card, ticks_from
from scheduler.reminders.actions import ActionResult, PromptActions
from scheduler.reminders.address import Address
from scheduler.reminders.content import (
    ActionRef,
    ContentError,
    Prompt,
    from_json,
)
from scheduler.timescales.vocabulary import EventError
from store.models import ChecklistTick, OutboxRow

VERBS = ("log_it", "reason", "snooze", "quote", "tick")


@dataclass(frozen=True)
class CardServices:
    """The command handler (permissions, the store) and the prompt-actions service."""

    handler: CommandHandler
    actions: PromptActions


def invoke_body(card: dict[str, Any]) -> dict[str, Any]:
    """The adaptiveCard/action invoke response that makes Teams show `card` in place."""
    return {"statusCode": 200, "type": CONTENT_TYPE, "value": card}


def _request_id(actor: Actor, verb: str, ref: ActionRef, typed: str) -> str:
    digest = hashlib.sha256(f"{actor.name}|{verb}|{ref.to_token()}|{typed.strip()}".encode())
    return f"teams:{verb}:{digest.hexdigest()[:24]}"


def handle_card_action(services: CardServices, actor: Actor | None, verb: str,
                       data: dict[str, Any], where: Address | None = None) -> dict[str, Any]:
    """Run one card button for `actor` and return the card to show in its place; `where` is
    the care team's channel it was clicked in (None: the person's chat with the bot)."""
    actions = services.actions
    try:
        ref = ActionRef.from_token(str(data.get("ref") or ""))
        if verb not in VERBS:
            raise EventError("that button is not one caseclock knows: use the latest message.")
    except (EventError, ValueError) as err:
        return _message_card(str(err))
    source = f"teams:{actor.name}" if actor else "teams"
    if actor is None:
        result = ActionResult(False, NOT_IN_DIRECTORY)
    elif verb == "snooze":
        # In a team's channel, the channel's prompt (for everyone in it); else the clicker's.
        result = actions.snooze(ref, actor, where)
    elif verb == "tick":
        items = ticks_from(data)
        result = actions.tick(ref, actor, items)
        if result.done:
            result = ActionResult(True, f"Checklist saved: {len(items)} ticked.", refresh=True)
    elif verb == "quote":
        result = actions.quote(ref, actor)
        if result.done:  # the procedure's words under the prompt, the prompt left as it was
            return _refreshed(services, actor, ref, ActionResult(True, "From the procedure"),
                              where, detail=result.text)
    elif verb == "reason":
        why = str(data.get("reason") or "").strip()
        if not why:
            return _input_card(ref, "reason", "Why the timescale was or will be missed", "",
                               "Record")
        result = actions.reason(ref, actor, why, source=source,
                                request_id=_request_id(actor, verb, ref, why))
    else:  # log_it
        command, first_words = actions.log_it(ref)
        line = str(data.get("line") or "").strip()
        if not line:
            return _input_card(ref, "line", f"{command}: add the date and time if it was not "
                                            "now", first_words, "Log it")
        words = line.split()
        if not words or words[0] != ref.case:
            # A card is about one case; another case typed here could show in a channel.
            return _refreshed(services, actor, ref, ActionResult(
                False, f"This card logs for case {ref.case} only: start the line with "
                       f"{ref.case}, or type the command for another case in your chat "
                       "with caseclock."), where)
        reply = services.handler.handle(actor, command, line, source=source,
                                        request_id=_request_id(actor, verb, ref, line))
        text = reply.text
        if where is not None and reply.ok and actor is not None:
            # In a team's channel: only what the team may see, the reference and what was
            # stored (as a channel command's thread reply says it).
            text = f"{actor.name} logged {command} for {ref.case}."
        result = ActionResult(bool(reply.ok), text, refresh=bool(reply.ok))
    return _refreshed(services, actor, ref, result, where)


def _refreshed(services: CardServices, actor: Actor | None, ref: ActionRef,
               result: ActionResult, where: Address | None,
               detail: str | None = None) -> dict[str, Any]:
    """The prompt as it was sent there, its checklist as stored now, and the result on top
    (cards.refreshed_card); a short card of the result where the prompt is not found."""
    prompt = _stored_prompt(services, actor, ref, where)
    if prompt is None:
        return _message_card("\n\n".join(t for t in (result.text or "Done.", detail) if t))
    return refreshed_card(prompt, result.text or "Done.", detail)


def _stored_prompt(services: CardServices, actor: Actor | None, ref: ActionRef,
                   where: Address | None) -> Prompt | None:
    if actor is None:
        return None
    recipient = str(where) if where is not None else str(Address.person(actor.name))
    sessions = services.handler.casebook.sessions
    with sessions() as s:
        payload = s.scalar(select(OutboxRow.payload).where(
            OutboxRow.case_ref == ref.case, OutboxRow.rule == ref.rule,
            OutboxRow.seq == ref.seq, OutboxRow.stage == ref.stage,
            OutboxRow.recipient == recipient)
            .order_by(OutboxRow.created_at.desc()).limit(1))
        ticks = set(s.scalars(select(ChecklistTick.item).where(
            ChecklistTick.case_ref == ref.case, ChecklistTick.rule == ref.rule,
            ChecklistTick.seq == ref.seq)))
    try:
        content = from_json(payload or {})
    except (ContentError, KeyError, TypeError, ValueError):
        return None  # a row from before content was stored as values
    if not isinstance(content, Prompt):
        return None
    return replace(content, checklist=tuple(replace(c, ticked=c.item in ticks)
                                            for c in content.checklist))


def _message_card(text: str) -> dict[str, Any]:
    return {"type": "AdaptiveCard", "version": "1.5",
            "body": [{"type": "TextBlock", "text": text, "wrap": True}]}


def _input_card(ref: ActionRef, field: str, label: str, value: str,
                button: str) -> dict[str, Any]:
    """A one-field form whose button runs the same verb with the field filled in."""
    verb = "reason" if field == "reason" else "log_it"
    return {"type": "AdaptiveCard", "version": "1.5", "body": [
        {"type": "TextBlock", "text": f"Case {ref.case}", "weight": "Bolder", "wrap": True},
        {"type": "Input.Text", "id": field, "label": label, "value": value,
         "isMultiline": field == "reason", "isRequired": True,
         "errorMessage": "Type something first."}],
        "actions": [{"type": "Action.Execute", "title": button, "verb": verb,
                     "data": {"ref": ref.to_token()}}]}
