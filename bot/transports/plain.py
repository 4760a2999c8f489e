"""Content as plain text in the chat's own words: the console's message, the dry run's
"text", and the fallback text of every chat message (Slack's notification preview)."""

from __future__ import annotations

from bot.commands.table import SEE_ALL
from scheduler.reminders.content import PLAIN_BUDGET, Content, plain_text


def plain(content: Content, budget: int | None = PLAIN_BUDGET) -> str:
    """The content's plain text, pointing to `/due team` for what a digest cut."""
    return plain_text(content, budget, SEE_ALL)
