"""Conversation references: where the bot can write without being spoken to first.

A proactive message needs the conversation's id, the service URL Teams gave with it, the
tenant and the bot's id. They are stored (teams_conversations) when the app is installed for
a person or added to a team (installationUpdate, conversationUpdate) and on every message,
so a person who once opened the app can be prompted, and a team's channel gets its digest.

A channel is linked to a care team by the team's `msteams_channel` (`caseclock team add TEAM
--teams-channel ID`); a channel the bot was added to before that is stored all the same, so
an admin can link it later (`caseclock team list` does not show it yet: the log line of its
capture names the channel id).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from store.models import Team, TeamsConversation, utcnow

log = logging.getLogger("caseclock.teams")


@dataclass(frozen=True)
class ConversationRef:
    """What a proactive send needs, read from an activity or from the store."""

    conversation_id: str  # for a channel: the channel id (a new post), never a thread's id
    kind: str  # "personal", "channel" or "groupChat"
    service_url: str
    bot_id: str
    tenant_id: str | None = None
    aad_object_id: str | None = None  # a person's chat
    teams_team_id: str | None = None  # a team's channel
    channel_id: str | None = None


def reference_of(activity: Mapping[str, Any]) -> ConversationRef | None:
    """The reference an activity (as Teams sends it, camelCase JSON) carries, or None when it
    has none worth keeping (a group chat, or no service URL)."""
    conversation = activity.get("conversation") or {}
    service_url = str(activity.get("serviceUrl") or "")
    bot_id = str((activity.get("recipient") or {}).get("id") or "")
    conv_id = str(conversation.get("id") or "")
    if not (service_url and bot_id and conv_id):
        return None
    data = activity.get("channelData") or {}
    tenant = str(conversation.get("tenantId") or (data.get("tenant") or {}).get("id") or
                 "") or None
    kind = str(conversation.get("conversationType") or "personal")
    if kind == "personal":
        sender = activity.get("from") or {}
        aad = str(sender.get("aadObjectId") or "") or None
        return ConversationRef(conv_id, kind, service_url, bot_id, tenant, aad_object_id=aad)
    if kind == "channel":
        # A thread's id is the channel's with ";messageid=..."; the channel itself is where a
        # proactive post starts a new thread.
        channel = str((data.get("channel") or {}).get("id") or conv_id.split(";")[0])
        team = str((data.get("team") or {}).get("id") or "") or None
        return ConversationRef(channel, kind, service_url, bot_id, tenant,
                               teams_team_id=team, channel_id=channel)
    return None  # group chats: caseclock neither prompts nor digests there


class Conversations:
    """The stored references, over the store's sessions."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def remember(self, ref: ConversationRef) -> None:
        """Store or refresh a reference (a service URL can change between activities)."""
        with self.sessions.begin() as s:
            row = s.scalar(select(TeamsConversation).where(
                TeamsConversation.conversation_id == ref.conversation_id))
            new = row is None
            if row is None:
                row = TeamsConversation(conversation_id=ref.conversation_id)
                s.add(row)
            row.kind, row.service_url, row.bot_id = ref.kind, ref.service_url, ref.bot_id
            row.tenant_id = ref.tenant_id or row.tenant_id
            row.aad_object_id = ref.aad_object_id or row.aad_object_id
            row.teams_team_id = ref.teams_team_id or row.teams_team_id
            row.channel_id = ref.channel_id or row.channel_id
            row.active, row.updated_at = True, utcnow()
            if new and ref.kind == "channel":
                team = self._care_team(s, ref.channel_id)
                log.info("teams channel %s stored (%s)", ref.channel_id,
                         f"care team {team}" if team else
                         "no care team yet: link it with caseclock team add TEAM "
                         "--teams-channel ID")

    def forget(self, conversation_id: str) -> None:
        """The app was uninstalled there: nothing more is sent until it is installed again."""
        with self.sessions.begin() as s:
            for row in s.scalars(select(TeamsConversation).where(
                    TeamsConversation.conversation_id == conversation_id.split(";")[0])):
                row.active = False

    def of_person(self, aad_object_id: str) -> ConversationRef | None:
        """The person's chat with the bot, if it is stored."""
        with self.sessions() as s:
            row = s.scalar(select(TeamsConversation).where(
                TeamsConversation.aad_object_id == aad_object_id,
                TeamsConversation.kind == "personal", TeamsConversation.active.is_(True))
                .order_by(TeamsConversation.updated_at.desc()).limit(1))
            return _ref(row) if row else None

    def of_channel(self, channel_id: str) -> ConversationRef | None:
        """A channel's reference, if the bot was added to its team (or spoken to there)."""
        with self.sessions() as s:
            row = s.scalar(select(TeamsConversation).where(
                TeamsConversation.channel_id == channel_id, TeamsConversation.kind == "channel",
                TeamsConversation.active.is_(True)).limit(1))
            return _ref(row) if row else None

    def care_team_of(self, channel_id: str | None) -> str | None:
        """The care team whose Teams channel this is."""
        with self.sessions() as s:
            return self._care_team(s, channel_id)

    @staticmethod
    def _care_team(s: Session, channel_id: str | None) -> str | None:
        if not channel_id:
            return None
        return s.scalar(select(Team.name).where(Team.msteams_channel == channel_id).limit(1))

    def channel_of_team(self, team: str) -> str | None:
        """A care team's Teams channel id, if it has one."""
        with self.sessions() as s:
            return s.scalar(select(Team.msteams_channel).where(Team.name == team))


def _ref(row: TeamsConversation) -> ConversationRef:
    return ConversationRef(row.conversation_id, row.kind, row.service_url, row.bot_id,
                           row.tenant_id, row.aad_object_id, row.teams_team_id, row.channel_id)
