"""The console twin: the chat commands in a terminal, as a chosen member of staff.

Reads one command a line; with a terminal it prompts, otherwise (a pipe, a script) it
just answers each line, so it can be scripted and tested as a user would drive it.

With the notifier on, the reminders that person would receive in Slack (their direct
messages, and their team's channel, duty and digest messages) print as they fire, e.g.
"[reminder] Overdue: case 123456, ...". Only theirs: other people's stay in the outbox, unsent, for
their own console or for Slack.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any, ClassVar, TextIO

from sqlalchemy import and_

from bot.commands.handler import CommandHandler
from bot.commands.table import command_help
from bot.directory import Actor
from bot.transports.console import ConsoleTransport
from bot.transports.plain import plain
from scheduler.casebook import Casebook
from scheduler.reminders.address import Address
from scheduler.reminders.content import Content
from scheduler.reminders.delivery import Delivery
from scheduler.reminders.outbox import Outbox
from scheduler.reminders.transport import Limits
from store.models import OutboxRow

BANNER = ("Type a command as you would in Slack: /referral 123456 s47, /seen 123456 alone, "
          "/case 123456, /due, /case help. Ctrl-D or 'quit' to leave.")


def split_line(line: str) -> tuple[str, str]:
    """'/seen 123456 alone' -> ('/seen', '123456 alone'); the slash may be left out."""
    head, _, rest = line.strip().partition(" ")
    head = head.lower()
    if not head.startswith("/"):
        head = "/" + head
    return head, rest.strip()


def prompt_of(actor: Actor) -> str:
    """The console's prompt: who is typing."""
    return f"{actor.name}> "


STAGE_LABELS = {"escalated": "escalation", "exception": "exception", "digest": "digest",
                "admin_alert": "alert"}


def label_of(to: Address, key: str) -> str:
    """'[reminder]', '[escalation]', '[digest]'...; '(team channel)' for a channel's."""
    recipient = str(to)
    if key.startswith(("digest:", "admin_alert:")):
        stage = key.split(":", 1)[0]
    else:  # keys end "...:{stage}:{recipient}"
        stage = key[:-len(recipient) - 1].rsplit(":", 1)[-1] if key.endswith(recipient) else ""
    label = STAGE_LABELS.get(stage, "reminder")
    return f"[{label}]" + (" (team channel)" if recipient.startswith(("team:", "ooh:")) else "")


class PersonalTransport:
    """Prints one person's notifications between their commands, then their prompt again."""

    kind: ClassVar[str] = "console"
    pace: ClassVar[float] = 0.0  # one person reading: nothing to pace
    limits: ClassVar[Limits] = ConsoleTransport.limits

    def __init__(self, stdout: TextIO, prompt: str | None) -> None:
        self.stdout = stdout
        self.prompt = prompt  # None when nobody is typing at a terminal
        self.lock = threading.Lock()

    def send(self, to: Address, content: Content, key: str) -> None:
        """Print one notification (and the prompt it interrupted)."""
        with self.lock:
            text = f"{label_of(to, key)} {plain(content, self.limits.parts)}"
            self.stdout.write(("\n" + text + "\n" + self.prompt) if self.prompt
                              else text + "\n")
            self.stdout.flush()

    def already_delivered(self, to: Address, key: str, since: datetime) -> bool:
        """A print cannot be looked up afterwards; a repeat after a crash is harmless here."""
        return False


def recipients_of(casebook: Casebook, actor: Actor) -> frozenset[str]:
    """Whom the outbox addresses for this person: their direct messages, and their team's
    channel and out-of-hours channel (duty prompts, digests)."""
    out = {str(Address.person(actor.name))}
    if actor.team:
        out.update((str(Address.team(actor.team)), str(Address.ooh(actor.team))))
    return frozenset(out)


def personal_outbox(base: Outbox, recipients: Collection[str],
                    transport: PersonalTransport) -> Outbox:
    """The outbox's sweep with a delivery scoped to one person's console rows (claims and
    the delivery loop's wait both use the scope); everyone else's stay queued."""
    delivery = Delivery(base.sessions, {"console": transport}, base.transport_for,
                        lease=base.lease, pace=0.0,
                        scope=and_(OutboxRow.transport == "console",
                                   OutboxRow.recipient.in_(sorted(recipients))))
    return base.with_delivery(delivery)


def start_notifier(outbox: Outbox, casebook: Casebook, actor: Actor,
                   clock: Callable[[], datetime], stdout: TextIO,
                   interactive: bool) -> Any:
    """Show what is already due for `actor`, then keep sweeping in the background (the same
    jobs as the server's); returns the started scheduler."""
    from scheduler.reminders.jobs import build_scheduler, run_sweep

    transport = PersonalTransport(stdout, prompt_of(actor) if interactive else None)
    personal = personal_outbox(outbox, recipients_of(casebook, actor), transport)
    # One sweep now, before the first command: what fired while the console was closed
    # shows first, whatever the scheduler's first tick makes of a pinned --now clock.
    run_sweep(personal, clock, budget=5.0, threads=1)
    digest_times = {t.name: t.digest_at for t in casebook.teams()}
    sched = build_scheduler(personal, casebook, clock, digest_times)
    sched.start()
    return sched


def run_console(handler: CommandHandler, actor: Actor, stdin: TextIO | None = None,
                stdout: TextIO | None = None, notify: bool | None = None,
                outbox: Outbox | None = None) -> int:
    """Answer commands until end of input; returns the process exit code.

    `notify`: show the person's reminders as they fire; by default only at a terminal
    (a script's output stays exactly its commands' answers unless it asks). `outbox`: the
    app's, so rows are routed as the app routes them (default: everything to the console).
    """
    # Looked up at call time, not bound at import, so a redirected sys.stdin is the one read.
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    interactive = stdin.isatty()
    if interactive:
        print(f"caseclock console as {actor.name} ({actor.role.replace('_', ' ')}, "
              f"team {actor.team or 'none'}). {BANNER}", file=stdout)
    sched = None
    if interactive if notify is None else notify:
        casebook = handler.casebook
        sched = start_notifier(outbox or Outbox(casebook.sessions, casebook.library),
                               casebook, actor, casebook.clock, stdout, interactive)
    try:
        return _loop(handler, actor, stdin, stdout, interactive)
    finally:
        if sched is not None:
            sched.shutdown(wait=False)


def _loop(handler: CommandHandler, actor: Actor, stdin: TextIO, stdout: TextIO,
          interactive: bool) -> int:
    while True:
        if interactive:
            stdout.write(prompt_of(actor))
            stdout.flush()
        line = stdin.readline()
        if not line:
            break
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.strip().lower() in ("quit", "exit", "/quit", "/exit"):
            break
        command, text = split_line(line)
        if command in ("/help", "/?"):
            print(BANNER, file=stdout)
            print(command_help(), file=stdout)  # every command, from the one table
            continue
        reply = handler.handle(actor, command, text, source=f"console:{actor.name}")
        print(reply.text, file=stdout)
        stdout.flush()
    return 0
