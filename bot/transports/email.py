"""Sending by Outlook email: Microsoft Graph's sendMail from one configured mailbox.

Who it reaches: a member of staff with an email address (`caseclock staff add ... --email`)
and a team with a digest address (`caseclock team add ... --digest-email`); not a team's
out-of-hours channel (urgent prompts out of hours need a chat someone watches).

The message is Graph's JSON message with an HTML body (bot/transports/email_html.py).
Graph's JSON message has one body; a multipart/alternative (HTML and text) message needs
sendMail's MIME form (Content-Type text/plain, base64 MIME), which msgraph-sdk's request
adapter could send. It is not used, because of how a repeat is prevented:

- each message carries its outbox key twice: as a single-value extended property (a named
  MAPI property of caseclock's own, set with the message) and as an `X-Caseclock-Key`
  internet message header (for the recipients' mail rules and support);
- `already_delivered` finds the key in the sender's Sent Items with Graph's documented
  extended-property filter, `singleValueExtendedProperties/Any(ep: ep/id eq '...' and
  ep/value eq '...')` (learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-get).
  Internet headers cannot be used for that: Graph does not return them on the Sent Items
  copy ("internet headers just do not exist on the copy in Sent Items", Microsoft in
  microsoftgraph/microsoft-graph-docs#2716), and extended properties can be set only on the
  JSON form (the MIME form carries no Graph properties, and custom headers sent as MIME
  were seen dropped: microsoft-graph-docs-contrib#424). The text part is therefore not
  sent; email_html renders it (`plain_text`) for any other mail path.

Reading the Sent Items needs the application permission Mail.Read besides Mail.Send; both
are restricted to the sender mailbox (README: Exchange RBAC for Applications).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from bot.directory import Directory
from scheduler.reminders.address import Address
from scheduler.reminders.content import Content
from scheduler.reminders.transport import AMBIGUOUS, DeliveryUnknown, Limits, TransportError
from store.settings import Settings

if TYPE_CHECKING:
    from bot.transports.graph import Graph

log = logging.getLogger("caseclock.email")  # ids and statuses only, never case content

KEY_HEADER = "X-Caseclock-Key"
# caseclock's own property set (a fixed GUID): the outbox key as a named string property.
KEY_PROPERTY = "String {5b1c7e0a-3f8d-4c52-9a61-2d7e4b9c0f13} Name CaseclockKey"
SENT_ITEMS = "SentItems"  # Graph's well-known folder name

HINTS = {
    401: "check GRAPH_TENANT_ID, GRAPH_CLIENT_ID and GRAPH_CLIENT_SECRET",
    403: "grant the app Mail.Send (and Mail.Read) for the sender mailbox, see the README",
    404: "check GRAPH_SENDER: Graph knows no such mailbox",
}


def graph_failure(err: BaseException, sending: bool) -> TransportError:
    """The TransportError for a failed Graph call. `sending`: a message was posted, so a
    failure that may have happened after Exchange took it (a 5xx, a timeout) is ambiguous:
    the outbox checks the Sent Items before it tries again."""
    from bot.transports.graph import retry_after, status_of

    status = status_of(err)
    code = getattr(getattr(err, "error", None), "code", None)
    what = f"Graph answered {status}" + (f" ({code})" if code else "") if status else (
        type(err).__name__)
    if status == 429:  # Graph refused it: nothing was sent
        return TransportError(f"rate limited: {what}", retry_after=retry_after(err) or 30.0)
    if (status is not None and status >= 500) or (status is None and _in_flight(err)):
        prefix = f"{AMBIGUOUS}: " if sending else ""
        return TransportError(f"{prefix}{what}", retry_after=retry_after(err))
    if status == 412:
        return TransportError(what)
    if status is not None:
        hint = HINTS.get(status)
        return TransportError(f"{what}{': ' + hint if hint else ''}", permanent=True)
    if _is_credential_refusal(err):
        return TransportError(f"the token was refused ({type(err).__name__}): {HINTS[401]}",
                              permanent=True)
    return TransportError(what)  # failed before anything was posted (no connection)


def _in_flight(err: BaseException) -> bool:
    """A failure during the exchange with Graph (the request may have arrived)."""
    import httpx

    if isinstance(err, httpx.ConnectError | httpx.ConnectTimeout):
        return False  # no connection: nothing was posted
    return isinstance(err, httpx.TransportError | TimeoutError)


def _is_credential_refusal(err: BaseException) -> bool:
    from azure.core.exceptions import ClientAuthenticationError

    return isinstance(err, ClientAuthenticationError)


class EmailTransport:
    """Sends Outlook email through Graph from GRAPH_SENDER; never twice for one key."""

    kind: ClassVar[str] = "email"
    # Seconds between two emails to one address. Exchange Online's own limit is per sending
    # mailbox (30 messages a minute): beyond it Graph answers 429 with Retry-After, which
    # the outbox honours without using up an attempt.
    pace: ClassVar[float] = 2.0
    limits: ClassVar[Limits] = Limits()  # no limit: an email shows every line

    @classmethod
    def from_settings(cls, settings: Settings, directory: Directory) -> EmailTransport | None:
        """The transport, or None unless Graph's app credentials and GRAPH_SENDER are set."""
        if not (settings.graph_configured and settings.graph_sender):
            return None
        from bot.transports.graph import Graph

        return cls(Graph(settings), settings.graph_sender, directory)

    def __init__(self, graph: Graph, sender: str, directory: Directory) -> None:
        self.graph = graph
        self.sender = sender
        self.directory = directory

    @property
    def max_call_seconds(self) -> float:
        """The longest one send can take (a token and one request, no SDK retries)."""
        from bot.transports.graph import CALL_SECONDS

        return CALL_SECONDS

    def address_of(self, to: Address) -> str | None:
        """The email address of a person or of a team's digest, or None."""
        if to.kind == "staff":
            actor = self.directory.by_name(to.name)
            return actor.email if actor else None
        if to.kind == "team":
            return self.directory.team_digest_email(to.name)
        return None  # out of hours: a chat someone watches, not a mailbox

    def reaches(self, to: Address) -> bool:
        """Whether there is an address for them: a person's email or a team's digest email."""
        return self.address_of(to) is not None

    def message(self, to: str, content: Content, key: str) -> Any:
        """Graph's sendMail body: the rendered message, to one address, keyed."""
        from msgraph.generated.models.body_type import BodyType
        from msgraph.generated.models.email_address import EmailAddress
        from msgraph.generated.models.internet_message_header import InternetMessageHeader
        from msgraph.generated.models.item_body import ItemBody
        from msgraph.generated.models.message import Message
        from msgraph.generated.models.recipient import Recipient
        from msgraph.generated.models.single_value_legacy_extended_property import (
            SingleValueLegacyExtendedProperty,
        )
        from msgraph.generated.users.item.send_mail.send_mail_post_request_body import (
            SendMailPostRequestBody,
        )

        from bot.transports.email_html import render

        subject, html, _text = render(content)
        return SendMailPostRequestBody(message=Message(
            subject=subject,
            body=ItemBody(content_type=BodyType.Html, content=html),
            to_recipients=[Recipient(email_address=EmailAddress(address=to))],
            internet_message_headers=[InternetMessageHeader(name=KEY_HEADER, value=key)],
            single_value_extended_properties=[
                SingleValueLegacyExtendedProperty(id=KEY_PROPERTY, value=key)],
        ), save_to_sent_items=True)  # the Sent Items copy is what already_delivered finds

    def send(self, to: Address, content: Content, key: str) -> None:
        """Send one email (POST /users/{sender}/sendMail); raises TransportError."""
        address = self.address_of(to)
        if address is None:
            raise TransportError(f"{to.label} has no email address: add one with "
                                 "--email (a person) or --digest-email (a team)",
                                 permanent=True)
        body = self.message(address, content, key)
        try:
            self.graph.run(self.graph.client.users.by_user_id(self.sender).send_mail.post(body))
        except Exception as err:
            failure = graph_failure(err, sending=True)
            log.info("sendMail failed for %s: %s", to.kind, failure)
            raise failure from None

    def already_delivered(self, to: Address, key: str, since: datetime) -> bool:
        """True if the sender's Sent Items hold a message with this outbox key.

        The key is unique for all time, so the whole folder is searched rather than only
        since `since` (a second condition on sentDateTime would add nothing). The filter on
        a string property's value is case-insensitive: the value is compared exactly here.
        Where the Sent Items cannot be read (Mail.Read not granted), whether it went is
        unknown: DeliveryUnknown parks the row rather than send it again blind.
        """
        from kiota_abstractions.base_request_configuration import RequestConfiguration
        from msgraph.generated.users.item.mail_folders.item.messages.messages_request_builder import (  # noqa: E501
            MessagesRequestBuilder,
        )

        quoted = key.replace("'", "''")  # an OData string literal
        query = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
            filter=(f"singleValueExtendedProperties/Any(ep: ep/id eq '{KEY_PROPERTY}' "
                    f"and ep/value eq '{quoted}')"),
            select=["id", "sentDateTime"],
            expand=[f"singleValueExtendedProperties($filter=id eq '{KEY_PROPERTY}')"],
            top=10)
        config = RequestConfiguration(query_parameters=query)
        folder = self.graph.client.users.by_user_id(self.sender).mail_folders.by_mail_folder_id(
            SENT_ITEMS)
        try:
            page = self.graph.run(folder.messages.get(request_configuration=config))
        except Exception as err:
            failure = graph_failure(err, sending=False)
            if failure.permanent:
                raise DeliveryUnknown(f"the sender's Sent Items could not be read ({failure})"
                                      ) from None
            raise TransportError(f"{AMBIGUOUS}: could not check whether it arrived "
                                 f"(Sent Items: {failure})",
                                 retry_after=failure.retry_after) from None
        for message in (page.value if page else None) or []:
            for prop in message.single_value_extended_properties or []:
                if prop.id and prop.id.lower() == KEY_PROPERTY.lower() and prop.value == key:
                    return True
        return False
