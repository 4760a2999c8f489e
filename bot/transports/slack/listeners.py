"""Slack transport (slack-bolt): slash commands, the logging modal, the App Home tab.

Over HTTP, the front door (door.py, beside it) verifies every request's signature (with
Slack's 5-minute replay window) before Bolt parses it; in Socket Mode, Slack's connection
does. Every listener acknowledges at once and does its work (the store, a recompute, a reply,
a view) in a lazy listener afterwards: Slack gives up after 3 seconds, and a slow Slack API
must never slow the acknowledgement. Replies are ephemeral, through the
command's response_url. A retried delivery never stores an event twice: the command's
trigger_id (a modal's view id) is the event's request id in the store.
"""

from __future__ import annotations

import functools
import json
import logging
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any

from slack_bolt import App as BoltApp
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.commands.grammar import parse
from bot.commands.handler import NOT_IN_DIRECTORY, CommandHandler
from bot.commands.table import (
    FORM,
    SLASH_COMMANDS,
    USAGE,
    command_for_event,
    form_choice,
    form_choice_for_event,
)
from bot.directory import Actor, Directory
from bot.transports.slack.door import Deliveries
from bot.transports.slack.home import home_view
from bot.transports.slack.mentions import slack_mention
from scheduler.casebook import Casebook
from scheduler.reminders.actions import ActionResult, checklist_choice
from scheduler.reminders.address import Address
from scheduler.reminders.content import ActionRef
from scheduler.timescales.calendar import LONDON
from scheduler.timescales.vocabulary import EventError
from store import repo
from store.models import Team
from store.settings import Settings

log = logging.getLogger("caseclock.slack")  # never logs case content: ids and outcomes only

LAZY_WORKERS = 4
MODAL_ID = "caseclock_log"
REASON_ID = "caseclock_reason_modal"
LOG_LINE_ID = "caseclock_log_line"


class ChannelRefused(Exception):
    """A case view asked for in a channel that is not the case's team channel."""


def channel_address(teams: Iterable[Team], channel: str | None) -> Address | None:
    """The care team channel a Slack channel id is (None: not a team's, e.g. a direct
    message): its own channel ("team:NAME") or its out-of-hours one ("ooh:NAME")."""
    for team in teams if channel else ():
        if team.slack_channel == channel:
            return Address.team(team.name)
        if team.ooh_channel == channel:
            return Address.ooh(team.name)
    return None


def post_case_view(client: WebClient, casebook: Casebook, case: str, channel: str,
                   text: str) -> None:
    """Post a case's view, but only into the case's own team channel."""
    summary = casebook.case_summary(case)
    with casebook.sessions() as s:
        team = repo.get_team(s, summary.team)
    if team is None or not team.slack_channel or team.slack_channel != channel:
        raise ChannelRefused("a case can only be shared in its team's channel")
    client.chat_postMessage(channel=channel, text=escape(text))


def _modal(command: str, channel: str | None = None) -> dict[str, Any]:
    """The logging modal, preset to `command`'s event; `channel` is where to confirm it."""
    options: list[dict[str, Any]] = [
        {"text": {"type": "plain_text", "text": c.form}, "value": c.form_value} for c in FORM]
    initial = next((o for o in options if f"/{o['value']}" == command), options[0])
    return {
        "type": "modal", "callback_id": MODAL_ID,
        # Slack hands private_metadata back on submission: the channel the command came from.
        "private_metadata": json.dumps({"channel": channel} if channel else {}),
        "title": {"type": "plain_text", "text": "Log for a case"},
        "submit": {"type": "plain_text", "text": "Log it"},
        "blocks": [
            {"type": "input", "block_id": "case", "label": {"type": "plain_text",
                                                              "text": "Case reference"},
             "element": {"type": "plain_text_input", "action_id": "v",
                         "placeholder": {"type": "plain_text", "text": "e.g. 123456"}}},
            {"type": "input", "block_id": "what", "label": {"type": "plain_text",
                                                              "text": "What happened"},
             "element": {"type": "static_select", "action_id": "v", "options": options,
                         "initial_option": initial}},
            {"type": "input", "block_id": "day", "optional": True,
             "label": {"type": "plain_text", "text": "Date"},
             "element": {"type": "datepicker", "action_id": "v"}},
            {"type": "input", "block_id": "time", "optional": True,
             "label": {"type": "plain_text", "text": "Time"},
             "element": {"type": "timepicker", "action_id": "v"}},
            {"type": "input", "block_id": "track", "optional": True,
             "label": {"type": "plain_text", "text": "Track (referrals)"},
             "element": {"type": "static_select", "action_id": "v", "options": [
                 {"text": {"type": "plain_text", "text": t}, "value": t}
                 for t in ("s17", "s47", "early_help")]}},
            {"type": "input", "block_id": "flags", "optional": True,
             "label": {"type": "plain_text", "text": "Child seen"},
             "element": {"type": "checkboxes", "action_id": "v", "options": [
                 {"text": {"type": "plain_text", "text": t}, "value": v}
                 for v, t in (("alone", "Seen alone"), ("home", "Home visited"),
                              ("bedroom", "Bedroom seen"))]}},
        ],
    }


