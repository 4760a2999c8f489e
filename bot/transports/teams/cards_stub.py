"""A stand-in for cards.py (the Adaptive Card renderer, written beside this change): one
TextBlock of the content's plain text, so sending works before the renderer is merged."""

from __future__ import annotations

from typing import Any

from scheduler.reminders.content import Content, plain_text

CARD_VERSION = "1.5"


def render_card(content: Content) -> dict[str, Any]:
    """The content as an Adaptive Card: its plain text in one TextBlock."""
    return {"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": CARD_VERSION,
            "body": [{"type": "TextBlock", "text": plain_text(content), "wrap": True}]}
