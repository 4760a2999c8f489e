"""The one ASGI application `caseclock serve` runs under uvicorn, and the server's limits.

Routes: `/slack/events` (Slack's commands, interactivity and events, through the front door
in bot/transports/slack/door.py), `/healthz`. Other endpoints (the calendar feeds, Teams'
`/api/messages`: the Teams SDK's route, bot/transports/teams/app.py) are `Route`s passed to
build_web_app; /slack/events is left out when Slack is not configured.

Limits, so that no client can exhaust the process (the timeouts and the body limit are
tested through `caseclock serve` in tests/test_web.py; the last two are h11's and uvicorn's):
- a request's headers must arrive within the read timeout of the connection opening (or of
  the previous response), else the connection is closed (HeaderDeadlineH11 below): uvicorn
  itself only times out idle keep-alive connections, not half-sent requests;
- a body must arrive within the read timeout too, and is at most 256 KB (the front door);
- headers are at most 16 KB (h11's limit on an incomplete event: 400 beyond it);
- at most LIMIT_CONNECTIONS connections and requests at once (uvicorn answers 503 beyond);
  idle and half-sent connections cost no thread (one event loop), so holding hundreds of
  them open does not delay a valid request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import h11
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.transports.slack.door import READ_TIMEOUT, SlackDoor

LIMIT_CONNECTIONS = 2000  # above the 500 idle connections the door is tested with
GRACEFUL_SHUTDOWN = 5  # seconds for requests in flight when the server is told to stop


def log_to_stderr() -> None:
    """caseclock's own log lines (ids, statuses, reasons: never case content) on stderr, one
    line each; other libraries keep their own levels."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("caseclock")
    root.addHandler(handler)
    root.setLevel(logging.INFO)


async def healthz(_request: Request) -> PlainTextResponse:
    """Liveness for a load balancer or an orchestrator."""
    return PlainTextResponse("ok\n")


def build_web_app(slack: SlackDoor | None = None, routes: Sequence[BaseRoute] = ()
                  ) -> Starlette:
    """The ASGI app: /healthz, Slack's endpoint behind its front door when Slack is
    configured, and `routes`, e.g. `Route("/api/messages", teams, methods=["POST"])`."""
    return Starlette(routes=[
        Route("/healthz", healthz, methods=["GET"]),
        *([Route("/slack/events", slack, methods=["POST"])] if slack is not None else []),
        *routes,
    ])


def header_deadline_protocol(read_timeout: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a deadline for a request's headers."""

    class HeaderDeadlineH11(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def _arm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            self._deadline = self.loop.call_later(read_timeout, self._headers_overdue)

        def _headers_overdue(self) -> None:
            # Still waiting for a request line and headers (h11's IDLE: none has started
            # since the connection opened or the last response): a slow or silent client.
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            super().connection_lost(exc)

    return HeaderDeadlineH11


def make_server(app: Any, host: str, port: int, read_timeout: float = READ_TIMEOUT
                ) -> uvicorn.Server:
    """uvicorn with the limits above; `port` 0 picks a free port."""
    config = uvicorn.Config(
        app, host=host, port=port, http=header_deadline_protocol(read_timeout),
        loop="asyncio", lifespan="off", access_log=False, log_level="warning",
        timeout_keep_alive=5, limit_concurrency=LIMIT_CONNECTIONS,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN, server_header=False)
    return uvicorn.Server(config)
