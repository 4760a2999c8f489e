"""Every transport caseclock can send through, by kind (healthchecks' TRANSPORTS style).

One explicit line per transport, "module:Class", imported only when the transport is built,
so a deployment without Slack never imports slack_sdk. Adding a transport: its own module(s)
under bot/transports/, one line here, and its settings in store/settings.py. Each class
provides `from_settings(settings, directory)` (None when not configured), `reaches(recipient)`
and the `scheduler.reminders.transport.Transport` protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any, Protocol, cast

from bot.directory import Directory
from scheduler.reminders.address import Address
from scheduler.reminders.transport import Transport
from scheduler.timescales.vocabulary import EventError
from store.settings import Settings

TRANSPORTS: dict[str, str] = {
    "console": "bot.transports.console:ConsoleTransport",
    "slack": "bot.transports.slack.sending:SlackTransport",
    "teams": "bot.transports.teams.sending:TeamsTransport",
    "email": "bot.transports.email:EmailTransport",
}
FALLBACK = "console"  # where a recipient no other transport reaches is told, in the console
# With a chat platform configured, caseclock runs as a server: a recipient no transport
# reaches is not printed into the server's log (case content in a log) but parked, and the
# admins are told how to reach them.
UNREACHABLE = "unreachable"


class Reaching(Protocol):
    """What routing asks of a transport besides sending."""

    def reaches(self, to: Address) -> bool: ...


def transport_class(kind: str) -> Any:
    """The class registered for `kind`, imported now."""
    module, _, name = TRANSPORTS[kind].partition(":")
    return getattr(import_module(module), name)


MISSING_EXTRA = ("{what} is configured, but its packages are not installed (no {module}): "
                 "install them with .venv/bin/pip install -e '.[msteams]'")


def build_transports(settings: Settings, directory: Directory) -> dict[str, Transport]:
    """Every transport the settings configure, by kind (the console always). A transport
    imports its platform's packages only once it is configured, so a base install runs; one
    configured without its packages is one sentence, not a traceback."""
    out: dict[str, Transport] = {}
    for kind in TRANSPORTS:
        try:
            transport = transport_class(kind).from_settings(settings, directory)
        except ModuleNotFoundError as err:
            raise EventError(MISSING_EXTRA.format(what=kind.capitalize(), module=err.name)
                             ) from None
        if transport is not None:
            out[kind] = transport
    return out


def router(transports: dict[str, Transport], directory: Directory) -> Callable[[str], str]:
    """`transport_for(recipient)`: a person's preferred transport where it is configured and
    reaches them (Teams: once they have opened the app; email: with an address); else the
    first configured transport, other than the fallback, that reaches the recipient (Slack:
    a person with a Slack id, a team with a Slack channel of the address's kind); else the
    console, or, where a chat platform is configured, nowhere (`UNREACHABLE`: parked, admins
    told)."""
    others = [(kind, t) for kind, t in transports.items() if kind != FALLBACK]
    fallback = UNREACHABLE if others else FALLBACK

    def transport_for(recipient: str) -> str:
        to = Address.parse(recipient)
        if to.is_person:
            actor = directory.by_name(to.name)
            prefers = actor.prefers if actor is not None else None
            if prefers in transports and cast(Reaching, transports[str(prefers)]).reaches(to):
                return str(prefers)
        for kind, transport in others:
            if cast(Reaching, transport).reaches(to):
                return kind
        return fallback

    return transport_for
