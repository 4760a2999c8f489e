"""caseclock's content as Adaptive Cards (version 1.5) for Microsoft Teams.

A prompt is a card with its headline, its checklist as toggles and `Action.Execute` buttons
(Teams' Universal Actions: the bot answers the invoke and the card is updated in place); a
digest or summary is a card of sections and people, cut to what a Teams message holds and
counted exactly; an alert is one line. Nothing here sends: bot/transports/teams does.

Teams reads a TextBlock's text as a subset of Markdown, so every line that comes from a case
(its reference, a rule's title, a procedure's words) is escaped (`md_escape`); emphasis is
given with the card's own properties (weight, colour), never with Markdown of our own.

What a prompt's buttons send (Teams merges the card's inputs into the action's data):
- every `Action.Execute`: verb = the Action's kind (log_it, reason, snooze, quote) or "tick",
  data {"ref": ActionRef token} (log_it's ref carries the event it logs);
- "Save checklist" (verb tick): also {"item-0": "true", "item-1": "false", ...}, every
  toggle's state; `ticks_from(data)` reads them back as the items ticked;
- "Record a reason" opens a text box under the card; its button (verb reason) also sends
  {"reason": "the words"}.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from bot.commands.table import SEE_ALL, command_for_event
from scheduler.reminders.content import (
    PLAIN_BUDGET,
    Action,
    Alert,
    Content,
    Digest,
    Prompt,
    more_words,
)

CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.5"  # the newest version Teams renders on desktop, web and mobile
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
# Teams refuses a message over about 28 KB, the card and the activity around it. The card
# keeps 1 KB of that for the activity's own fields (conversation, ids, summary text).
MAX_CARD_BYTES = 27 * 1024
# A digest shows the parts Slack's does (a section's header or one person's lines each), so
# a team that uses both sees the same morning picture. Teams counts bytes, not blocks: eight
# long lines for each of 48 people can pass 27 KB, so `render_card` shows fewer parts until
# the card fits, and `Digest.fit` counts exactly what was cut.
TEAMS_BUDGET = PLAIN_BUDGET
BUDGET_STEP = 4  # parts dropped at a time when a digest's card is too big
LINE_CHARS = 500  # a line longer than this (none the reminders write is) is cut
TOGGLE_CHARS = 120  # a checklist item's title on its toggle; Teams cuts long ones untidily
ELLIPSIS = "\u2026"

# The heading over a prompt: its stage in words, and the colour Teams gives it.
STAGE_HEADINGS: dict[str, tuple[str, str]] = {
    "upcoming": ("Coming up", "Accent"),
    "due_today": ("Due today", "Warning"),
    "overdue": ("Overdue", "Attention"),
    "escalated": ("Escalated to you", "Attention"),
    "exception": ("Exception: a legal limit was missed", "Attention"),
}
TICK_VERB = "tick"  # the "Save checklist" button's verb; the toggles' values travel with it
REASON_INPUT = "reason"  # the id of the text box "Record a reason" opens
ITEM_PREFIX = "item-"  # a toggle's id: "item-3" is checklist item 3

# Not the backtick: Teams' cards have no code spans, so "`/due team`" is shown as typed.
_MARKDOWN = re.compile(r"([\\*_\[\]<>])")
_LIST_START = re.compile(r"^(\s*(?:\d+)?)([-+#.)])(?=\s|$)")


def md_escape(text: str) -> str:
    """`text` as a TextBlock shows it literally: Teams' Markdown characters (* _ [ ] < > and
    the backslash) escaped, and a leading list or heading marker too."""
    text = _MARKDOWN.sub(r"\\\1", text)
    return _LIST_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def _text(text: str, **style: Any) -> dict[str, Any]:
    """A wrapping TextBlock of `text` (escaped)."""
    return {"type": "TextBlock", "text": md_escape(_cut(text, LINE_CHARS)), "wrap": True,
            **style}


def _card(body: list[dict[str, Any]], actions: list[dict[str, Any]] | None = None
          ) -> dict[str, Any]:
    card: dict[str, Any] = {"type": "AdaptiveCard", "$schema": CARD_SCHEMA,
                            "version": CARD_VERSION, "body": body,
                            "msteams": {"width": "Full"}}
    if actions:
        card["actions"] = actions
    return card


def _execute(title: str, verb: str, token: str, primary: bool = False) -> dict[str, Any]:
    action: dict[str, Any] = {"type": "Action.Execute", "title": title, "verb": verb,
                              "data": {"ref": token}}
    if primary:
        action["style"] = "positive"
    return action


def _offered(action: Action) -> bool:
    """Every button but "Log it", which only where a command logs the event it carries."""
    return action.kind != "log_it" or (
        action.ref.event is not None and command_for_event(action.ref.event) is not None)


def _action(action: Action) -> dict[str, Any]:
    """A prompt's button. "Record a reason" opens a text box under the card whose own button
    sends the reason with the same verb and reference (the reason under `REASON_INPUT`)."""
    execute = _execute(action.label, action.kind, action.ref.to_token(), action.primary)
    if action.kind != "reason":
        return execute
    execute["title"] = "Save the reason"
    return {"type": "Action.ShowCard", "title": action.label, "card": {
        "type": "AdaptiveCard", "version": CARD_VERSION,
        "body": [{"type": "Input.Text", "id": REASON_INPUT, "isMultiline": True,
                  "isRequired": True, "maxLength": 1000,
                  "label": "Why the timescale was or will be missed",
                  "errorMessage": "Write the reason first."}],
        "actions": [execute]}}


def prompt_card(content: Prompt) -> dict[str, Any]:
    """A prompt: the stage as a heading, the headline and notes, the checklist as toggles,
    its buttons, and "Save checklist" when there is a checklist."""
    words, colour = STAGE_HEADINGS.get(content.ref.stage, (content.ref.stage, "Default"))
    body: list[dict[str, Any]] = [
        _text(words, weight="Bolder", size="Medium", color=colour, style="heading")]
    if content.lines:
        # The headline less the stage words the heading already shows ("Overdue: case
        # 123456, ..." reads "Case 123456, ..." under "Overdue").
        headline = content.lines[0]
        if headline.startswith(f"{words}: ") and len(headline) > len(words) + 2:
            rest = headline[len(words) + 2:]
            headline = rest[0].upper() + rest[1:]
        body.append(_text(headline, weight="Bolder", spacing="Small"))
        body.extend(_text(line, spacing="Small") for line in content.lines[1:])
    if content.checklist:
        if content.checklist_title:
            body.append(_text(content.checklist_title, weight="Bolder", separator=True,
                              spacing="Medium"))
        body.extend({"type": "Input.Toggle", "id": f"{ITEM_PREFIX}{it.item}",
                     "title": _cut(it.text, TOGGLE_CHARS), "wrap": True,
                     "value": "true" if it.ticked else "false",
                     "valueOn": "true", "valueOff": "false"} for it in content.checklist)
    actions = [_action(a) for a in content.actions if _offered(a)]
    if content.checklist:
        actions.append(_execute("Save checklist", TICK_VERB, content.ref.to_token()))
    return _card(body, actions)


def _digest_card(content: Digest, budget: int) -> dict[str, Any]:
    fitted = content.fit(budget)
    body: list[dict[str, Any]] = [_text(content.head, weight="Bolder", size="Medium",
                                        style="heading")]
    for header, people in fitted.shown:
        body.append(_text(header, weight="Bolder", color="Accent", separator=True,
                          spacing="Medium"))
        for who, lines, more in people:
            if who:
                body.append(_text(who, weight="Bolder", spacing="Small"))
            # One TextBlock a person: a Markdown list ("- a\r- b"), Teams' own line breaks.
            items = [md_escape(_cut(line, LINE_CHARS)) for line in lines]
            if more:
                items.append(md_escape(more_words(more, SEE_ALL)))
            body.append({"type": "TextBlock", "wrap": True, "spacing": "None",
                         "text": "\r".join(f"- {item}" for item in items)})
    closing = fitted.closing(SEE_ALL)
    if closing:
        body.append(_text(closing, isSubtle=True, separator=True, spacing="Medium"))
    return _card(body)


def card_bytes(card: Mapping[str, Any]) -> int:
    """The card's size as Teams counts it: compact JSON in UTF-8."""
    return len(json.dumps(card, separators=(",", ":"), ensure_ascii=False).encode())


