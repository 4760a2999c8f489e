"""CLI commands that use the store: team, log, case, run."""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sys
from datetime import datetime

from bot.app import App, build_app
from bot.case_json import case_json
from bot.commands.dates import is_time_word, moment
from bot.console import run_console
from bot.directory import Actor, check_email, check_teams_channel, check_teams_id
from bot.render import (
    change_summary,
    deadlines_table,
    iso_local,
    moment_text,
)
from bot.samples import SAMPLE_STAFF, SAMPLE_TEAMS, sample_events
from bot.transports.plain import plain
from scheduler.timescales.vocabulary import EventError, parse_instant
from store import repo


def _cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _fixed_clock(now: str | None):  # type: ignore[no-untyped-def]
    if now is None:
        return None
    instant = parse_instant(now, "--now")
    return lambda: instant


def _app(now: str | None = None) -> App:
    clock = _fixed_clock(now)
    return build_app(clock=clock) if clock else build_app()


def cmd_team(args: argparse.Namespace) -> int:
    """`caseclock team add|list`."""
    app = _app()
    if args.team_cmd == "list":
        teams = app.casebook.teams()
        if not teams:
            print("No teams yet: add one with `caseclock team add TEAM --policy NAME`.")
        for t in teams:
            channel = f", Slack channel {t.slack_channel}" if t.slack_channel else ""
            channel += f", Teams channel {t.msteams_channel}" if t.msteams_channel else ""
            mail = f", digest by email to {t.digest_email}" if t.digest_email else ""
            print(f"{t.name}: policy {t.policy}, digest at {t.digest_at}{channel}{mail}")
        return 0
    if args.digest_at and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", args.digest_at):
        raise EventError(f"'{args.digest_at}' is not a time of day: type --digest-at 08:30.")
    digest_email = getattr(args, "digest_email", None)
    if digest_email:
        digest_email = check_email(digest_email, "--digest-email")
    teams_channel = getattr(args, "teams_channel", None)
    if teams_channel:
        teams_channel = check_teams_channel(teams_channel)
    app.library.get(args.policy)  # an unknown pack is refused before anything is written
    team = app.casebook.add_team(args.team, args.policy, slack_channel=args.slack_channel,
                                 digest_at=args.digest_at, actor=_cli_actor(),
                                 ooh_channel=args.ooh_channel,
                                 teams_channel=teams_channel)
    if digest_email:
        with app.casebook.sessions.begin() as s:
            repo.set_digest_email(s, team.name, digest_email)
    print(f"Added team {team.name} working under {team.policy}.")
    return 0


