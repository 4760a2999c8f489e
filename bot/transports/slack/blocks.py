"""Content as Slack Block Kit: a prompt's text, checklist and buttons; a digest within one
message's 50 blocks. The action ids and block ids here are the ones the listeners
(listeners.py, beside it) answer."""

from __future__ import annotations

from typing import Any

from bot.commands.table import SEE_ALL, command_for_event
from bot.transports.plain import plain
from scheduler.reminders.content import Action, Alert, Content, Digest, Prompt, more_words

MAX_BLOCKS = 50  # Slack's limit for one message
# A digest's parts (a section's header, a person's lines) are a block each; the head line
# and the closing "and N more not shown here" take the other two of the 50.
PARTS = MAX_BLOCKS - 2
SECTION_CHARS = 2900  # a section's text, within Slack's 3,000 characters
OPTION_CHARS = 75  # a checkbox's text (Slack allows 75)
ACTION_IDS = {"log_it": "caseclock_log_it", "reason": "caseclock_reason",
              "snooze": "caseclock_snooze", "quote": "caseclock_quote"}
TICK = "caseclock_tick"
BUTTONS = "buttons"  # the block id of a prompt's buttons
CHECKLIST = "checklist"  # a prompt's checkboxes: "checklist|<the prompt's token>"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(action: Action) -> dict[str, Any]:
    b: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": action.label},
                         "action_id": ACTION_IDS[action.kind], "value": action.ref.to_token()}
    if action.primary:
        b["style"] = "primary"
    return b


def _offered(action: Action) -> bool:
    """"Log it" only for an event the chat has a command for (its form opens prefilled)."""
    return action.kind != "log_it" or (
        action.ref.event is not None and command_for_event(action.ref.event) is not None)


def prompt_blocks(p: Prompt) -> list[dict[str, Any]]:
    """The prompt's lines, its checklist as checkboxes, its buttons."""
    blocks = [_section("\n".join(p.lines))]
    if p.checklist:
        options = [{"text": {"type": "plain_text", "text": it.text[:OPTION_CHARS]},
                    "value": it.ref(p.ref).to_token()} for it in p.checklist]
        element: dict[str, Any] = {"type": "checkboxes", "action_id": TICK,
                                   "options": options}
        done = [o for o, it in zip(options, p.checklist, strict=True) if it.ticked]
        if done:
            element["initial_options"] = done
        # The deadline is in the block id too: unticking the last box sends no option.
        blocks.append({"type": "actions", "block_id": f"{CHECKLIST}|{p.ref.to_token()}",
                       "elements": [element]})
    buttons = [_button(a) for a in p.actions if _offered(a)]
    if buttons:
        blocks.append({"type": "actions", "block_id": BUTTONS, "elements": buttons})
    return blocks


def digest_blocks(d: Digest, parts: int = PARTS) -> list[dict[str, Any]]:
    """The head line, each shown section's header and its people's lines, then what did
    not fit, counted exactly by section."""
    fitted = d.fit(parts)
    blocks = [_section(d.head)]
    for header, people in fitted.shown:
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": header}})
        for who, lines, more in people:
            body = (f"*{who}*\n" if who else "") + "\n".join(lines)
            if more:
                body += "\n" + more_words(more, SEE_ALL)
            blocks.append(_section(body[:SECTION_CHARS]))
    closing = fitted.closing(SEE_ALL)
    if closing:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": closing}]})
    return blocks


def render(content: Content, parts: int = PARTS) -> dict[str, Any]:
    """The message chat.postMessage takes: {"text": the fallback, "blocks": [...]} (an
    alert is text alone)."""
    if isinstance(content, Alert):
        return {"text": plain(content), "blocks": []}
    if isinstance(content, Prompt):
        return {"text": plain(content), "blocks": prompt_blocks(content)}
    return {"text": plain(content, parts), "blocks": digest_blocks(content, parts)}
