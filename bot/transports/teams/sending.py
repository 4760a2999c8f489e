"""Sending to Teams: proactive messages, an Adaptive Card each, to a person's chat with the
bot ("staff") or a care team's channel ("team", "ooh"), through the Teams SDK's API client
(POST {serviceUrl}/v3/conversations/{id}/activities with the bot's token).

A proactive message needs a stored conversation reference (conversations.py): a person who
never opened the app, and was not given it by an admin, cannot be written to. `reaches` is
then False (the router falls back to email) and a send is refused for good with what admins
can do.

Teams' limits: about 7 messages a second per conversation (`pace`), 50 requests a second per
app in a tenant over all its conversations (`APP_PER_SECOND`, counted here: a send waits,
under a second, for a free slot) and 1,800 an hour to one conversation (`HOURLY_CAP`: past
it, a send to that conversation is put off until the oldest of its hour is an hour old).
Both counts are this process's own. 429, 412,
502, 503 and 504 are retried by the outbox with back-off,
honouring Retry-After; 401, 403 and 404 are refusals.

Whether a send that failed half-way arrived cannot be checked: the Bot Connector has no way
to read a conversation's messages (Graph's chat and channel message reads need protected,
tenant-wide permissions), so `already_delivered` is False. Each activity carries its outbox
key (channelData.caseclockKey), so a delivered copy can still be told apart, and the outbox's
own key keeps a row from being sent again once it is marked sent.

An urgent prompt (an hour rule's, `Prompt.urgent`) sent to a person also raises a Teams
activity-feed notification through Graph (teams_feed.py) where Graph is configured. The
prompt has gone by then: the notification's outcome never fails the send, or the outbox
would send the prompt again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from bot.directory import Directory
from bot.transports.teams.cards import CONTENT_TYPE, LINE_CHARS, TEAMS_BUDGET, render_card
from bot.transports.teams.conversations import ConversationRef, Conversations
from scheduler.reminders.address import Address
from scheduler.reminders.content import Content, Prompt, plain_text
from scheduler.reminders.transport import Limits, TransportError
from store.settings import Settings

if TYPE_CHECKING:  # the SDK is imported only where Teams is configured (see registry.py)
    import httpx
    from microsoft_teams.api import ApiClient
    from microsoft_teams.api.activities.message.message import MessageActivityInput

    from bot.transports.teams_feed import ActivityFeed

T = TypeVar("T")
log = logging.getLogger("caseclock.teams")
HOURLY_CAP = 1800  # Teams: messages an hour to one conversation
APP_PER_SECOND = 50  # Teams: requests a second per app per tenant, all conversations
RETRIED = {412, 429, 502, 503, 504}
REFUSED_HINTS = {
    401: "Teams refused the bot's token: check TEAMS_APP_ID and TEAMS_APP_PASSWORD",
    403: "Teams refused: the app was removed there, or the tenant blocks it; install it again",
    404: "Teams has no such conversation: the app was removed; install it again",
}
NO_CONVERSATION = ("caseclock cannot write to {who} in Teams yet: install the app for them, "
                   "or ask them to open it once")
CALL_TIMEOUT = 15.0


class _Loop:
    """An event loop in a thread of its own: the SDK's client is asynchronous, the outbox
    calls `send` from its worker threads."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="caseclock-teams",
                                       daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run one call and wait at most `timeout`; then it is cancelled (as Graph's are), so
        a call given up on cannot still land after the outbox has moved on."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise


class HourlyCap:
    """At most `cap` sends in any hour to one conversation (Teams counts 1,800 an hour per
    conversation), counted in this process."""

    def __init__(self, cap: int = HOURLY_CAP, window: float = 3600.0) -> None:
        self.cap, self.window = cap, window
        self._sent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, conversation: str) -> None:
        """Count one send to `conversation`, or raise TransportError(retry_after) when its
        hour is full."""
        with self._lock:
            now = time.monotonic()
            sent = self._sent.setdefault(conversation, deque())
            while sent and sent[0] <= now - self.window:
                sent.popleft()
            if len(sent) >= self.cap:
                wait = sent[0] + self.window - now
                raise TransportError(f"Teams' hourly cap of {self.cap} messages to one "
                                     "conversation reached", retry_after=max(wait, 1.0))
            sent.append(now)

    def give_back(self, conversation: str) -> None:
        """A send that did not reach Teams does not count."""
        with self._lock:
            sent = self._sent.get(conversation)
            if sent:
                sent.pop()


