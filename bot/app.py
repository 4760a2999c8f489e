"""Composition root: settings -> packs -> store -> casebook. The clock is injected here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.commands.handler import CommandHandler
from bot.directory import Directory
from bot.notify_transports import ConsoleTransport, SlackTransport
from scheduler.casebook import Casebook
from scheduler.outbox import Outbox, Transport
from scheduler.packs import PackLibrary, default_library
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
    transports: dict[str, Transport] = {"console": ConsoleTransport()}
    slack_ready = bool(settings.slack_bot_token)
    if slack_ready:
        from slack_sdk import WebClient

        client = WebClient(token=settings.slack_bot_token, timeout=10,
                           base_url=settings.slack_api_url.rstrip("/") + "/", retry_handlers=[])
        transports["slack"] = SlackTransport(client, directory)

    def transport_for(recipient: str) -> str:
        # Slack where the recipient can be reached there; otherwise the console.
        if not slack_ready:
            return "console"
        kind, _, who = recipient.partition(":")
        if kind == "channel":
            return "slack"
        actor = directory.by_name(who)
        return "slack" if actor is not None and actor.slack_user_id else "console"

    outbox = Outbox(sessions, library, transports, transport_for)
    return App(settings, library, casebook, directory, CommandHandler(casebook, directory),
               outbox)
