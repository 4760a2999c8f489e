"""The front door of `/slack/events`: what an unauthenticated client can make the server do.

Every request is checked here, in the server's event loop, before Bolt sees it, in this order
(each step is cheap and bounded, and nothing later runs for a request an earlier step refused):

1. size: a Content-Length over MAX_BODY is refused (413) before a byte of the body is read,
   and a body without one (chunked) is refused as soon as it passes the limit while it streams;
2. time: the whole body must arrive within the read timeout (408), so a half-sent request
   cannot hold the connection (the headers' deadline is the HTTP protocol's, see bot/web.py);
3. signature and timestamp: HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret,
   inside Slack's 5-minute window (401), on the raw bytes, before anything is decoded;
4. shape: UTF-8, a form or a JSON object, `payload=` a JSON object (400);
5. replays: a delivery (a command's or action's trigger_id, an event's event_id) seen in the
   last REMEMBER seconds is answered 200, so Slack stops retrying, and handled no further.

A refusal is one short log line (status and reason: no body, no case content) and never a
traceback. What passes goes to a dispatcher (dispatch.py, beside it). Slash commands, button
clicks and events are acknowledged here at once with an empty 200, which is all their Bolt
listeners ever answer, so the acknowledgement never waits behind anyone's work; requests
whose answer carries content (a modal's errors, Slack's URL check) wait for Bolt's answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl

log = logging.getLogger("caseclock.web")  # status and reason only: never a body or a case

MAX_BODY = 256 * 1024  # Slack's largest payloads (a full modal's state) are a few KB
READ_TIMEOUT = 10.0  # seconds for a request's body to arrive once its headers have
WINDOW = 5 * 60  # Slack's replay window for a signed request's timestamp
REMEMBER = 10 * 60  # deliveries are remembered for longer than the window they can replay in
# Kinds whose every Bolt listener acknowledges with an empty 200 (listeners.py: ack_now).
ACK_AT_ONCE = frozenset({"command", "block_actions", "event_callback"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True)
class SlackAnswer:
    """What Bolt answered: status, headers, body."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""


class Dispatcher(Protocol):
    """Hands a checked request to Bolt (in this process or a worker)."""

    def fire(self, body: str, headers: dict[str, str]) -> None:
        """Handle it; the answer is not wanted (the door already acknowledged it)."""

    async def answer(self, body: str, headers: dict[str, str]) -> SlackAnswer:
        """Handle it and return Bolt's answer for Slack."""


