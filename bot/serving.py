"""Starting the servers: `caseclock serve` (the ASGI app under uvicorn, Bolt in a worker
process), Slack's Socket Mode for `caseclock run`, and the reminders' scheduler beside them.

The commands themselves stay in bot/cli.py and store_commands.py; what listens on the network
is composed in bot/web.py and received in bot/transports/.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
from typing import TYPE_CHECKING

from bot.app import App
from bot.store_commands import _app
from scheduler.timescales.vocabulary import EventError

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from starlette.routing import BaseRoute


def start_scheduler(app: App):  # type: ignore[no-untyped-def]
    """Start the sweep, digest and recompute jobs in the background."""
    from scheduler.reminders.jobs import build_scheduler

    digest_times = {t.name: t.digest_at for t in app.casebook.teams()}
    sched = build_scheduler(app.outbox, app.casebook, app.casebook.clock, digest_times)
    sched.start()
    return sched


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def cmd_serve(args: argparse.Namespace) -> int:
    """`caseclock serve`: one ASGI app under uvicorn with /healthz, the calendar feeds
    (/calendar/<token>.ics) and, when Slack is configured, /slack/events, whose Bolt app,
    command work and reminders run in a worker process (without Slack, no reminders)."""
    from bot.calendar_feed import calendar_route
    from bot.transports.slack.dispatch import BoltWorker
    from bot.transports.slack.door import READ_TIMEOUT, SlackDoor
    from bot.web import build_web_app, log_to_stderr, make_server

    app = _app()  # creates or upgrades the database before anything listens
    settings = app.settings
    slack = bool(settings.slack_bot_token and settings.slack_signing_secret)
    if bool(settings.slack_bot_token) != bool(settings.slack_signing_secret):
        raise EventError("Slack is half configured: set both SLACK_BOT_TOKEN and "
                         "SLACK_SIGNING_SECRET (see .env.example), or neither.")
    given = getattr(args, "read_timeout", None)
    read_timeout = READ_TIMEOUT if given is None else given
    if read_timeout <= 0:
        raise EventError(f"--read-timeout {read_timeout} is not a duration: type a number of "
                         "seconds above 0, for example --read-timeout 10.")
    log_to_stderr()
    # uvicorn shuts down gracefully on SIGTERM, then raises it again to the previous handler:
    # this one, so that the worker is closed (its replies finished) before the process ends.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    reminders = not getattr(args, "no_scheduler", False)
    worker = BoltWorker(settings, scheduler=reminders) if slack else None
    # Without Slack the server still serves the calendar feeds, but no reminders: with no
    # chat transport they would only be printed to this server's output, case content in a log.
    sched = None
    try:
        door = None
        if worker is not None and settings.slack_signing_secret:
            worker.ready()
            door = SlackDoor(settings.slack_signing_secret, worker, read_timeout=read_timeout)
        web = build_web_app(door, routes=[calendar_route(app.casebook.sessions,
                                                         app.casebook.clock),
                                          *teams_routes(app)])
        server = make_server(web, args.host, args.port, read_timeout=read_timeout)
        teams = settings.teams_configured
        what = (f"Slack at http://{args.host}:{args.port}/slack/events, " if slack
                else f"http://{args.host}:{args.port} (reminders through Teams), " if teams
                else f"http://{args.host}:{args.port} (Slack not configured, so no "
                     "reminders), ")
        if teams:
            what = f"Teams at http://{args.host}:{args.port}/api/messages, {what}"
            # With Slack the worker runs the reminders (through Teams too); without it, this
            # process does, in the scheduler's own threads beside the event loop.
            if worker is None and reminders:
                sched = start_scheduler(app)
        print(f"caseclock serving {what}calendar feeds at /calendar/ (health: /healthz).",
              flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
    finally:
        if worker is not None:
            worker.close()
        if sched is not None:
            sched.shutdown(wait=False)
    return 0


def teams_routes(app: App) -> list[BaseRoute]:
    """POST /api/messages when TEAMS_APP_ID is set (the Teams bot, bot/transports/teams)."""
    settings = app.settings
    if not settings.teams_app_id:
        return []
    if not settings.teams_app_password:
        raise EventError("Teams is half configured: set TEAMS_APP_PASSWORD with TEAMS_APP_ID "
                         "(see .env.example), or neither.")
    try:
        from bot.transports.teams.receiving import mount
    except ModuleNotFoundError as err:
        from bot.transports.registry import MISSING_EXTRA

        raise EventError(MISSING_EXTRA.format(what="Teams", module=err.name)) from None
    return mount(app)


def socket_mode_handler(app: App) -> SocketModeHandler:
    """The Bolt app on Slack's Socket Mode: the app token opens the connection through the
    app's Web API client (so SLACK_API_URL applies), the bot token answers."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.transports.slack.listeners import build_slack_app

    bolt = build_slack_app(app.settings, app.handler, app.directory)
    return SocketModeHandler(bolt, app.settings.slack_app_token)


def run_slack_socket_mode(app: App) -> int:
    """`caseclock run` with a Slack app token: Socket Mode and the reminders, in this process."""
    handler = socket_mode_handler(app)
    start_scheduler(app)
    print("caseclock connected to Slack in Socket Mode (no public URL needed).")
    handler.start()  # type: ignore[no-untyped-call]
    return 0
