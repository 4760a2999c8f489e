"""Sending to Slack: direct messages and team channels, with chat.postMessage."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, ClassVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.directory import Directory
from bot.transports.slack.blocks import PARTS, render
from scheduler.reminders.address import Address
from scheduler.reminders.content import Content
from scheduler.reminders.transport import AMBIGUOUS, DeliveryUnknown, Limits, TransportError
from store.settings import Settings

METADATA_TYPE = "caseclock_notification"
HISTORY_PAGE = 200  # messages a conversations.history page asks for (Slack allows up to 999)
# Pages read at most in one check (40,000 messages since the row was created): a window
# longer than that is not read at all rather than half read, and the row is parked.
HISTORY_PAGES = 200


HINTS = {
    "not_in_channel": "invite the caseclock app to the channel",
    "channel_not_found": "check the team's channel id, and invite the app to it",
    "is_archived": "the channel is archived: give the team another",
    "invalid_auth": "check SLACK_BOT_TOKEN",
    "not_authed": "check SLACK_BOT_TOKEN",
    "token_revoked": "reinstall the app and update SLACK_BOT_TOKEN",
}


def slack_error(response: Any) -> str:
    """Slack's error code with what an admin does about it ("missing_scope: add im:history")."""
    code = str(response.get("error") or "unknown_error")
    if code == "missing_scope" and response.get("needed"):
        return f"missing_scope: add {response.get('needed')} to the app's scopes and reinstall"
    return f"{code}: {HINTS[code]}" if code in HINTS else code


class SlackTransport:
    """Posts with chat.postMessage; each message carries its outbox key as metadata, so a
    send interrupted by a crash can be checked (conversations.history) before it is resent."""

    kind: ClassVar[str] = "slack"
    pace: ClassVar[float] = 1.0  # a message a second per channel (Slack's guidance)
    # 50 blocks a message: a digest's head line and closing line, and 48 parts between
    # (blocks.py); 3,000 characters a section.
    limits: ClassVar[Limits] = Limits(parts=PARTS, chars=3000)

    @classmethod
    def from_settings(cls, settings: Settings, directory: Directory) -> SlackTransport | None:
        """The transport for this workspace, or None when no bot token is set."""
        if not settings.slack_bot_token:
            return None
        client = WebClient(token=settings.slack_bot_token, timeout=10,
                           base_url=settings.slack_api_url.rstrip("/") + "/", retry_handlers=[])
        return cls(client, directory)

    def __init__(self, client: WebClient, directory: Directory) -> None:
        self.client = client
        self.directory = directory
        self._dm: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def max_call_seconds(self) -> float:
        """The longest one send can take: the client's timeout for each try it makes (its
        retry handlers' retries), plus a second for each retry's wait. The outbox keeps its
        claim lease longer than this, so no other worker takes over a row mid-send."""
        retries = sum(int(getattr(h, "max_retry_count", 0))
                      for h in self.client.retry_handlers or [])
        return float(self.client.timeout) * (1 + retries) + retries

    def reaches(self, to: Address) -> bool:
        """Whether Slack can take this address: a person with a Slack id, or a care team
        with a Slack channel of that kind."""
        if to.is_person:
            actor = self.directory.by_name(to.name)
            return actor is not None and bool(actor.slack_user_id)
        return self._team_channel(to) is not None

    def _team_channel(self, to: Address) -> str | None:
        """The Slack channel of a team address: its own channel, or its out-of-hours one."""
        team = self.directory.team_channels(to.name)
        if team is None:
            return None
        return team.slack_channel if to.kind == "team" else team.slack_ooh_channel

    def prepare(self, to: Address) -> None:
        """Open the recipient's direct message (once) before the send, so the send itself
        is a single chat.postMessage."""
        self.channel_of(to)

    def channel_of(self, to: Address) -> str:
        """The Slack channel of an address: a person's direct message with the app (opened
        once), or the care team's channel."""
        if not to.is_person:
            channel = self._team_channel(to)
            if channel is None:
                what, option = (("channel", "slack-channel") if to.kind == "team"
                                 else ("out-of-hours channel", "ooh-channel"))
                raise TransportError(f"team {to.name} has no Slack {what}: set one with "
                                     f"`caseclock team add {to.name} --policy ... "
                                     f"--{option} ID`", permanent=True)
            return channel
        who = to.name
        with self._lock:
            if who in self._dm:
                return self._dm[who]
        actor = self.directory.by_name(who)
        if actor is None or not actor.slack_user_id:
            raise TransportError(f"{who} has no Slack user id", permanent=True)
        opened = self._call(self.client.conversations_open, users=actor.slack_user_id)
        channel = str((opened.get("channel") or {}).get("id") or actor.slack_user_id)
        with self._lock:
            self._dm[who] = channel
        return channel

    def _call(self, method: Any, **kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except SlackApiError as err:
            status = err.response.status_code
            if status == 429:
                retry = err.response.headers.get("Retry-After") or err.response.headers.get(
                    "retry-after") or "1"
                raise TransportError("rate limited", retry_after=float(retry)) from None
            if status >= 500:
                raise TransportError(f"Slack answered {status}") from None
            raise TransportError(f"Slack refused: {slack_error(err.response)}",
                                 permanent=True) from None

    def send(self, to: Address, content: Content, key: str) -> None:
        """Post one message as Block Kit (its key travels as message metadata)."""
        message = render(content, PARTS)
        kwargs: dict[str, Any] = {"channel": self.channel_of(to), "text": message["text"]}
        if message["blocks"]:
            kwargs["blocks"] = message["blocks"]
        if key:
            kwargs["metadata"] = {"event_type": METADATA_TYPE,
                                  "event_payload": {"key": key}}
        self._call(self.client.chat_postMessage, **kwargs)

    def already_delivered(self, to: Address, key: str, since: datetime) -> bool:
        """True if a message with this outbox key reached the channel since `since`.

        Reads the channel's whole history since then, page by page (a busy channel has far
        more than one page after an hour). Where it cannot be read to the end, whether the
        message arrived is unknown: DeliveryUnknown, so the row is parked and the admins told
        rather than the message sent again blind. Only Slack pacing us, or a failure that
        may pass (a 5xx), is retried later, the row still to be checked.
        """
        cursor: str | None = None
        for _page in range(HISTORY_PAGES):
            try:
                history = self._call(self.client.conversations_history,
                                     channel=self.channel_of(to),
                                     oldest=f"{since.timestamp():.6f}",
                                     include_all_metadata=True, limit=HISTORY_PAGE,
                                     **({"cursor": cursor} if cursor else {}))
            except TransportError as err:
                if err.permanent:  # a refusal (a scope the app lacks): it will not pass
                    raise DeliveryUnknown(
                        f"the channel's history could not be read (conversations.history: "
                        f"{err})") from None
                raise TransportError(f"{AMBIGUOUS}: could not check whether it arrived "
                                     f"(conversations.history: {err})",
                                     retry_after=err.retry_after) from None
            for m in history.get("messages") or []:
                meta = m.get("metadata") or {}
                if meta.get("event_type") == METADATA_TYPE and (
                        (meta.get("event_payload") or {}).get("key") == key):
                    return True
            cursor = str((history.get("response_metadata") or {}).get("next_cursor") or "")
            if not history.get("has_more"):
                return False
            if not cursor:
                raise DeliveryUnknown("Slack said the channel's history has more messages "
                                      "but gave no cursor to read them")
        raise DeliveryUnknown(f"the channel's history since the notification was created "
                              f"is longer than {HISTORY_PAGES * HISTORY_PAGE:,} messages")