class Refused(Exception):
    """A request refused at the door: its status and a reason fit for the log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Deliveries:
    """The delivery ids handled in the last `remember` seconds (bounded: oldest go first)."""

    def __init__(self, remember: float = REMEMBER, size: int = 200_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self.remember, self.size, self.clock = remember, size, clock

    def first_time(self, key: str) -> bool:
        """True the first time `key` is offered within the memory; False for a replay."""
        now = self.clock()
        with self._lock:
            while self._seen and (len(self._seen) >= self.size
                                  or next(iter(self._seen.values())) < now - self.remember):
                self._seen.popitem(last=False)
            if key in self._seen:
                return False
            self._seen[key] = now
            return True

    def forget(self, key: str | None) -> None:
        """Let `key` be handled when it comes again (its first delivery was not taken)."""
        if key is not None:
            with self._lock:
                self._seen.pop(key, None)


def ascii_digits(text: str, most: int) -> bool:
    """1 to `most` ASCII digits: str.isdigit() also takes '²' and Arabic-Indic digits, which
    int() then refuses or reads."""
    return 0 < len(text) <= most and all("0" <= c <= "9" for c in text)


def signature_ok(secret: bytes, timestamp: str, body: bytes, signature: str,
                 now: float) -> bool:
    """Slack's v0 signature over the raw body, and the timestamp inside the window."""
    if not ascii_digits(timestamp, 12) or abs(now - int(timestamp)) > WINDOW:
        return False
    mac = hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    # As bytes: compare_digest refuses a str with non-ASCII characters (a forged header).
    return hmac.compare_digest(b"v0=" + mac.hexdigest().encode(), signature.encode("latin-1"))


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise Refused(400, f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise Refused(400, f"{what} is not a JSON object")
    return value


def classify(text: str, content_type: str) -> tuple[str, str | None]:
    """(kind, delivery id) of a decoded body, as Bolt will read it (a JSON body, a form, or
    a form whose `payload` is JSON); Refused(400) when it is none of them."""
    if content_type.startswith("application/json") or text.startswith("{"):
        event = _json_object(text, "the body")
        kind = str(event.get("type", ""))
        key = event.get("event_id")
        return kind, f"event:{key}" if key else None
    form = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in form:
        payload = _json_object(form["payload"], "the payload")
        kind = str(payload.get("type", ""))
        trigger = payload.get("trigger_id")
    elif "command" in form:
        kind, trigger = "command", form.get("trigger_id")
    else:
        kind, trigger = "other", None
    return kind, f"trigger:{trigger}" if trigger else None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _send(send: Send, status: int, body: bytes = b"", close: bool = False,
                headers: dict[str, str] | None = None) -> None:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()
           if k.lower() not in ("content-length", "connection")]
    if not any(k == b"content-type" for k, _ in raw):
        raw.append((b"content-type", b"text/plain; charset=utf-8"))
    raw.append((b"content-length", str(len(body)).encode()))
    if close:  # the rest of the request is unread: the connection cannot carry another
        raw.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class SlackDoor:
    """The ASGI endpoint for `/slack/events`: the checks above, then the dispatcher."""

    def __init__(self, signing_secret: str, dispatcher: Dispatcher,
                 read_timeout: float = READ_TIMEOUT, max_body: int = MAX_BODY,
                 clock: Callable[[], float] = time.time) -> None:
        self.secret = signing_secret.encode()
        self.dispatcher = dispatcher
        self.read_timeout, self.max_body, self.clock = read_timeout, max_body, clock
        self.deliveries = Deliveries()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        try:
            if scope["method"] != "POST":
                raise Refused(405, "not a POST")
            body = await self._read_body(scope, receive)
            await self._handle(scope, body, send)
        except Refused as refused:
            log.info("slack request refused: %s %s", refused.status, refused.reason)
            await _send(send, refused.status, f"{refused.reason}\n".encode(),
                        close=refused.status in (408, 413))
        except Exception as err:  # nothing a client sends may become a 500 or a traceback
            log.error("slack request could not be read: %s", type(err).__name__)
            await _send(send, 400, b"the request could not be read\n", close=True)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        length = _header(scope, b"content-length")
        if length is not None and (not ascii_digits(length, 12) or int(length) > self.max_body):
            raise Refused(413, f"the body is over {self.max_body // 1024} KB")
        deadline = asyncio.get_running_loop().time() + self.read_timeout
        chunks: list[bytes] = []
        size = 0
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                message = await asyncio.wait_for(receive(), max(remaining, 0.001))
            except TimeoutError:
                raise Refused(408, "the body did not arrive in time") from None
            if message["type"] == "http.disconnect":
                raise Refused(400, "the client went away")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:  # a chunked body: refused while it streams
                raise Refused(413, f"the body is over {self.max_body // 1024} KB")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _handle(self, scope: Scope, body: bytes, send: Send) -> None:
        timestamp = _header(scope, b"x-slack-request-timestamp") or ""
        signature = _header(scope, b"x-slack-signature") or ""
        if not ascii_digits(timestamp, 12):
            raise Refused(401, "no valid X-Slack-Request-Timestamp")
        if not signature_ok(self.secret, timestamp, body, signature, self.clock()):
            raise Refused(401, "bad or stale signature")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(400, "the body is not UTF-8") from None
        kind, delivery = classify(text, _header(scope, b"content-type") or "")
        if delivery is not None and not self.deliveries.first_time(delivery):
            log.info("slack delivery already handled: acknowledged, not handled again")
            await _send(send, 200)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if kind in ACK_AT_ONCE:
            try:
                self.dispatcher.fire(text, headers)
            except Exception as err:  # the worker could not take it: Slack may retry it
                self.deliveries.forget(delivery)
                log.error("slack request failed: %s", type(err).__name__)
                await _send(send, 503)
                return
            await _send(send, 200)
            return
        try:
            answer = await self.dispatcher.answer(text, headers)
        except Exception as err:  # the worker died mid-request: the type only, no traceback
            log.error("slack request failed: %s", type(err).__name__)
            answer = SlackAnswer(503)
        await _send(send, answer.status, answer.body.encode(), headers=answer.headers)