def _command_modal(command: str, initial: str) -> dict[str, Any]:
    """A prompt's "Log it" for an event the form has no choice for: the command line,
    prefilled with the case and the event's words, to complete (date, details) and send."""
    return {
        "type": "modal", "callback_id": LOG_LINE_ID, "private_metadata": command,
        "title": {"type": "plain_text", "text": "Log for a case"},
        "submit": {"type": "plain_text", "text": "Log it"},
        "blocks": [{"type": "input", "block_id": "line",
                    "label": {"type": "plain_text", "text": command},
                    "hint": {"type": "plain_text", "text": USAGE.get(command, "")[:150]
                             or "Add the date and time if it was not now."},
                    "element": {"type": "plain_text_input", "action_id": "v",
                                "initial_value": initial}}]}


def modal_to_command(values: dict[str, Any]) -> tuple[str, str]:
    """The modal's answers as the one-line command they stand for (same grammar)."""
    def val(block: str) -> Any:
        return next(iter(values.get(block, {}).values()), {})

    case = (val("case").get("value") or "").strip()
    what = (val("what").get("selected_option") or {}).get("value", "")
    day = val("day").get("selected_date")  # YYYY-MM-DD
    tm = val("time").get("selected_time")  # HH:MM
    track = (val("track").get("selected_option") or {}).get("value")
    flags = [o["value"] for o in val("flags").get("selected_options") or []]
    when = " ".join(x for x in (day, tm) if x)
    row = form_choice(what)
    if row is not None and not row.word:  # a command of its own: /referral, /seen...
        extra = {"track": track or "", "flags": " ".join(flags)}
        words = [extra[f] for f in row.form_fields]
        return row.command, " ".join(x for x in (case, *words, when) if x)
    tail = row.form_tail if row else ""
    return "/case", " ".join(x for x in (case, what, when, tail) if x)


def escape(text: str) -> str:
    """Text as Slack shows it literally: &, < and > escaped, so nothing a person typed
    (`<!channel>`, `<!here>`, `<@U123>`, a link) reaches Slack as a mention or a link. Every
    reply goes out through it, its `text` fallback as much as its blocks: notifications and
    some clients show the fallback, and Slack parses mentions in it too."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def reply_blocks(text: str) -> list[dict[str, Any]]:
    """A reply as Block Kit: its headline, then the rest as a monospace block so timelines and
    tables keep their columns. Text is escaped (&, <, >) so nothing a person typed turns
    into a mention or a link."""
    esc = escape
    head, _, rest = text.partition("\n")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": esc(head)[:2900]}}]
    body = esc(rest.strip("\n"))
    while body and len(blocks) < 20:  # Slack's limits: 3,000 characters a section
        chunk, body = body[:2800], body[2800:]
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": f"```{chunk}```"}})
    return blocks


def _metadata_channel(view: dict[str, Any]) -> str | None:
    """The invoking channel carried in a logging modal's private_metadata, if any."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return None
    channel = meta.get("channel") if isinstance(meta, dict) else None
    return str(channel) if channel else None


def confirm(client: WebClient, user: str, channel: str | None, text: str) -> None:
    """Tell one person privately: ephemeral in the channel they worked in, else a direct
    message (the bot cannot post ephemerally where it is not a member, nor to a user id)."""
    text = escape(text)
    if channel and not channel.startswith(("U", "W")):
        try:
            client.chat_postEphemeral(channel=channel, user=user, text=text)
            return
        except SlackApiError as err:
            log.info("ephemeral refused in %s (%s): sending a direct message", channel,
                     err.response.get("error"))
    client.chat_postMessage(channel=user, text=text)


