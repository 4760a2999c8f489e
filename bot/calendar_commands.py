"""`caseclock calendar link|revoke NAME`: a person's secret calendar feed URL."""

from __future__ import annotations

import argparse


def _cli_actor() -> str:
    from bot.store_commands import _cli_actor as actor

    return actor()


def cmd_calendar(args: argparse.Namespace) -> int:
    """`calendar link NAME` prints a new secret URL (ending the old); `revoke NAME` ends it."""
    # Imported here, not at the top: every `caseclock` command builds this module's parser,
    # and only this one needs icalendar and Starlette.
    from bot.app import build_app
    from bot.calendar_feed import issue_token, revoke_tokens

    app = build_app()
    sessions = app.casebook.sessions
    if args.calendar_cmd == "link":
        token = issue_token(sessions, args.name, _cli_actor())
        base = app.settings.public_url.rstrip("/")
        print(f"{base}/calendar/{token}.ics")
        print(f"Give this URL to {args.name} only: anyone holding it sees their deadlines. "
              "Subscribe to it in Outlook (Add calendar > Subscribe from web) or Google "
              "Calendar (Other calendars > From URL). Any earlier URL of theirs has stopped "
              "working.")
        return 0
    n = revoke_tokens(sessions, args.name, _cli_actor())
    print(f"Ended {args.name}'s calendar feed ({n} URL{'s' if n != 1 else ''} revoked)."
          if n else f"{args.name} had no calendar feed URL; nothing changed.")
    return 0


def add_calendar_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`calendar link NAME` and `calendar revoke NAME`."""
    c = sub.add_parser("calendar", help="a person's deadlines as a calendar feed URL")
    csub = c.add_subparsers(dest="calendar_cmd", required=True, metavar="ACTION")
    cl = csub.add_parser("link", help="print a new secret feed URL for a member of staff")
    cl.add_argument("name")
    cr = csub.add_parser("revoke", help="end a member of staff's feed URL")
    cr.add_argument("name")
