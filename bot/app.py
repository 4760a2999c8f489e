"""Composition root: settings -> packs -> store -> casebook. The clock is injected here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.commands.handler import CommandHandler
from bot.directory import Directory
from bot.transports.registry import build_transports, router
from scheduler.casebook import Casebook
from scheduler.packs import PackLibrary, default_library
from scheduler.reminders.outbox import Outbox
from store.db import open_database
from store.settings import Settings


def system_clock() -> datetime:
    """The real time, aware, in UTC."""
    return datetime.now(UTC)


@dataclass
class App:
    """What the commands need, built once."""

    settings: Settings
    library: PackLibrary
    casebook: Casebook
    directory: Directory
    handler: CommandHandler
    outbox: Outbox


def build_app(settings: Settings | None = None,
              clock: Callable[[], datetime] = system_clock) -> App:
    """Open (creating or upgrading) the database and wire the casebook."""
    settings = settings or Settings()
    library = default_library(settings.policy_dir)
    _engine, sessions = open_database(settings.database_url)
    casebook = Casebook(sessions, library, clock, settings.case_pattern)
    directory = Directory(sessions)
    # Each recipient goes through the first configured transport that reaches them (a
    # person with a Slack id, a team's channel), else to the console.
    transports = build_transports(settings, directory)
    transport_for = router(transports, directory)
    outbox = Outbox(sessions, library, transports, transport_for)
    return App(settings, library, casebook, directory, CommandHandler(casebook, directory),
               outbox)