def failure_words(err: BaseException) -> str:
    """An exception as the logs may carry it: its type and where it was raised, never its
    message, which can hold what a person typed or a case reference."""
    where = ""
    tb: TracebackType | None = err.__traceback__
    frames = traceback.extract_tb(tb) if tb is not None else []
    if frames:
        last = frames[-1]
        where = f" at {last.filename.rsplit('/', 1)[-1]}:{last.lineno}"
    return f"{type(err).__name__}{where}"


def _ids(body: dict[str, Any]) -> str:
    """The ids of a request, for a failure log: who, which command or action, no content."""
    user = body.get("user_id") or (body.get("user") or {}).get("id") or (
        (body.get("event") or {}).get("user")) or "?"
    what = body.get("command") or (body.get("view") or {}).get("callback_id") or next(
        (a.get("action_id") for a in body.get("actions") or []), None) or (
        (body.get("event") or {}).get("type")) or body.get("type") or "?"
    return f"{what} from {user}"


def logged_failures(func: Callable[..., None]) -> Callable[..., None]:
    """A lazy listener whose failures are logged here, as type and ids only: Bolt would log
    the exception's message, which may hold user text or a case reference."""
    @functools.wraps(func)  # Bolt reads the wrapped function's argument names
    def run(**kwargs: Any) -> None:
        try:
            func(**kwargs)
        except Exception as err:  # the last stop of a background listener: log, go on
            body = kwargs.get("body") or {"event": kwargs.get("event") or {}}
            log.error("%s failed: %s", _ids(body), failure_words(err))
    return run


