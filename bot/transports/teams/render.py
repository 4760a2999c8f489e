"""The one import of the card renderer: switch it here when cards.py is merged."""

from bot.transports.teams.cards_stub import render_card

__all__ = ["render_card"]
