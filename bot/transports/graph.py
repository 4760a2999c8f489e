"""Microsoft Graph for the transports (Outlook email, Teams activity feed): msgraph-sdk's
client with the app's client credentials (azure-identity's ClientSecretCredential), callable
from the outbox's worker threads.

Three choices, each checked against the installed sources:
- No retries inside the SDK. msgraph-sdk's default middleware (kiota_http's
  `KiotaClientFactory.get_default_middleware`) includes a `RetryHandler` that retries 429,
  503 and 504 for every method, POST included (`RetryHandler.DEFAULT_ALLOWED_METHODS`): a
  sendMail answered 504 after Exchange had accepted it would go twice. The client is built
  from that default list without the `RetryHandler`; the outbox retries instead, honouring
  Retry-After, and checks the Sent Items before a retry that follows an ambiguous failure.
- The base URL (`GRAPH_API_URL`) is the request adapter's `base_url`; the authority host
  (`GRAPH_AUTHORITY`) is the credential's `authority`. azure-identity accepts only https
  authorities (`normalize_authority`); for a host other than Entra ID's own, instance
  discovery is turned off (`disable_instance_discovery`), as msal would otherwise ask
  login.microsoftonline.com whether the host is known.
- msgraph-sdk is asynchronous (httpx) and the outbox is threads: the client runs on an event
  loop of its own, in one daemon thread, and callers wait for their call with a bound.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import urlparse

from store.settings import Settings

T = TypeVar("T")

SCOPE = "https://graph.microsoft.com/.default"  # application permissions, as consented
DEFAULT_AUTHORITY = "login.microsoftonline.com"
CONNECT_SECONDS = 5.0
READ_SECONDS = 20.0  # httpx's read, write and pool timeouts for one Graph request
TOKEN_RETRIES = 1  # azure-core retries a token request (idempotent) once; its default is 10
# The longest one call can take: a token (connect and read, twice, with azure-core's back-off)
# and one request (connect, write, read). The outbox's claim lease must be longer (2 min).
CALL_SECONDS = (CONNECT_SECONDS + READ_SECONDS) * (1 + TOKEN_RETRIES) + 1 + (
    CONNECT_SECONDS + 2 * READ_SECONDS)


class Graph:
    """One app registration's Graph client and the loop it runs on."""

    def __init__(self, settings: Settings) -> None:
        import httpx
        from azure.identity import ClientSecretCredential
        from kiota_authentication_azure.azure_identity_authentication_provider import (
            AzureIdentityAuthenticationProvider,
        )
        from kiota_http.kiota_client_factory import KiotaClientFactory
        from kiota_http.middleware import RetryHandler
        from msgraph.graph_request_adapter import GraphRequestAdapter
        from msgraph.graph_request_adapter import options as graph_options
        from msgraph.graph_service_client import GraphServiceClient
        from msgraph_core import GraphClientFactory
        from msgraph_core.middleware import GraphTelemetryHandler
        from msgraph_core.middleware.options import GraphTelemetryHandlerOption

        assert settings.graph_tenant_id and settings.graph_client_id
        assert settings.graph_client_secret
        authority = settings.graph_authority.strip().rstrip("/") or DEFAULT_AUTHORITY
        self.credential = ClientSecretCredential(
            settings.graph_tenant_id, settings.graph_client_id, settings.graph_client_secret,
            authority=authority,
            disable_instance_discovery=urlparse(
                authority if "//" in authority else f"https://{authority}"
            ).hostname != DEFAULT_AUTHORITY,
            connection_timeout=CONNECT_SECONDS, read_timeout=READ_SECONDS,
            retry_total=TOKEN_RETRIES)
        self.base_url = settings.graph_api_url.rstrip("/")
        middleware = [m for m in KiotaClientFactory.get_default_middleware(graph_options)
                      if not isinstance(m, RetryHandler)]
        telemetry = graph_options.get(GraphTelemetryHandlerOption.get_key())
        middleware.append(GraphTelemetryHandler(options=telemetry))  # as the SDK's default
        self.http = GraphClientFactory.create_with_custom_middleware(
            middleware, client=httpx.AsyncClient(
                base_url=self.base_url,
                timeout=httpx.Timeout(READ_SECONDS, connect=CONNECT_SECONDS)))
        # The token goes to Graph's host only (not to a link a response might carry).
        auth = AzureIdentityAuthenticationProvider(
            self.credential, scopes=[SCOPE],
            allowed_hosts=[urlparse(self.base_url).hostname or ""])
        adapter = GraphRequestAdapter(auth, client=self.http)
        adapter.base_url = self.base_url  # httpx adds a "/" that would double in the paths
        self.client = GraphServiceClient(request_adapter=adapter)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="caseclock-graph",
                                       daemon=True)
        self.thread.start()

    def run(self, call: Coroutine[Any, Any, T], timeout: float = CALL_SECONDS) -> T:
        """Run one Graph call on the client's loop and wait for it (at most `timeout`:
        then it is cancelled and TimeoutError raised; it may have reached Graph)."""
        future = asyncio.run_coroutine_threadsafe(call, self.loop)
        try:
            return future.result(timeout=timeout)
        except TimeoutError:
            future.cancel()
            raise

    def close(self) -> None:
        """Close the connections and stop the loop (tests; a server keeps it to the end)."""
        if self.loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self.http.aclose(), self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()
        self.credential.close()


def status_of(err: BaseException) -> int | None:
    """The HTTP status of a Graph error (kiota's APIError), or None for anything else."""
    code = getattr(err, "response_status_code", None)
    return int(code) if isinstance(code, int) else None


def retry_after(err: BaseException) -> float | None:
    """Seconds from a Graph error's Retry-After header (delta-seconds), or None."""
    headers = getattr(err, "response_headers", None) or {}
    value: Any = None
    try:
        value = headers.get("retry-after") or headers.get("Retry-After")
    except AttributeError:
        return None
    if isinstance(value, list | tuple | set):
        value = next(iter(value), None)
    try:
        return max(0.0, float(str(value))) if value is not None else None
    except ValueError:
        return None
