"""Teams activity-feed notifications for urgent prompts (24-hour rules), through Graph.

The Teams transport sends an urgent prompt into the person's chat with the bot, then calls
`ActivityFeed.notify`, which raises a notification in their Teams activity feed linking to
that chat: POST /users/{id}/teamwork/sendActivityNotification (application permission
TeamsActivity.Send; the app must be installed for the user and its manifest must declare
the activity type "urgentDeadline" with a template using {case}).

The prompt itself has already gone, so nothing here raises into the send (an exception
would make the outbox send the prompt again). Where the tenant refuses (403: permission not
granted, or the app not installed; 404), the notification is skipped with one log line that
carries no case content; a failure that may pass is skipped too (a nudge, not the message).
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

from scheduler.reminders.content import Prompt
from store.settings import Settings

if TYPE_CHECKING:
    from bot.transports.graph import Graph

log = logging.getLogger("caseclock.teams_feed")

ACTIVITY_TYPE = "urgentDeadline"  # declared in teams-app/manifest.json's activities
PREVIEW_CHARS = 150  # Teams shows the first 150 characters of the preview
# The longest the Teams transport waits for a notification (a token and one POST): it runs
# inside the prompt's send, whose worst case must stay within the outbox's claim lease.
FEED_SECONDS = 15.0


def chat_link(bot_app_id: str) -> str:
    """A Teams deep link that opens the person's chat with the bot."""
    return f"https://teams.microsoft.com/l/chat/0/0?users=28:{bot_app_id}"


def chain_id(prompt: Prompt) -> int:
    """One chain per deadline: a later stage's notification replaces the earlier one in the
    feed rather than stacking beside it (Graph's chainId, an Int64)."""
    ref = prompt.ref
    digest = hashlib.sha256(f"{ref.case}|{ref.rule}|{ref.seq}".encode()).digest()
    return int.from_bytes(digest[:7], "big")  # positive, within Int64


def notification(prompt: Prompt, bot_app_id: str, teams_app_id: str | None = None) -> Any:
    """sendActivityNotification's body for an urgent prompt."""
    from msgraph.generated.models.item_body import ItemBody
    from msgraph.generated.models.key_value_pair import KeyValuePair
    from msgraph.generated.models.teamwork_activity_topic import TeamworkActivityTopic
    from msgraph.generated.models.teamwork_activity_topic_source import (
        TeamworkActivityTopicSource,
    )
    from msgraph.generated.users.item.teamwork.send_activity_notification.send_activity_notification_post_request_body import (  # noqa: E501
        SendActivityNotificationPostRequestBody,
    )

    preview = prompt.urgent_words
    if len(preview) > PREVIEW_CHARS:
        preview = preview[:PREVIEW_CHARS - 1].rstrip() + "…"
    return SendActivityNotificationPostRequestBody(
        topic=TeamworkActivityTopic(source=TeamworkActivityTopicSource.Text,
                                    value=f"Case {prompt.ref.case}",
                                    web_url=chat_link(bot_app_id)),
        activity_type=ACTIVITY_TYPE,
        chain_id=chain_id(prompt),
        preview_text=ItemBody(content=preview),
        template_parameters=[KeyValuePair(name="case", value=prompt.ref.case)],
        teams_app_id=teams_app_id)


class ActivityFeed:
    """Raises activity-feed notifications as the app (application permission)."""

    @classmethod
    def from_settings(cls, settings: Settings, bot_app_id: str | None = None,
                      teams_app_id: str | None = None) -> ActivityFeed | None:
        """The feed, or None unless Graph's app credentials are set. `bot_app_id` (the
        bot's app id, for the chat link) defaults to TEAMS_APP_ID, else GRAPH_CLIENT_ID."""
        if not settings.graph_configured:
            return None
        from bot.transports.graph import Graph

        bot = bot_app_id or getattr(settings, "teams_app_id", None) or settings.graph_client_id
        assert bot
        return cls(Graph(settings), bot, teams_app_id)

    def __init__(self, graph: Graph, bot_app_id: str, teams_app_id: str | None = None) -> None:
        self.graph = graph
        self.bot_app_id = bot_app_id
        self.teams_app_id = teams_app_id

    def notify(self, user_id: str, prompt: Prompt) -> str:
        """Notify the user (their Entra object id) of an urgent prompt just sent to their
        chat: "sent", "skipped" (the tenant refused) or "failed". Never raises."""
        from bot.transports.graph import status_of

        body = notification(prompt, self.bot_app_id, self.teams_app_id)
        try:
            self.graph.run(self.graph.client.users.by_user_id(user_id).teamwork
                           .send_activity_notification.post(body), timeout=FEED_SECONDS)
        except Exception as err:
            status = status_of(err)
            if status in (403, 404):
                log.info("activity feed notification skipped: Graph answered %d (grant "
                         "TeamsActivity.Send and install the app for the user)", status)
                return "skipped"
            log.warning("activity feed notification failed: %s",
                        f"Graph answered {status}" if status else type(err).__name__)
            return "failed"
        return "sent"