def _parse_fields(pairs: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise EventError(f"'{pair}' is not a field: type name=value, for example "
                             "track=s47.")
        key, value = pair.split("=", 1)
        fields[key.strip()] = value
    return fields


def cmd_log(args: argparse.Namespace) -> int:
    """`caseclock log CASE TYPE [field=value ...]`: append one event."""
    app = _app()
    now = app.casebook.clock()
    pairs, at_text = list(args.fields), args.at
    # `--at 21/11 9.15` unquoted: the shell splits it and the time lands among the fields.
    loose_times = [p for p in pairs if "=" not in p and is_time_word(p)]
    if at_text is not None and len(at_text.split()) == 1 and len(loose_times) == 1:
        at_text = f"{at_text} {loose_times[0]}"
        pairs.remove(loose_times[0])
    at = moment(at_text, now, "--at") if at_text else now
    result = app.casebook.log(args.case, args.type, at, _parse_fields(pairs),
                              actor=_cli_actor(), source="cli", team=args.team)
    cal = app.casebook.calendar_of(result.case)
    print(f"Logged {args.type.replace('_', ' ')} for {result.case} at "
          f"{moment_text(result.at, with_year=True)} (event {result.event_id}).")
    for line in change_summary(result.before, result.after, cal, now):
        print(line)
    return 0


def cmd_case(args: argparse.Namespace) -> int:
    """`caseclock case CASE`: the timeline and the deadlines."""
    app = _app(args.now)
    now = app.casebook.clock()
    deadlines = app.casebook.deadlines(args.case, now)
    summary = app.casebook.case_summary(args.case)
    if args.json:
        print(json.dumps(case_json(summary, app.casebook.timeline(args.case), deadlines),
                         indent=2))
        return 0
    print(f"Case {args.case}: team {summary.team}, policy {summary.policy}"
          + (f", allocated to {summary.allocated_worker}" if summary.allocated_worker else ""))
    print("\nTimeline:")
    for e in app.casebook.timeline(args.case):
        mark = " (voided)" if e.voided else ""
        extra = ", ".join(f"{k}={v}" for k, v in e.fields.items())
        print(f"  {e.id}  {moment_text(e.at, with_year=True)}  {e.type}"
              f"{' (' + extra + ')' if extra else ''}{mark}  by {e.recorded_by} via {e.source}")
    print("\nDeadlines:")
    print(deadlines_table(deadlines, app.casebook.calendar_of(args.case), now))
    return 0


def load_samples(app: App, now: datetime) -> int:
    """Create the sample teams and cases in an empty store; returns the events logged."""
    for team, policy in SAMPLE_TEAMS:
        app.casebook.add_team(team, policy, actor="caseclock:samples")
    for name, role, staff_team, slack in SAMPLE_STAFF:
        app.directory.add(name, role, staff_team, slack, actor="caseclock:samples")
    cal = app.library.calendar(SAMPLE_TEAMS[0][1])
    events = sample_events(cal, now)
    for case, team, etype, at, fields in events:
        app.casebook.log(case, etype, at, dict(fields), actor="caseclock:samples",
                         source="samples", team=team)
    return len(events)


def _choose_actor(app: App, name: str | None):  # type: ignore[no-untyped-def]
    if name:
        actor = app.directory.by_name(name)
        if actor is None:
            known = ", ".join(a.name for a in app.directory.list()) or "nobody yet"
            raise EventError(f"{name} is not in the staff directory ({known}): add them with "
                             "`caseclock staff add NAME --team TEAM --role worker`.")
        return actor
    staff = app.directory.list()
    # The first sample worker when the samples are loaded, else the first worker by name.
    workers = sorted((a for a in staff if a.role == "worker"),
                     key=lambda a: (a.name != SAMPLE_STAFF[0][0], a.name)) or staff
    if not workers:
        raise EventError("the staff directory is empty: add someone with `caseclock staff add "
                         "NAME --team TEAM --role worker`, then `caseclock console --as NAME`.")
    return workers[0]


def _notify(args: argparse.Namespace) -> bool | None:
    """--notify shows reminders even when stdin is not a terminal; None: only at a terminal."""
    return True if getattr(args, "notify", False) else None


def cmd_console(args: argparse.Namespace) -> int:
    """`caseclock console --as NAME`: the chat commands in a terminal, with that person's
    reminders as they fire (at a terminal, or with --notify)."""
    app = _app(getattr(args, "now", None))
    return run_console(app.handler, _choose_actor(app, args.as_), notify=_notify(args),
                       outbox=app.outbox)


def cmd_notify(args: argparse.Namespace) -> int:
    """`caseclock notify`: preview (--dry-run) or run one sweep and delivery at --now."""
    app = _app(args.now)
    now = app.casebook.clock()
    if getattr(args, "retry_parked", False):
        n = app.outbox.retry_parked(now)
        print(f"Re-queued {n} parked notification(s); the next sweep delivers them.")
        return 0
    if args.dry_run:
        planned = app.outbox.plan(now)
        rows = [{"stage": p.stage, "rule": p.rule, "case": p.case,
                 # "staff" or "channel" (a care team's channel: its own or out-of-hours)
                 "recipient": p.recipient_label, "recipient_kind": (
                     "staff" if p.recipient.startswith("staff:") else "channel"),
                 "transport": app.outbox.transport_for(p.recipient),
                 "due": iso_local(p.due), "urgent": p.urgent, "text": plain(content)}
                for p, content in planned]
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            for r in rows:
                print(f"{r['stage']:10} {r['case'] or '-':8} {r['rule']:24} -> "
                      f"{r['recipient']} ({r['transport']})")
            print(f"{len(rows)} notification(s) would be created at "
                  f"{moment_text(now, with_year=True)}; nothing was sent.")
        return 0
    result = app.outbox.sweep(now)
    sent = app.outbox.deliver(app.casebook.clock)
    print(f"Created {result.created}, withdrew {result.withdrawn}; delivery: {sent or 'none'}.")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """`caseclock run`: Slack when configured, else the console on the embedded default."""
    app = _app(args.now)
    from bot.serving import cmd_serve, run_slack_socket_mode

    if app.settings.slack_bot_token and app.settings.slack_app_token:
        return run_slack_socket_mode(app)
    if app.settings.slack_bot_token and app.settings.slack_signing_secret:
        args.host, args.port = "127.0.0.1", 3000
        return cmd_serve(args)
    now = app.casebook.clock()
    print(f"caseclock on {app.settings.database_url} (embedded default: console, no account, "
          "no network).")
    if not app.casebook.teams():
        if not _samples_wanted():
            print("Nothing was loaded. Add a team and its staff, then run again: "
                  "`caseclock team add TEAM --policy NAME`, `caseclock staff add NAME --team "
                  "TEAM --role worker`.")
            return 0
        n = load_samples(app, now)
        print(f"The store now holds sample teams, staff and {n} events (made-up references, "
              "no names).")
    actor = _choose_actor(app, args.as_)
    print(f"You are {actor.name} ({actor.role.replace('_', ' ')}, team {actor.team}). "
          "What is due:")
    print(app.handler.handle(actor, "/due", "", source="console").text)
    if actor.team:
        print(app.handler.handle(actor, "/due", "team", source="console").text)
    print(f"Try: /case {SAMPLE_FIRST_CASE}   /seen {SAMPLE_FIRST_CASE} alone   /case help")
    # At a terminal (or with --notify) this person's reminders print as they fire.
    return run_console(app.handler, actor, notify=_notify(args), outbox=app.outbox)


def _samples_wanted() -> bool:
    """Ask at a terminal; a script (stdin not a terminal) gets the samples, so
    `printf '/due\\n' | caseclock run` works on a fresh machine."""
    if not sys.stdin.isatty():
        return True
    try:
        answer = input("The store is empty. Load sample teams, staff and cases to try "
                       "caseclock? [Y/n] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("", "y", "yes")


def cmd_staff(args: argparse.Namespace) -> int:
    """`caseclock staff add|list|remove|import`."""
    app = _app()
    if args.staff_cmd == "add":
        teams_id = check_teams_id(args.teams_id) if args.teams_id else None
        a = app.directory.add(args.name, args.role, args.team, args.slack, teams_id,
                              actor=_cli_actor(), oversees=getattr(args, "oversees", None),
                              prefers=getattr(args, "prefers", None),
                              email=getattr(args, "email", None))
        print(f"Added {a.name} ({a.role.replace('_', ' ')}, team {a.team or 'none'}"
              f"{_oversight_words(a)}).")
    elif args.staff_cmd == "remove":
        app.directory.remove(args.name, actor=_cli_actor())
        print(f"Removed {args.name}; what they logged stays in the record under their name.")
    elif args.staff_cmd == "import":
        n = app.directory.import_csv(args.file, actor=_cli_actor())
        print(f"Added {n} staff from {args.file}.")
    else:
        staff = app.directory.list()
        if not staff:
            print("Nobody yet: `caseclock staff add NAME --team TEAM --role worker`.")
        for a in staff:
            slack = f", Slack {a.slack_user_id}" if a.slack_user_id else ""
            slack += f", Teams {a.msteams_user_id}" if a.msteams_user_id else ""
            slack += f", email {a.email}" if a.email else ""
            slack += f", told by {a.prefers}" if a.prefers else ""
            print(f"{a.name}: {a.role.replace('_', ' ')}, team {a.team or 'none'}{slack}"
                  f"{_oversight_words(a)}")
    return 0


def _oversight_words(a: Actor) -> str:
    """', oversees north, south' for a service manager; without a list they see every team,
    as before oversight existed, and the listing says so rather than leave it implied."""
    if a.role != "service_manager":
        return ""
    if a.oversees:
        return f", oversees {', '.join(a.oversees)}"
    return ", oversees every team (no --oversees list)"


SAMPLE_FIRST_CASE = "100202"

__all__ = ["cmd_case", "cmd_console", "cmd_log", "cmd_notify", "cmd_run", "cmd_staff",
           "cmd_team"]
