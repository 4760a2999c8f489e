"""The Teams SDK app (`microsoft-teams-apps`) built from caseclock's settings, and the route
that mounts it on `caseclock serve` at POST /api/messages.

Authentication is the SDK's own: its HttpServer validates every activity's Bearer token
(Bot Framework's signing keys from the OpenID metadata's key set, issuer, audience = our app
id, expiry, and the token's serviceurl claim against the activity's) and answers 401 before
the activity is handed to a handler; a request with no Bearer token at all is refused here
before its body is read. caseclock never switches that off: the app is
built with `dangerously_allow_unauthenticated_requests=False` whatever the environment says
(the SDK would otherwise read DANGEROUSLY_ALLOW_UNAUTHENTICATED_REQUESTS).

Mounting: the SDK asks an HttpServerAdapter to register its endpoint. Instead of its
FastAPIAdapter (a FastAPI app and a uvicorn of its own), `RouteAdapter` below turns the
registration into one Starlette `Route`, which bot/web.py adds beside /slack/events, /healthz
and the calendar feeds, under the one uvicorn with the server's limits (header deadline,
connections). The route adds the body limits the Slack door has: 256 KB and a read timeout.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import warnings
from typing import Any

import httpx
from microsoft_teams.api.auth.cloud_environment import PUBLIC, CloudEnvironment, with_overrides

with warnings.catch_warnings():
    # The SDK announces a preview feature caseclock does not use (HTML widgets) on import;
    # on stderr that would read as a problem with every command.
    warnings.simplefilter("ignore")
    from microsoft_teams.apps import App as SdkApp
from microsoft_teams.apps.http.adapter import HttpMethod, HttpRequest, HttpRouteHandler
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from store.settings import Settings

log = logging.getLogger("caseclock.teams")  # ids and outcomes only, never message text

ENDPOINT = "/api/messages"
MAX_BODY = 256 * 1024  # Teams' activities are at most ~40 KB (a card action's data included)
READ_TIMEOUT = 10.0
TOKEN_MARGIN = 300  # seconds before a token's expiry at which a new one is fetched


def cloud_of(settings: Settings) -> CloudEnvironment:
    """Microsoft's public cloud, with the OpenID metadata URL and the login endpoint replaced
    where the settings say (tests serve both on localhost)."""
    return with_overrides(PUBLIC, openid_metadata_url=settings.teams_openid_metadata_url,
                          login_endpoint=(settings.teams_login_url or "").rstrip("/") or None)


class ClientCredentialsToken:
    """The bot's app-only token by OAuth 2.0 client credentials against TEAMS_LOGIN_URL.

    Used only when TEAMS_LOGIN_URL is set (tests, or a proxy): the SDK's own ClientCredentials
    go through MSAL, which accepts only https authorities it can discover at Microsoft, so a
    local token endpoint cannot be reached that way. Same request as MSAL sends:
    POST {login}/{tenant}/oauth2/v2.0/token, grant_type=client_credentials."""

    def __init__(self, login_url: str, client_id: str, secret: str,
                 default_tenant: str | None) -> None:
        self.login_url = login_url.rstrip("/")
        self.client_id = client_id
        self.secret = secret
        self.default_tenant = default_tenant
        self._cache: dict[tuple[str, str], tuple[str, float]] = {}

    async def get_app_token(self, scope: str, tenant_id: str | None) -> str:
        tenant = tenant_id or self.default_tenant or PUBLIC.login_tenant
        cached = self._cache.get((scope, tenant))
        if cached and cached[1] > time.monotonic():
            return cached[0]
        async with httpx.AsyncClient(timeout=10) as client:
            resp = await client.post(f"{self.login_url}/{tenant}/oauth2/v2.0/token", data={
                "grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self.secret, "scope": scope})
        resp.raise_for_status()
        body = resp.json()
        token = str(body["access_token"])
        life = float(body.get("expires_in", 3600))
        self._cache[(scope, tenant)] = (token, time.monotonic() + max(life - TOKEN_MARGIN, 0))
        return token


class RouteAdapter:
    """The SDK's HttpServerAdapter as Starlette routes for caseclock's own web app."""

    def __init__(self, max_body: int = MAX_BODY, read_timeout: float = READ_TIMEOUT) -> None:
        self.routes: list[Route] = []
        self.max_body = max_body
        self.read_timeout = read_timeout

    def register_route(self, method: HttpMethod, path: str, handler: HttpRouteHandler) -> None:
        async def endpoint(request: Request) -> Response:
            # No token at all: refused before the body is read. With one, the body (at most
            # max_body) is parsed first, as the SDK checks the token's serviceurl claim
            # against the activity's before any handler sees it.
            if not request.headers.get("authorization", "").startswith("Bearer "):
                return JSONResponse({"error": "unauthorized"}, status_code=401)
            length = request.headers.get("content-length", "")
            if length and (not length.isdigit() or int(length) > self.max_body):
                return JSONResponse({"error": "body too large"}, status_code=413)
            try:
                raw = await asyncio.wait_for(self._body(request), self.read_timeout)
            except TimeoutError:
                return JSONResponse({"error": "body did not arrive in time"}, status_code=408)
            except (ClientDisconnect, ValueError):
                return JSONResponse({"error": "body too large"}, status_code=413)
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if not isinstance(body, dict):
                return JSONResponse({"error": "an activity is a JSON object"}, status_code=400)
            # The SDK validates the Authorization header before it reads the activity.
            result = await handler(HttpRequest(body=body, headers=dict(request.headers)))
            if result.get("body") is not None:
                return JSONResponse(result["body"], status_code=result["status"])
            return Response(status_code=result["status"])

        self.routes.append(Route(path, endpoint, methods=[method]))

    async def _body(self, request: Request) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body:  # a chunked body: refused while it streams
                raise ValueError("too large")
            chunks.append(chunk)
        return b"".join(chunks)

    def serve_static(self, path: str, directory: str) -> None:
        raise NotImplementedError("caseclock serves no static files for Teams")

    async def start(self, port: int) -> None:
        raise NotImplementedError("`caseclock serve` runs the server")

    async def stop(self) -> None:
        return None


def build_sdk_app(settings: Settings, adapter: RouteAdapter | None = None) -> SdkApp:
    """The SDK app for TEAMS_APP_ID, with no handlers (receiving.py adds them)."""
    if not settings.teams_app_id or not settings.teams_app_password:
        raise ValueError("Teams is not configured: set TEAMS_APP_ID and TEAMS_APP_PASSWORD")
    options: dict[str, Any] = {}
    if settings.teams_login_url:
        options["token"] = ClientCredentialsToken(settings.teams_login_url, settings.teams_app_id,
                                                  settings.teams_app_password,
                                                  settings.teams_tenant_id)
    else:
        options["client_secret"] = settings.teams_app_password
    # Explicit options win over the SDK's own environment variables (CLIENT_ID, CLOUD, ...),
    # except CLIENT_SECRET beside a token provider: tests must not set it.
    return SdkApp(client_id=settings.teams_app_id, tenant_id=settings.teams_tenant_id,
                  cloud=cloud_of(settings), http_server_adapter=adapter or RouteAdapter(),
                  messaging_endpoint=ENDPOINT,
                  dangerously_allow_unauthenticated_requests=False, **options)