def build_slack_app(settings: Settings, handler: CommandHandler, directory: Directory,
                    client: WebClient | None = None, verify: bool = True) -> BoltApp:
    """The Bolt app with every listener; `client` points at Slack or a local mock. `verify`
    False is for a Bolt behind the HTTP front door (door.py), which verified."""
    client = client or WebClient(token=settings.slack_bot_token,
                                 base_url=settings.slack_api_url.rstrip("/") + "/")
    # process_before_response=True is Bolt's setting for FaaS; here it is kept because it
    # runs each listener's ack function in the request's own thread and answers as soon as
    # it returns. With False, Bolt queues the ack function on the same pool as the lazy work
    # and polls every 10 ms for it, so under a burst the acknowledgements wait behind the
    # stores and replies. Every ack function below is therefore instant (parsing at most) and
    # every slow step runs on the pool as a lazy listener.
    app = BoltApp(token=settings.slack_bot_token, signing_secret=settings.slack_signing_secret,
                  client=client, token_verification_enabled=False,
                  request_verification_enabled=verify, process_before_response=True,
                  listener_executor=ThreadPoolExecutor(max_workers=LAZY_WORKERS,
                                                       thread_name_prefix="caseclock-lazy"))
    seen_deliveries = Deliveries()  # the front door's memory, for Socket Mode's retries
    actions = handler.prompt_actions()

    @app.middleware
    def drop_retries(body: dict[str, Any], request: Any, next: Callable[[], Any]) -> Any:
        # Slack retries an event it thinks we missed; one already handled is acknowledged
        # and dropped (the store's request ids catch retries that reach another process).
        retry = request.headers.get("x-slack-retry-num")
        key = body.get("event_id") or body.get("trigger_id")
        if key and not seen_deliveries.first_time(str(key)) and retry:
            from slack_bolt.response import BoltResponse
            return BoltResponse(status=200, body="")
        return next()

    def actor_of(user_id: str | None) -> Actor | None:
        return directory.by_slack(user_id) if user_id else None

    def ack_now(ack: Callable[..., None]) -> None:
        ack()

    def lazy_action(action_id: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
        """Register a button's listener to run after an instant ack (it may ack() again:
        in a lazy listener that is a no-op)."""
        def register(func: Callable[..., None]) -> Callable[..., None]:
            app.action(action_id)(ack=ack_now, lazy=[logged_failures(func)])
            return func
        return register

    @logged_failures
    def run_command(body: dict[str, Any], respond: Callable[..., Any],
                    client: WebClient) -> None:
        command, text = body.get("command", ""), body.get("text", "") or ""
        user = body.get("user_id")
        actor = actor_of(user)
        if not text.strip() and command != "/due":
            if actor is None:  # refused before the modal: nothing to fill in, nothing stored
                respond(text=NOT_IN_DIRECTORY, blocks=reply_blocks(NOT_IN_DIRECTORY),
                        response_type="ephemeral")
                return
            client.views_open(trigger_id=body["trigger_id"],
                              view=_modal(command, body.get("channel_id")))
            return
        reply = handler.handle(actor, command, text, source=f"slack:{user}",
                               request_id=body.get("trigger_id"), mention=slack_mention)
        log.info("command %s from %s: %s", command, user, "ok" if reply.ok else "refused")
        if reply.share_case:
            try:
                post_case_view(client, handler.casebook, reply.share_case,
                               body.get("channel_id", ""), reply.text)
                respond(text=escape(f"Shared case {reply.share_case} in this channel."),
                        response_type="ephemeral")
            except ChannelRefused:
                respond(text="Nothing was posted: a case can only be shared in its team's "
                             "own channel.", response_type="ephemeral")
            return
        respond(text=escape(reply.text), blocks=reply_blocks(reply.text),
                response_type="ephemeral")

    for name in SLASH_COMMANDS:
        app.command(name)(ack=ack_now, lazy=[run_command])

    def check_modal(ack: Callable[..., None], body: dict[str, Any]) -> None:
        # Slack shows errors only from the acknowledgement, so the grammar's checks (case
        # reference, dates) answer here; they parse and touch neither store nor network.
        command, text = modal_to_command(body["view"]["state"]["values"])
        now = handler.clock()
        try:
            intent = parse(command, text, now, handler.casebook.case_pattern, slack_mention)
            for draft in intent.events:
                if draft.at > now:  # the store would refuse it too, after the modal closed
                    raise EventError(f"{draft.at.astimezone(LONDON):%d/%m/%Y %H:%M} is in the "
                                     "future: log what has happened, with a time up to now.")
        except EventError as err:
            block = "day" if "date" in str(err) or "future" in str(err) else "case"
            ack(response_action="errors", errors={block: str(err)[:150]})
            return
        ack()

    @logged_failures
    def store_modal(body: dict[str, Any], client: WebClient) -> None:
        command, text = modal_to_command(body["view"]["state"]["values"])
        user = body["user"]["id"]
        reply = handler.handle(actor_of(user), command, text, source=f"slack:{user}",
                               request_id=body["view"].get("id"), mention=slack_mention)
        log.info("modal from %s: %s", user, "ok" if reply.ok else "refused")
        confirm(client, user, _metadata_channel(body["view"]), reply.text)

    app.view(MODAL_ID)(ack=check_modal, lazy=[store_modal])

    def said(respond: Callable[..., Any], result: ActionResult) -> None:
        """An action's answer, to the clicker only, the prompt left as it is."""
        if result.text:
            respond(text=escape(result.text), response_type="ephemeral",
                    replace_original=False)

    @lazy_action("caseclock_log_it")
    def log_it(ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any],
               client: WebClient) -> None:
        ack()
        ref = ActionRef.from_token(action["value"])
        event = ref.event or "child_seen"
        choice = form_choice_for_event(event)
        if choice or command_for_event(event) is None:
            # The form has a choice for this event (older buttons carry the choice itself,
            # "seen" or "review").
            view = _modal("/" + (choice or event))
            view["blocks"][0]["element"]["initial_value"] = ref.case
        else:  # any other meeting event: its command line, prefilled, to complete and send
            view = _command_modal(*actions.log_it(ref))
        client.views_open(trigger_id=body["trigger_id"], view=view)

    def check_log_line(ack: Callable[..., None], body: dict[str, Any]) -> None:
        command = body["view"]["private_metadata"]
        text = (body["view"]["state"]["values"]["line"]["v"].get("value") or "").strip()
        try:  # parsing only, as for the other forms: the store answers after the ack
            parse(command, text, handler.clock(), handler.casebook.case_pattern,
                  slack_mention)
        except EventError as err:
            ack(response_action="errors", errors={"line": str(err)[:150]})
            return
        ack()

    @logged_failures
    def submit_log_line(body: dict[str, Any], client: WebClient) -> None:
        command = body["view"]["private_metadata"]
        text = (body["view"]["state"]["values"]["line"]["v"].get("value") or "").strip()
        user = body["user"]["id"]
        reply = handler.handle(actor_of(user), command, text, source=f"slack:{user}",
                               request_id=body["view"].get("id"), mention=slack_mention)
        confirm(client, user, None, reply.text)  # a prompt's form: the answer comes by DM

    app.view(LOG_LINE_ID)(ack=check_log_line, lazy=[submit_log_line])

    @lazy_action("caseclock_reason")
    def reason(ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any],
               client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view={
            "type": "modal", "callback_id": REASON_ID, "private_metadata": action["value"],
            "title": {"type": "plain_text", "text": "Record a reason"},
            "submit": {"type": "plain_text", "text": "Record"},
            "blocks": [{"type": "input", "block_id": "reason",
                        "label": {"type": "plain_text", "text": "Why the timescale was or "
                                                                "will be missed"},
                        "element": {"type": "plain_text_input", "action_id": "v",
                                    "multiline": True}}]})

    def reason_of(body: dict[str, Any]) -> tuple[ActionRef, str]:
        ref = ActionRef.from_token(body["view"]["private_metadata"])
        return ref, (body["view"]["state"]["values"]["reason"]["v"].get("value") or "").strip()

    def check_reason(ack: Callable[..., None], body: dict[str, Any]) -> None:
        command, text = actions.reason_line(*reason_of(body))
        try:  # parsing only: the store's answer comes after the acknowledgement
            parse(command, text, handler.clock(), handler.casebook.case_pattern,
                  slack_mention)
        except EventError as err:
            ack(response_action="errors", errors={"reason": str(err)[:150]})
            return
        ack()

    @logged_failures
    def submit_reason(body: dict[str, Any], client: WebClient) -> None:
        ref, why = reason_of(body)
        user = body["user"]["id"]
        result = actions.reason(ref, actor_of(user), why, source=f"slack:{user}",
                                request_id=body["view"].get("id"))
        confirm(client, user, None, result.text)  # a prompt's modal: the answer comes by DM

    app.view(REASON_ID)(ack=check_reason, lazy=[submit_reason])

    @lazy_action("caseclock_snooze")
    def snooze_prompt(ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any],
                      respond: Callable[..., Any]) -> None:
        ack()
        # Clicked in a team channel: that channel's prompt is snoozed (for everyone in it);
        # in a direct message, the actor's own.
        said(respond, actions.snooze(ActionRef.from_token(action["value"]),
                                     actor_of(body["user"]["id"]),
                                     channel_address(handler.casebook.teams(), (
                                         body.get("channel") or {}).get("id"))))

    @lazy_action("caseclock_tick")
    def tick(ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any],
             respond: Callable[..., Any]) -> None:
        ack()
        values = [o["value"] for o in action.get("selected_options") or []]
        try:
            chosen = [checklist_choice(v) for v in values]
            # Unticking the last item sends no options at all: the deadline then comes from
            # the block id ("checklist|case|rule|seq|stage"), so an empty set is stored too.
            ref = chosen[0][0] if chosen else ActionRef.from_token(
                str(action.get("block_id", "")).removeprefix("checklist|"))
        except ValueError:
            return  # not one of our checklists: nothing to store
        said(respond, actions.tick(ref, actor_of(body["user"]["id"]),
                                   (item for _ref, item in chosen)))

    @lazy_action("caseclock_quote")
    def quote(ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any],
              respond: Callable[..., Any]) -> None:
        ack()
        said(respond, actions.quote(ActionRef.from_token(action["value"]),
                                    actor_of(body["user"]["id"])))

    @logged_failures
    def publish_home(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return  # the messages tab opened: nothing to draw
        user = event.get("user", "")
        client.views_publish(user_id=user, view=home_view(handler, actor_of(user)))

    app.event("app_home_opened")(ack=ack_now, lazy=[publish_home])

    @app.error
    def log_failure(error: Exception, body: dict[str, Any]) -> None:
        # Instead of Bolt's own log of a failing acknowledgement, which prints the
        # exception's message (it may hold user text): its type and the request's ids.
        log.error("%s failed: %s", _ids(body), failure_words(error))

    return app
