"""The console twin: the chat commands in a terminal, as a chosen member of staff.

Reads one command a line; with a terminal it prompts, otherwise (a pipe, a script) it
just answers each line, so it can be scripted and tested as a user would drive it.
"""

from __future__ import annotations

import sys
from typing import TextIO

from bot.commands.handler import CommandHandler
from bot.directory import Actor

BANNER = ("Type a command as you would in Slack: /referral 123456 s47, /seen 123456 alone, "
          "/case 123456, /due, /case help. Ctrl-D or 'quit' to leave.")
COMMANDS = ("/referral", "/seen", "/strategy", "/case", "/due")


def split_line(line: str) -> tuple[str, str]:
    """'/seen 123456 alone' -> ('/seen', '123456 alone'); the slash may be left out."""
    head, _, rest = line.strip().partition(" ")
    head = head.lower()
    if not head.startswith("/"):
        head = "/" + head
    return head, rest.strip()


def run_console(handler: CommandHandler, actor: Actor, stdin: TextIO = sys.stdin,
                stdout: TextIO = sys.stdout) -> int:
    """Answer commands until end of input; returns the process exit code."""
    interactive = stdin.isatty()
    if interactive:
        print(f"caseclock console as {actor.name} ({actor.role.replace('_', ' ')}, "
              f"team {actor.team or 'none'}). {BANNER}", file=stdout)
    while True:
        if interactive:
            stdout.write(f"{actor.name}> ")
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
            continue
        reply = handler.handle(actor, command, text, source=f"console:{actor.name}")
        print(reply.text, file=stdout)
        stdout.flush()
    return 0