class AppRate:
    """At most `per_second` sends in flight or answered within the last `window` seconds.
    The outbox paces each conversation (7 a second); without this, a morning's prompts to
    200 people would go at 140 a second and Teams would answer most with 429. Counted from
    each answer, so a slot frees only after Teams has surely counted the send."""

    def __init__(self, per_second: int = APP_PER_SECOND, window: float = 1.0) -> None:
        self.per_second, self.window = per_second, window
        self._answered: deque[float] = deque()
        self._in_flight = 0
        self._cond = threading.Condition()

    def take(self) -> None:
        """Wait for a free slot and hold it until `release`."""
        with self._cond:
            while True:
                now = time.monotonic()
                while self._answered and self._answered[0] <= now - self.window:
                    self._answered.popleft()
                if self._in_flight + len(self._answered) < self.per_second:
                    self._in_flight += 1
                    return
                wait = self._answered[0] + self.window - now if self._answered else 0.05
                self._cond.wait(max(wait, 0.001))

    def release(self) -> None:
        with self._cond:
            self._in_flight -= 1
            self._answered.append(time.monotonic())
            self._cond.notify()


class TeamsTransport:
    """Proactive Adaptive Cards through the Teams SDK's API client."""

    kind: ClassVar[str] = "teams"
    pace: ClassVar[float] = 1 / 7  # Teams: about 7 messages a second per conversation
    # What cards.py shows of a digest (it also keeps a card under Teams' 28 KB by bytes).
    limits: ClassVar[Limits] = Limits(parts=TEAMS_BUDGET, chars=LINE_CHARS)

    @classmethod
    def from_settings(cls, settings: Settings, directory: Directory) -> TeamsTransport | None:
        """The transport for TEAMS_APP_ID, or None when Teams is not configured."""
        if not settings.teams_configured:
            return None
        return cls(settings, Conversations(directory.sessions), directory)

    def __init__(self, settings: Settings, conversations: Conversations, directory: Directory,
                 cap: HourlyCap | None = None, rate: AppRate | None = None) -> None:
        self.settings = settings
        self.conversations = conversations
        self.directory = directory
        self.cap = cap or HourlyCap()
        self.rate = rate or AppRate()
        self._api: ApiClient | None = None
        self._loop: _Loop | None = None
        self._feed: ActivityFeed | None = None
        self._feed_made = False
        self._lock = threading.Lock()

    def _client(self) -> tuple[ApiClient, _Loop]:
        """The SDK's API client and the loop it runs on, made at the first send: every
        command builds the transports, and most never send."""
        with self._lock:
            if self._api is None or self._loop is None:
                from bot.transports.teams.app import build_sdk_app

                self._api = build_sdk_app(self.settings).api
                self._loop = _Loop()
            return self._api, self._loop

    def feed(self) -> ActivityFeed | None:
        """The activity feed (None without Graph's settings), made at the first urgent
        prompt: it is a Graph client with a thread of its own, which most runs never need."""
        with self._lock:
            if not self._feed_made:
                from bot.transports.teams_feed import ActivityFeed

                self._feed = ActivityFeed.from_settings(self.settings,
                                                        bot_app_id=self.settings.teams_app_id)
                self._feed_made = True
            return self._feed

    @property
    def max_call_seconds(self) -> float:
        """A token fetch and the post, each within the client's timeout, then (for an
        urgent prompt) the activity-feed notification within Graph's bound."""
        from bot.transports.teams_feed import FEED_SECONDS

        return 2 * CALL_TIMEOUT + (FEED_SECONDS if self.settings.graph_configured else 0.0)

    def conversation_for(self, to: Address | str) -> ConversationRef | None:
        """The stored conversation of a person, or of a care team's channel."""
        if isinstance(to, str):  # an outbox row's recipient, "staff:jo"
            to = Address.parse(to)
        if to.kind == "staff":
            aad = self.directory.msteams_id_of(to.name)
            return self.conversations.of_person(aad) if aad else None
        # "ooh" too: a care team has one Teams channel (Team.msteams_channel); its
        # out-of-hours prompts go there.
        channel = self.conversations.channel_of_team(to.name)
        return self.conversations.of_channel(channel) if channel else None

    def reaches(self, to: Address | str) -> bool:
        """Whether Teams can take this recipient: a stored conversation exists."""
        return self.conversation_for(to) is not None

    def activity(self, content: Content, key: str) -> MessageActivityInput:
        """The message: the content's card, a plain-text summary for notifications, and
        the outbox key in channelData."""
        from microsoft_teams.api.activities.message.message import MessageActivityInput
        from microsoft_teams.api.models.attachment.attachment import Attachment
        from microsoft_teams.api.models.channel_data import ChannelData

        summary = content.urgent_words if isinstance(content, Prompt) else (
            plain_text(content).split("\n", 1)[0])
        message = MessageActivityInput(summary=summary[:250])
        message.add_attachments(Attachment(content_type=CONTENT_TYPE, content=render_card(content)))
        message.channel_data = ChannelData.model_validate({"caseclockKey": key})
        return message

    def send(self, to: Address | str, content: Content, key: str) -> None:
        """Post one card; a TransportError says whether and when to try again."""
        if isinstance(to, str):
            to = Address.parse(to)
        ref = self.conversation_for(to)
        if ref is None:
            who = to.name if to.kind == "staff" else f"team {to.name}'s channel"
            if to.kind != "staff":
                raise TransportError(f"caseclock cannot write to {who} in Teams yet: add the "
                                     "app to the team, and link the channel with caseclock "
                                     "team add TEAM --teams-channel ID", permanent=True)
            raise TransportError(NO_CONVERSATION.format(who=who), permanent=True)
        from microsoft_teams.api import Account, ConversationAccount

        message = self.activity(content, key)
        message.from_ = Account(id=ref.bot_id)
        message.conversation = ConversationAccount(id=ref.conversation_id,
                                                   conversation_type=ref.kind,
                                                   tenant_id=ref.tenant_id)
        import httpx  # with the SDK: only where Teams is configured (the msteams extra)

        base, loop = self._client()
        self.cap.take(ref.conversation_id)
        api = base.clone(service_url=ref.service_url)
        self.rate.take()
        try:
            loop.run(api.conversations.create_activity(ref.conversation_id, message),
                     timeout=self.max_call_seconds)
        except httpx.HTTPStatusError as err:
            self.cap.give_back(ref.conversation_id)
            raise _error(err.response) from None
        except (httpx.TimeoutException, TimeoutError):
            raise TransportError("ambiguous: Teams did not answer in time") from None
        except httpx.HTTPError as err:
            self.cap.give_back(ref.conversation_id)
            raise TransportError(f"Teams could not be reached ({type(err).__name__})") from None
        finally:
            self.rate.release()
        if isinstance(content, Prompt) and content.urgent and to.is_person:
            self.notify_feed(ref, content)

    def notify_feed(self, ref: ConversationRef, prompt: Prompt) -> str:
        """Raise the person's activity-feed notification for an urgent prompt just sent to
        their chat: "sent", "skipped", "failed" (ActivityFeed.notify), or "off" without
        Graph. Never raises: the prompt has been delivered whatever happens here."""
        aad = ref.aad_object_id
        try:
            feed = self.feed()
            if feed is None or not aad:
                return "off"
            return feed.notify(aad, prompt)
        except Exception as err:  # building Graph's client failed: still only a nudge
            log.warning("activity feed notification failed: %s", type(err).__name__)
            return "failed"

    def already_delivered(self, to: Address | str, key: str, since: datetime) -> bool:
        """False: the Bot Connector cannot read a conversation back (see the module's doc)."""
        return False


def _error(response: httpx.Response) -> TransportError:
    status = response.status_code
    if status in RETRIED:
        after = response.headers.get("Retry-After")
        try:
            retry_after = float(after) if after is not None else None
        except ValueError:
            retry_after = None
        return TransportError(f"Teams answered {status}", retry_after=retry_after)
    if status in REFUSED_HINTS:
        return TransportError(f"Teams answered {status}: {REFUSED_HINTS[status]}",
                              permanent=True)
    if status >= 500:
        return TransportError(f"Teams answered {status}")
    return TransportError(f"Teams refused the message ({status})", permanent=True)
