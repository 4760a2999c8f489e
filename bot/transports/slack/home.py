"""The Slack App Home tab: my deadlines; for managers, what awaits their authorisation and what
is overdue in their team(s).

Drawn from the handler's `/due` view (the same data as the chat reply), so the tab and the
command never disagree; only the grouping differs.
"""

from __future__ import annotations

from typing import Any

from bot.commands.handler import NOT_IN_DIRECTORY, CommandHandler, DueView
from bot.directory import Actor
from bot.render import moment_text
from scheduler.timescales.vocabulary import EventError

AWAITING = "Awaiting your authorisation"  # the /due section the tab shows on its own
SECTION_LIMIT = 2900  # Slack refuses a section's text over 3,000 characters


def _fit(lines: list[str], empty: str) -> str:
    """The lines as one section's text, cut (saying how many were left out) to fit Slack."""
    if not lines:
        return empty
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        more = f"...and {len(lines) - i} more: type /due or /due team."
        if used + len(line) + 1 + len(more) > SECTION_LIMIT:
            out.append(more)
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out)


def _items(view: DueView, title: str) -> list[str]:
    return [i for s in view.sections if s.title == title for i in s.items]


def _mine(view: DueView) -> list[str]:
    """The person's own deadlines as `/due` words them, without the authorisation list."""
    lines = [view.headline]
    for section in view.sections:
        if section.title != AWAITING:
            lines.append(f"*{section.title}*")
            lines.extend(section.items)
    return lines


def _header(title: str, text: str) -> list[dict[str, Any]]:
    return [{"type": "header", "text": {"type": "plain_text", "text": title}},
            {"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def home_view(handler: CommandHandler, actor: Actor | None) -> dict[str, Any]:
    """The App Home view for one person (a polite note for someone not in the directory)."""
    if actor is None:
        return {"type": "home", "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": NOT_IN_DIRECTORY}}]}
    now = handler.clock()
    mine = handler.due_view(actor, "me", now)
    blocks = _header("My deadlines", _fit(_mine(mine), mine.headline))
    if actor.is_manager:
        blocks += _header("Awaiting my authorisation", _fit(
            _items(mine, AWAITING), "Nothing is waiting for your authorisation."))
        try:
            team = handler.due_view(actor, "team", now)
            overdue, where = _items(team, "Overdue"), team.who
        except EventError:  # a manager not yet given a team: nothing of a team to show
            overdue, where = [], "your team"
        # Only what has already slipped: the next five days are in /due team.
        blocks += _header("Overdue in my team", _fit(overdue, f"Nothing is overdue in {where}."))
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
        f"Updated {moment_text(now)}. Type /due or /due team for more.")}]})
    return {"type": "home", "blocks": blocks}
