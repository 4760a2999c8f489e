"""Receiving in Teams: command lines in a person's chat with the bot or after an @mention in
a team's channel, the card buttons of prompts, and the installation and conversation updates
that tell where the bot can write.

Every line runs the one command handler of Slack and the console (same grammar, same
permissions, same replies). The sender is the activity's Entra object id
(`from.aadObjectId`), mapped through the staff directory (`--teams-id`); anyone else is
refused politely and nothing is stored. A message Teams delivers twice (a retry) is stored
once: the activity id is the event's request id.

Teams has no ephemeral messages, so in a channel the thread is told only what the team may
see (the case reference and what was stored, or a shared case's view) and only in the case's
own team channel; the whole reply goes to the person's personal chat with the bot.

The handler's work (the store, a recompute) is synchronous: it runs in a worker thread, so
the event loop keeps serving other requests meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from microsoft_teams.api import Account, ConversationAccount, InvokeResponse
from microsoft_teams.api.activities.message.message import MessageActivityInput
from microsoft_teams.api.models.conversation.conversation_reference import ConversationReference
from microsoft_teams.apps import App as SdkApp

from bot.commands.grammar import parse
from bot.commands.handler import CommandHandler, Reply
from bot.commands.table import command_help
from bot.console import split_line
from bot.directory import Actor, Directory
from bot.transports.teams.card_actions import CardServices, handle_card_action, invoke_body
from bot.transports.teams.conversations import ConversationRef, Conversations, reference_of
from bot.transports.teams.mentions import prepare
from scheduler.reminders.address import Address
from scheduler.timescales.vocabulary import EventError

log = logging.getLogger("caseclock.teams")  # ids and outcomes only, never message text


def not_in_directory(aad: str | None) -> str:
    """What someone not in the staff directory is told (nothing was stored)."""
    who = aad or "OBJECT_ID"
    return ("Sorry, you are not in caseclock's staff directory, so nothing was stored: ask your "
            f"team manager to add you (caseclock staff add NAME --team TEAM --role worker "
            f"--teams-id {who}).")


OPEN_CHAT = ("I can't write to you privately yet, so the details are not shown here: open "
             "caseclock once from Apps in Teams (or ask an admin to install it for you), then "
             "send the command again.")


@dataclass(frozen=True)
class Outgoing:
    """One message to send: in the conversation the activity came from (its thread, in a
    channel) when `to` is None, else in the person's personal chat."""

    text: str
    to: ConversationRef | None = None


@dataclass(frozen=True)
class TeamsServices:
    """What the Teams handlers need from caseclock."""

    handler: CommandHandler
    directory: Directory
    conversations: Conversations
    tenant_id: str | None = None  # TEAMS_TENANT_ID: activities from any other are dropped

    @property
    def cards(self) -> CardServices:
        return CardServices(self.handler, self.handler.prompt_actions())


def _get(activity: Mapping[str, Any], *path: str) -> Any:
    node: Any = activity
    for key in path:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def answer_message(services: TeamsServices, activity: Mapping[str, Any]) -> list[Outgoing]:
    """What to say to a message activity (camelCase JSON, as Teams sends it)."""
    aad = str(_get(activity, "from", "aadObjectId") or "") or None
    kind = str(_get(activity, "conversation", "conversationType") or "personal")
    bot_id = str(_get(activity, "recipient", "id") or "")
    directory = services.directory

    def name_of(object_id: str) -> str | None:
        found = directory.by_msteams(object_id)
        return found.name if found else None

    line, reader, mentioned = prepare(str(activity.get("text") or ""),
                                      activity.get("entities") or [], bot_id, name_of)
    if kind != "personal" and not mentioned:
        return []  # a channel message not addressed to the bot
    actor = directory.by_msteams(aad) if aad else None
    if actor is None:
        log.info("message %s from unknown %s: refused", activity.get("id"), aad)
        return [Outgoing(not_in_directory(aad))]
    command, text = split_line(line or "help")
    if command in ("/help", "/?"):
        reply = Reply(command_help())
    else:
        reply = services.handler.handle(actor, command, text, source=f"teams:{aad}",
                                        request_id=f"teams:{activity['id']}"
                                        if activity.get("id") else None,
                                        mention=reader)
    log.info("command %s from %s: %s", command, aad, "ok" if reply.ok else "refused")
    if kind == "personal":
        return [Outgoing(reply.text)]
    channel = str(_get(activity, "channelData", "channel", "id") or "") or None
    own_team = services.conversations.care_team_of(channel)
    out: list[Outgoing] = []
    public = _public_line(services, actor, command, text, reply, own_team, reader)
    if public:
        out.append(Outgoing(public))
        if reply.share_case:
            return out  # the case was asked for here, and shown here: nothing more to say
    details = reply.text if not reply.share_case else (
        "Nothing was posted: a case can only be shared in its team's own channel.")
    personal = services.conversations.of_person(aad) if aad else None
    if personal is not None:
        out.append(Outgoing(details, personal))
    else:
        out.append(Outgoing(OPEN_CHAT))
    return out


