"""Where notifications go: Slack (direct messages and team channels) or the console."""

from __future__ import annotations

import sys
import threading
from datetime import datetime
from typing import Any, TextIO

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.directory import Directory
from scheduler.outbox import TransportError

METADATA_TYPE = "caseclock_notification"


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
            raise TransportError(f"Slack refused: {err.response.get('error')}",
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
        history = self._call(self.client.conversations_history,
                             channel=self.channel_of(recipient),
                             oldest=f"{since.timestamp():.6f}", include_all_metadata=True,
                             limit=200)
        for m in history.get("messages") or []:
            meta = m.get("metadata") or {}
            if meta.get("event_type") == METADATA_TYPE and (
                    (meta.get("event_payload") or {}).get("key") == key):
                return True
        return False
