"""A mock Slack Web API on localhost: records every call, answers like Slack.

Also serves response_url endpoints (`/response/<id>`), so a slash command's ephemeral reply
can be asserted. `fail_next(method, status, retry_after)` makes it answer errors, for the
reliability tests of the notifier. Calls Slack itself would refuse (see `misuse`) are
answered `{"ok": false}` as Slack does, and kept in `refused` instead of `calls`.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


def misuse(method: str, body: dict[str, Any]) -> str | None:
    """The error Slack would answer for a call caseclock must never make, or None."""
    if method == "chat.postEphemeral":
        channel, user = str(body.get("channel") or ""), str(body.get("user") or "")
        if not channel or not user:
            return "invalid_arguments"  # both the channel and the user are required
        if channel.startswith(("U", "W")):
            return "channel_not_found"  # a user id is not a channel for an ephemeral
    if method == "views.open" and not (body.get("trigger_id") and body.get("view")):
        return "invalid_arguments"
    if method == "views.publish" and not (body.get("user_id") and body.get("view")):
        return "invalid_arguments"
    return None


@dataclass
class Call:
    """One request the mock received."""

    path: str
    method: str  # the Web API method, or "response_url"
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class MockSlack:
    """Start with `with MockSlack() as slack:`; `slack.url` is the Web API base URL."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.refused: list[Call] = []  # calls answered {"ok": false} for misuse
        self.pace: float | None = None  # seconds between messages to one channel, if enforced
        self.last_post: dict[str, float] = {}
        self.rate_limited = 0
        self.delay = 0.0  # seconds to wait before answering (for timeouts)
        self.slow_methods: set[str] | None = None  # the methods `delay` applies to (None: all)
        self.socket_url: str | None = None  # apps.connections.open's answer (Socket Mode)
        # Where message timestamps come from: a test on a simulated clock sets it, so
        # conversations.history's `oldest`/`latest` (simulated times) apply honestly.
        self.clock: Callable[[], float] = time.time
        self.others: list[dict[str, Any]] = []  # messages people posted (see `post_as_person`)
        self.history_pages = 0  # conversations.history pages answered
        self._lock = threading.Lock()
        self._failures: dict[str, list[tuple[int, int | None]]] = {}
        mock = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8") if length else ""
                ctype = self.headers.get("Content-Type", "")
                if "json" in ctype:
                    body = json.loads(raw or "{}")
                else:
                    body = {k: v[0] for k, v in parse_qs(raw).items()}
                path = self.path
                method = ("response_url" if path.startswith("/response/")
                          else path.rsplit("/", 1)[-1])
                if mock.delay and (mock.slow_methods is None or method in mock.slow_methods):
                    time.sleep(mock.delay)
                with mock._lock:
                    failures = mock._failures.get(method)
                    failure = failures.pop(0) if failures else None
                    if failure is None and method == "chat.postMessage" and mock.pace:
                        channel = str(body.get("channel"))
                        last = mock.last_post.get(channel)
                        if last is not None and time.monotonic() - last < mock.pace:
                            mock.rate_limited += 1
                            failure = (429, 1)
                        else:
                            mock.last_post[channel] = time.monotonic()
                    refusal = misuse(method, body) if failure is None else None
                    if failure is None:
                        body["_ts"] = f"{mock.clock():.6f}"
                        (mock.refused if refusal else mock.calls).append(
                            Call(path, method, body, dict(self.headers)))
                if failure is None and refusal is not None:
                    payload = json.dumps({"ok": False, "error": refusal}).encode()
                    self.send_response(200)  # Slack answers misuse with 200 and ok: false
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if failure is not None:
                    status, retry_after = failure
                    self.send_response(status)
                    if retry_after is not None:
                        self.send_header("Retry-After", str(retry_after))
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"ok": false, "error": "ratelimited"}')
                    return
                reply: dict[str, Any] = {"ok": True}
                if method == "chat.postMessage":
                    reply.update(channel=body.get("channel"), ts=body["_ts"])
                if method == "apps.connections.open" and mock.socket_url:
                    reply.update(url=mock.socket_url)
                if method == "auth.test":
                    reply.update(user_id="UBOT", bot_id="BBOT", team_id="T1")
                if method == "conversations.open":
                    reply.update(channel={"id": "D" + str(body.get("users", ""))})
                if method == "conversations.history":
                    reply.update(mock.history_page(body))
                payload = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/api/"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def post_as_person(self, channel: str, text: str) -> None:
        """A message someone posted in `channel` (not caseclock): history shows it."""
        with self._lock:
            self.others.append({"channel": channel, "ts": f"{self.clock():.6f}",
                                "text": text})

    def history_page(self, body: dict[str, Any]) -> dict[str, Any]:
        """One page of conversations.history as Slack answers it: the channel's messages
        after `oldest` and before `latest` (exclusive), newest first, `limit` a page (100 by
        default), `has_more` and an opaque `next_cursor` for the rest."""
        channel = body.get("channel")
        oldest = float(body.get("oldest") or 0)
        latest = float(body.get("latest") or "inf")
        limit = int(body.get("limit") or 100)
        cursor = str(body.get("cursor") or "")
        start = int(base64.b64decode(cursor).decode().split(":", 1)[1]) if cursor else 0
        with self._lock:
            posted = [{"ts": c.body["_ts"], "text": c.body.get("text"),
                       "metadata": c.body.get("metadata")}
                      for c in self.calls if c.method == "chat.postMessage"
                      and c.body.get("channel") == channel]
            people = [{"ts": m["ts"], "text": m["text"]} for m in self.others
                      if m["channel"] == channel]
            self.history_pages += 1
        messages = sorted((m for m in posted + people if oldest < float(m["ts"]) < latest),
                          key=lambda m: float(m["ts"]), reverse=True)
        for m in messages:  # Slack answers metadata as an object, whichever way it was sent
            if isinstance(m.get("metadata"), str):
                m["metadata"] = json.loads(m["metadata"])
        page = messages[start:start + limit]
        more = start + limit < len(messages)
        nxt = base64.b64encode(f"next:{start + limit}".encode()).decode() if more else ""
        return {"messages": page, "has_more": more,
                "response_metadata": {"next_cursor": nxt}}

    def response_url(self, key: str) -> str:
        """A response_url that lands here."""
        return f"http://127.0.0.1:{self.port}/response/{key}"

    def fail_next(self, method: str, status: int, retry_after: int | None = None,
                  times: int = 1) -> None:
        """Answer the next `times` calls of `method` with an error status."""
        with self._lock:
            self._failures.setdefault(method, []).extend([(status, retry_after)] * times)

    def delivered_keys(self) -> list[str]:
        """The outbox keys of every message posted (from their metadata)."""
        out = []
        for c in self.of("chat.postMessage"):
            meta = c.body.get("metadata")
            if isinstance(meta, str):
                meta = json.loads(meta)
            if meta:
                out.append(meta["event_payload"]["key"])
        return out

    def of(self, method: str) -> list[Call]:
        """The calls of one method so far."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Wait until `count` calls of `method` arrived (lazy listeners run in threads)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.of(method)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"expected {count} {method} call(s), got {len(self.of(method))}")

    def wait_until(self, method: str, matches: Callable[[Call], bool],
                   timeout: float = 10.0) -> Call:
        """Wait for the first call of `method` that `matches` (e.g. a reply to one user)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [c for c in self.of(method) if matches(c)]
            if found:
                return found[0]
            time.sleep(0.02)
        raise AssertionError(f"no matching {method} call among {len(self.of(method))}")

    def __enter__(self) -> MockSlack:
        self._thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