def digest_card(content: Digest, budget: int = TEAMS_BUDGET) -> dict[str, Any]:
    """A digest or summary: its head, then each section and person that fits within
    `budget` parts and `MAX_CARD_BYTES`, and the closing line counting what did not."""
    card = _digest_card(content, budget)
    while card_bytes(card) > MAX_CARD_BYTES and budget > 2:
        budget = max(2, budget - BUDGET_STEP)
        card = _digest_card(content, budget)
    return card


def render_card(content: Content) -> dict[str, Any]:
    """The Adaptive Card (an attachment's content) for any content the reminders make."""
    if isinstance(content, Prompt):
        return prompt_card(content)
    if isinstance(content, Digest):  # a Summary is a Digest
        return digest_card(content)
    if isinstance(content, Alert):
        return _card([_text(content.text)])
    raise TypeError(f"no Adaptive Card for {type(content).__name__}")


def card_attachment(content: Content) -> dict[str, Any]:
    """The card as a message's attachment."""
    return {"contentType": CONTENT_TYPE, "content": render_card(content)}


def refreshed_card(content: Content, done: str, detail: str | None = None) -> dict[str, Any]:
    """The card again, with what was just done on top ("Snoozed to Wed 2 Dec by jo") and,
    under it, `detail` (the procedure's words "Show the procedure" asked for): what an
    action's invoke answers, so the card is updated in place for everyone who sees it."""
    card = render_card(content)
    items = [_text(done, weight="Bolder")]
    if detail:
        items.append(_text(detail, spacing="Small"))
    card["body"] = [{"type": "Container", "style": "good", "bleed": True, "items": items},
                    *card["body"]]
    return card


def ticks_from(data: Mapping[str, Any]) -> list[int]:
    """The checklist items ticked in a "Save checklist" invoke's data (the toggles' values
    merged into the action's data by Teams), in item order."""
    ticked = []
    for key, value in data.items():
        if key.startswith(ITEM_PREFIX) and str(value).lower() == "true":
            number = key[len(ITEM_PREFIX):]
            if number.isdigit():
                ticked.append(int(number))
    return sorted(ticked)