def _public_line(services: TeamsServices, actor: Actor, command: str, text: str, reply: Reply,
                 own_team: str | None, reader: Any) -> str | None:
    """What the channel's thread may be told: the references and what was stored, or a
    shared case's view, when every case is of the team whose channel this is; else None."""
    if own_team is None or not reply.ok:
        return None
    if reply.share_case:
        return reply.text if reply.team == own_team else None
    if not reply.event_ids:
        return None  # /due, a case view, help: the person's own
    handler = services.handler
    try:
        intent = parse(command, text, handler.clock(), handler.casebook.case_pattern, reader)
        teams = {handler.casebook.case_summary(d.case).team for d in intent.events}
    except EventError:
        return None
    if teams != {own_team}:
        return None
    return " ".join(f"{actor.name} logged {d.type.replace('_', ' ')} for {d.case} (id {eid})."
                    for d, eid in zip(intent.events, reply.event_ids, strict=False))


def _reference(ref: ConversationRef) -> ConversationReference:
    return ConversationReference(
        service_url=ref.service_url, channel_id="msteams", bot=Account(id=ref.bot_id),
        conversation=ConversationAccount(id=ref.conversation_id, conversation_type=ref.kind,
                                         tenant_id=ref.tenant_id))


def _updates_reference(services: TeamsServices, activity: Mapping[str, Any]) -> None:
    """Store (or forget) where the bot can write, from any activity."""
    kind = activity.get("type")
    conversation_id = str(_get(activity, "conversation", "id") or "")
    bot_id = str(_get(activity, "recipient", "id") or "")
    removed = (kind == "installationUpdate" and str(activity.get("action") or "").startswith(
        "remove")) or (kind == "conversationUpdate" and any(
            m.get("id") == bot_id for m in activity.get("membersRemoved") or []))
    if removed:
        services.conversations.forget(conversation_id)
        log.info("%s: app removed from %s", kind, conversation_id)
        return
    ref = reference_of(activity)
    if ref is None:
        return
    if ref.kind == "personal" and (not ref.aad_object_id or services.directory.by_msteams(
            ref.aad_object_id) is None):
        return  # someone not in the directory: nothing of theirs is kept
    services.conversations.remember(ref)


def foreign_tenant(services: TeamsServices, activity: Mapping[str, Any]) -> bool:
    """Whether the activity comes from another tenant than the council's (TEAMS_TENANT_ID;
    without it, a multi-tenant bot takes any)."""
    if not services.tenant_id:
        return False
    tenant = _get(activity, "conversation", "tenantId") or _get(
        activity, "channelData", "tenant", "id")
    return str(tenant or "") != services.tenant_id


def attach(app: SdkApp, services: TeamsServices) -> None:
    """Register caseclock's handlers on the SDK app."""

    async def remember_reference(ctx: Any) -> None:
        raw = ctx.activity.model_dump(by_alias=True, exclude_none=True, mode="json")
        if foreign_tenant(services, raw):  # authenticated, but not the council's: ignored
            log.info("activity %s from another tenant ignored", raw.get("id"))
            return
        await asyncio.to_thread(_updates_reference, services, raw)
        await ctx.next()

    app.use(remember_reference)  # first: every activity, whatever handles it next

    @app.on_message
    async def on_message(ctx: Any) -> None:
        raw = ctx.activity.model_dump(by_alias=True, exclude_none=True, mode="json")
        for out in await asyncio.to_thread(answer_message, services, raw):
            message = MessageActivityInput(text=out.text).with_text_format("plain")
            try:
                await ctx.send(message, _reference(out.to) if out.to else None)
            except Exception as err:  # what was stored stays stored; the next reply may go
                log.error("reply to %s failed: %s", raw.get("id"), type(err).__name__)

    @app.on_card_action
    async def on_card_action(ctx: Any) -> InvokeResponse[Any]:
        raw = ctx.activity.model_dump(by_alias=True, exclude_none=True, mode="json")
        action = _get(raw, "value", "action") or {}
        aad = str(_get(raw, "from", "aadObjectId") or "") or None
        actor = await asyncio.to_thread(services.directory.by_msteams, aad) if aad else None
        channel = _get(raw, "channelData", "channel", "id")
        team = await asyncio.to_thread(services.conversations.care_team_of, channel
                                       ) if channel else None
        card = await asyncio.to_thread(
            handle_card_action, services.cards, actor, str(action.get("verb") or ""),
            dict(action.get("data") or {}), Address.team(team) if team else None)
        log.info("card action %s from %s", action.get("verb"), aad)
        return InvokeResponse(status=200, body=invoke_body(card))


def mount(caseclock: Any) -> list[Any]:
    """The Teams bot for `caseclock serve` (a bot.app.App): the SDK app with caseclock's
    handlers, initialised, as the Starlette routes (POST /api/messages) to add to the web app."""
    from bot.transports.teams.app import RouteAdapter, build_sdk_app

    adapter = RouteAdapter()
    sdk = build_sdk_app(caseclock.settings, adapter)
    attach(sdk, TeamsServices(caseclock.handler, caseclock.directory,
                              Conversations(caseclock.casebook.sessions),
                              caseclock.settings.teams_tenant_id))
    # Registers the endpoint with the SDK's JWT validation in front of it; nothing here
    # touches the network or binds to this temporary event loop.
    asyncio.run(sdk.initialize())
    return list(adapter.routes)
