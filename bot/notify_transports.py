"""Where notifications go: Slack (direct messages and team channels) or the console."""

from __future__ import annotations

import sys
import threading
from datetime import datetime
from typing import Any, TextIO

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.directory import Directory
from scheduler.outbox import AMBIGUOUS, TransportError

METADATA_TYPE = "caseclock_notification"


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


class ConsoleTransport:
    """Prints notifications where the console user sees them."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.lock = threading.Lock()

    def send(self, recipient: str, message: dict[str, Any]) -> None:
        """Print one notification."""
        with self.lock:
            print(f"\n[caseclock -> {recipient.split(':', 1)[1]}] {message.get('text', '')}",
                  file=self.stream, flush=True)


class SlackTransport:
    """Posts with chat.postMessage; each message carries its outbox key as metadata, so a
    send interrupted by a crash can be checked (conversations.history) before it is resent."""

    def __init__(self, client: WebClient, directory: Directory) -> None:
        self.client = client
        self.directory = directory
        self._dm: dict[str, str] = {}
        self._lock = threading.Lock()

    def channel_of(self, recipient: str) -> str:
        """The Slack channel for "staff:NAME" (their direct message) or "channel:ID"."""
        kind, _, who = recipient.partition(":")
        if kind == "channel":
            return who
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

    def send(self, recipient: str, message: dict[str, Any]) -> None:
        """Post one message (its key travels as message metadata)."""
        kwargs: dict[str, Any] = {"channel": self.channel_of(recipient),
                                  "text": message.get("text", "")}
        if message.get("blocks"):
            kwargs["blocks"] = message["blocks"]
        if message.get("key"):
            kwargs["metadata"] = {"event_type": METADATA_TYPE,
                                  "event_payload": {"key": message["key"]}}
        self._call(self.client.chat_postMessage, **kwargs)

    def already_delivered(self, recipient: str, key: str, since: datetime) -> bool:
        """True if a message with this outbox key reached the channel since `since`."""
        try:
            history = self._call(self.client.conversations_history,
                                 channel=self.channel_of(recipient),
                                 oldest=f"{since.timestamp():.6f}", include_all_metadata=True,
                                 limit=200)
        except TransportError as err:
            # Not knowing is not a refusal of the message: it may have arrived, so it must not
            # be sent again unchecked, nor parked as undeliverable at the first try. The row
            # stays ambiguous and is retried with back-off; if the check never works (a scope
            # the app lacks), it is parked in the end with Slack's own words for the admins.
            raise TransportError(f"{AMBIGUOUS}: could not check whether it arrived "
                                 f"(conversations.history: {err})",
                                 retry_after=err.retry_after) from None
        for m in history.get("messages") or []:
            meta = m.get("metadata") or {}
            if meta.get("event_type") == METADATA_TYPE and (
                    (meta.get("event_payload") or {}).get("key") == key):
                return True
        return False
