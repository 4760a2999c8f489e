"""`caseclock`: the command line. Every refusal is one sentence on stderr and exit code 2."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from pydantic import ValidationError

from bot.render import deadline_json, deadlines_table
from bot.transports.registry import TRANSPORTS
from scheduler.packs import PackLibrary, check_pack_file, default_library
from scheduler.timescales.calendar import CalendarRangeError
from scheduler.timescales.engine import compute_deadlines
from scheduler.timescales.rules import PackError
from scheduler.timescales.vocabulary import TRACKS, EventError, parse_date, parse_instant
from store.repo import StoreError

EXIT_REFUSED = 2


class Refused(Exception):
    """A request refused with one sentence for the person who typed it."""


def _now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    return parse_instant(value, "--now")


def _library() -> PackLibrary:
    from store.settings import Settings

    return default_library(Settings().policy_dir)


def cmd_deadlines(args: argparse.Namespace) -> int:
    from bot.event_file import decode_events_file, read_events

    now = _now(args.now)
    library = _library()
    pack = library.get(args.policy)
    try:
        with open(args.events, "rb") as fh:
            lines = decode_events_file(fh.read(), args.events)
    except OSError as err:
        raise Refused(f"cannot read {args.events} ({err.strerror}): give a JSON Lines file "
                      "of events.") from None
    from store.settings import Settings

    events = read_events(lines, now, Settings().case_pattern, pack)
    cal = library.calendar(args.policy)
    deadlines = compute_deadlines(pack, cal, events, now)
    if args.json:
        print(json.dumps([deadline_json(d) for d in deadlines], indent=2))
    else:
        print(deadlines_table(deadlines, cal, now))
    return 0


def cmd_policy(args: argparse.Namespace) -> int:
    from bot.policy_view import explain, show_pack

    if args.policy_cmd == "list":
        library = _library()
        for name in library.names():
            pack = library.get(name)
            parent = f" (extends {pack.lineage[1]})" if len(pack.lineage) > 1 else ""
            print(f"{name}: {pack.title}, {len(pack.rules)} rules{parent}")
        return 0
    if args.policy_cmd == "show":
        print(show_pack(_library().get(args.name)))
        return 0
    if args.policy_cmd == "explain":
        library = _library()
        pack = library.get(args.name)
        referral = parse_date(args.referral, "--referral")
        print(explain(pack, library.calendar(args.name), referral, args.track))
        return 0
    pack = check_pack_file(args.file)
    print(f"{args.file}: pack {pack.name} is valid, {len(pack.rules)} rules "
          f"({', '.join(pack.lineage)}).")
    return 0


def _store_commands() -> dict[str, Callable[[argparse.Namespace], int]]:
    from bot import serving, store_commands

    return {
        "team": store_commands.cmd_team,
        "log": store_commands.cmd_log,
        "case": store_commands.cmd_case,
        "run": store_commands.cmd_run,
        "console": store_commands.cmd_console,
        "staff": store_commands.cmd_staff,
        "serve": serving.cmd_serve,
        "notify": store_commands.cmd_notify,
        "import": _cmd_import,
        "report": _lazy("bot.report_commands", "cmd_report"),
        "calendar": _lazy("bot.calendar_commands", "cmd_calendar"),
        "teams": _lazy("bot.teams_package", "cmd_teams"),
    }


def _lazy(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """A command whose module is imported only when it runs."""
    def run(args: argparse.Namespace) -> int:
        import importlib

        handler: Callable[[argparse.Namespace], int] = getattr(
            importlib.import_module(module), name)
        return handler(args)
    return run


def _cmd_import(args: argparse.Namespace) -> int:
    from bot.import_commands import cmd_import

    return cmd_import(args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    p = argparse.ArgumentParser(
        prog="caseclock",
        description="Statutory and local timescales for children's social care.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("run", help="run caseclock on the embedded default (SQLite, console)")
    r.add_argument("--now", help="pretend it is this moment (ISO 8601)")
    r.add_argument("--as", dest="as_", metavar="STAFF", help="who you are in the console")
    r.add_argument("--notify", action="store_true",
                   help="show your reminders as they fire even when stdin is not a terminal")

    co = sub.add_parser("console", help="type chat commands in the terminal as a member of staff")
    co.add_argument("--as", dest="as_", metavar="STAFF", required=True)
    co.add_argument("--now", help=argparse.SUPPRESS)
    co.add_argument("--notify", action="store_true",
                    help="show this person's reminders as they fire even when stdin is not a "
                         "terminal")

    sv = sub.add_parser("serve", help="serve HTTP: Slack at /slack/events and Teams at "
                                      "/api/messages (when configured), the calendar feeds "
                                      "and /healthz")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=3000)
    sv.add_argument("--no-scheduler", action="store_true",
                    help="do not run reminders in this process (another one does)")
    sv.add_argument("--read-timeout", type=float, default=None, metavar="SECONDS",
                    help="close a request whose headers or body take longer (default 10)")

    nt = sub.add_parser("notify", help="preview or run the reminders due at a moment")
    nt.add_argument("--now", help="the moment (ISO 8601; default now)")
    nt.add_argument("--dry-run", action="store_true",
                    help="print what the sweep would create, as if nothing had been sent")
    nt.add_argument("--json", action="store_true")
    nt.add_argument("--retry-parked", action="store_true",
                    help="queue again the reminders parked after failures, once the cause is "
                         "fixed")

    st = sub.add_parser("staff", help="the staff directory")
    ssub = st.add_subparsers(dest="staff_cmd", required=True, metavar="ACTION")
    sa = ssub.add_parser("add", help="add a member of staff")
    sa.add_argument("name")
    sa.add_argument("--team")
    sa.add_argument("--role", required=True,
                    choices=("worker", "manager", "service_manager", "admin"))
    sa.add_argument("--slack", metavar="USER_ID", help="their Slack user id (U...)")
    sa.add_argument("--teams-id", metavar="AAD_ID",
                    help="their Microsoft Entra object id, as Teams knows them (a GUID)")
    sa.add_argument("--email", metavar="ADDRESS",
                    help="their email address, for prompts and summaries by email")
    sa.add_argument("--prefers", choices=tuple(TRANSPORTS),
                    help="where they are told (default: Slack if they have a Slack id, "
                         "else the console)")
    sa.add_argument("--oversees", metavar="TEAM,TEAM",
                    help="a service manager's teams (default: every team)")
    ssub.add_parser("list", help="everyone in the directory")
    sr = ssub.add_parser("remove", help="take someone out of the directory")
    sr.add_argument("name")
    si = ssub.add_parser("import",
                         help="add everyone in a CSV (name,team,role,slack,teams,email,oversees)")
    si.add_argument("file")

    d = sub.add_parser("deadlines", help="deadlines for events in a JSON Lines file")
    d.add_argument("--policy", required=True, help="policy pack name (see `policy list`)")
    d.add_argument("--events", required=True, help="JSON Lines file, one event per line")
    d.add_argument("--now", help="the moment to compute status at (ISO 8601; default now)")
    d.add_argument("--json", action="store_true", help="print a JSON array")

    pol = sub.add_parser("policy", help="list, show, explain and check policy packs")
    psub = pol.add_subparsers(dest="policy_cmd", required=True, metavar="ACTION")
    psub.add_parser("list", help="the packs available")
    ps = psub.add_parser("show", help="every rule of a pack with its quoted source")
    ps.add_argument("name")
    pe = psub.add_parser("explain", help="each rule's due date for one referral")
    pe.add_argument("name")
    pe.add_argument("--referral", required=True, help="referral date: 2026-11-21 or 21/11/2026")
    pe.add_argument("--track", choices=TRACKS, default="s17",
                    help="the referral's track (default s17, which leaves out the rules of "
                         "the section 47 path: strategy discussion, conferences)")
    pc = psub.add_parser("check", help="validate a pack file")
    pc.add_argument("file")

    t = sub.add_parser("team", help="teams and the pack each works under")
    tsub = t.add_subparsers(dest="team_cmd", required=True, metavar="ACTION")
    ta = tsub.add_parser("add", help="add a team")
    ta.add_argument("team")
    ta.add_argument("--policy", required=True)
    ta.add_argument("--slack-channel", help="the team's private channel: duty prompts, digests")
    ta.add_argument("--ooh-channel", help="out-of-hours channel for urgent (24-hour) prompts")
    ta.add_argument("--teams-channel", metavar="ID",
                    help="the team's Microsoft Teams channel id (19:...@thread.tacv2)")
    ta.add_argument("--digest-at", help="HH:MM local time of the daily digest (default 08:30)")
    ta.add_argument("--digest-email", metavar="ADDRESS",
                    help="a shared mailbox that serves as the team's channel (its digest and "
                         "duty prompts) when no chat channel reaches the team")
    tsub.add_parser("list", help="list teams")

    lg = sub.add_parser("log", help="append an event to a case")
    lg.add_argument("case")
    lg.add_argument("type", help="event type, e.g. referral_received")
    lg.add_argument("fields", nargs="*", metavar="field=value",
                    help="the event's fields, e.g. track=s47, before or after the options")
    lg.add_argument("--team", help="the team of a case's first event")
    lg.add_argument("--at", help="when it happened: 21/11/2026 14:30, 21/11 9.15, yesterday "
                    "16:00, a date alone (midday) or 2026-11-21T14:30 (default now)")

    from bot.import_commands import add_import_parser

    add_import_parser(sub)

    from bot.calendar_commands import add_calendar_parser
    from bot.report_commands import add_report_parser

    add_report_parser(sub)
    add_calendar_parser(sub)

    from bot.teams_package import add_teams_parser

    add_teams_parser(sub)

    c = sub.add_parser("case", help="a case's timeline and deadlines")
    c.add_argument("case")
    c.add_argument("--now", help="the moment to compute status at (ISO 8601; default now)")
    c.add_argument("--json", action="store_true",
                   help="print one JSON object: the case, every event and its deadlines")
    return p


EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as `cat` gives when `head` stops reading
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `caseclock` console script."""
    try:
        code = _main(argv)
        sys.stdout.flush()  # here, so a reader gone away is caught below, not at exit
        return code
    except BrokenPipeError:
        # The reader (`head`, a pager) stopped reading: nothing went wrong here. Point stdout
        # at /dev/null so the interpreter's last flush does not fail again on the way out.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        # Ctrl-C at a prompt or question is how people leave: a new line, not a traceback.
        with contextlib.suppress(OSError, ValueError):
            print(file=sys.stderr)
        return EXIT_INTERRUPTED


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    # Known options first, then what is left: `log` takes its field=value pairs after the
    # options too (`log 123456 referral_received --team east track=s17`), which argparse
    # alone refuses once an option has ended the run of positionals.
    args, extras = parser.parse_known_args(argv)
    if extras:
        if args.command != "log" or any(x.startswith("-") for x in extras):
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
        args.fields = [*args.fields, *extras]
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "deadlines": cmd_deadlines,
        "policy": cmd_policy,
    }
    try:
        handler = handlers.get(args.command) or _store_commands()[args.command]
        return handler(args)
    except (Refused, EventError, PackError, StoreError, CalendarRangeError) as err:
        print(f"caseclock: {err}", file=sys.stderr)
        return EXIT_REFUSED
    except ValidationError as err:  # a setting from the environment or .env is malformed
        first = err.errors()[0]
        name = ".".join(str(x) for x in first.get("loc", ())) or "a setting"
        print(f"caseclock: the setting {name} is not valid ({first.get('msg', 'invalid')}): "
              "correct it in the environment or .env.", file=sys.stderr)
        return EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main())
