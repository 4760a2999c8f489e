"""A mock of Microsoft's side of a Teams bot on localhost, for tests.

- Bot Framework's OpenID metadata and key set (GET /v1/.well-known/openidconfiguration and
  /v1/.well-known/keys), publishing an RSA key the tests generate; `mint()` signs activity
  tokens with it as the Bot Connector would (issuer, audience, expiry, serviceurl), or with
  another key (a forgery), or with claims changed (expired, another audience).
- The bot's token endpoint (POST /{tenant}/oauth2/v2.0/token, client credentials).
- The Bot Connector (POST /v3/conversations/{id}/activities, PUT .../activities/{id}):
  records every activity with its exact path, JSON body and headers, answers {"id": ...};
  `fail_next(status, retry_after)` answers the next post with an error instead (a 429 with
  Retry-After, a 503, a 403), without recording it as delivered.
- Opt-in, `MockBotConnector(app_id, limits=TeamsLimits(...))`: Teams' rate limits enforced
  on new activities (POST), answered 429 with Retry-After as Teams does: at most
  `per_conversation` in any rolling `conversation_window` seconds to one conversation (about
  7 a second), at most `app_per_second` a rolling second over all conversations (Microsoft's
  global limit per app per tenant, 50), and at most `hourly` in a rolling `hour` (1,800; the
  hour can be scaled down by a benchmark, and counted per conversation as Microsoft
  documents it, or over the whole app as caseclock's own cap counts it). Only accepted
  activities count. Without `limits` nothing is enforced, as before.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

ISSUER = "https://api.botframework.com"
KID = "caseclock-test-key"
METADATA_PATH = "/v1/.well-known/openidconfiguration"
KEYS_PATH = "/v1/.well-known/keys"


def new_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Posted:
    """One request the connector received."""

    method: str
    path: str  # URL-decoded
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    at: float = 0.0  # time.monotonic() when it was taken


@dataclass(frozen=True)
class TeamsLimits:
    """Teams' limits on a bot's sends (None: not enforced)."""

    per_conversation: int = 7
    conversation_window: float = 1.0
    app_per_second: int | None = 50
    hourly: int | None = 1800
    hour: float = 3600.0
    hourly_per_conversation: bool = True  # Microsoft's docs: per bot per thread


class RateLimiter:
    """Rolling windows of accepted sends: `refuse(conversation)` is None for a send Teams
    takes (and counts it), else the Retry-After in whole seconds and the limit hit."""

    def __init__(self, limits: TeamsLimits) -> None:
        self.limits = limits
        self.conversations: defaultdict[str, deque[float]] = defaultdict(deque)
        self.app: deque[float] = deque()  # the last second, all conversations
        self.second: deque[float] = deque()  # the same, counted for the peak only
        self.hours: defaultdict[str, deque[float]] = defaultdict(deque)
        self.refused: Counter[str] = Counter()
        self.peak_app_per_second = 0

    @staticmethod
    def _full(times: deque[float], now: float, window: float, cap: int) -> float | None:
        while times and times[0] <= now - window:
            times.popleft()
        return times[0] + window - now if len(times) >= cap else None

    def refuse(self, conversation: str, now: float) -> tuple[int, str] | None:
        lim = self.limits
        hour_key = conversation if lim.hourly_per_conversation else "*"
        checks = [("conversation", self.conversations[conversation],
                   lim.conversation_window, lim.per_conversation)]
        if lim.app_per_second is not None:
            checks.append(("app", self.app, 1.0, lim.app_per_second))
        if lim.hourly is not None:
            checks.append(("hour", self.hours[hour_key], lim.hour, lim.hourly))
        for name, times, window, cap in checks:
            wait = self._full(times, now, window, cap)
            if wait is not None:
                self.refused[name] += 1
                return max(1, math.ceil(wait)), name
        for _name, times, _window, _cap in checks:
            times.append(now)
        self.second.append(now)
        while self.second[0] <= now - 1.0:
            self.second.popleft()
        self.peak_app_per_second = max(self.peak_app_per_second, len(self.second))
        return None


class MockBotConnector:
    """`with MockBotConnector(app_id) as mock:`; `mock.url` is the base of everything."""

    def __init__(self, app_id: str, limits: TeamsLimits | None = None) -> None:
        self.app_id = app_id
        self.limiter = RateLimiter(limits) if limits is not None else None
        self.key = new_key()
        self.posted: list[Posted] = []
        self.token_requests: list[dict[str, list[str]]] = []
        self.failures: list[tuple[int, float | None]] = []
        self.key_fetches = 0
        self._lock = threading.Lock()
        self._n = 0
        mock = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def _json(self, status: int, body: Any, headers: dict[str, str] | None = None
                      ) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                if self.path == METADATA_PATH:
                    self._json(200, {"issuer": ISSUER, "jwks_uri": mock.url + KEYS_PATH,
                                     "id_token_signing_alg_values_supported": ["RS256"]})
                elif self.path == KEYS_PATH:
                    with mock._lock:
                        mock.key_fetches += 1
                    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(mock.key.public_key()))
                    jwk.update(kid=KID, use="sig", alg="RS256", endorsements=["msteams"])
                    self._json(200, {"keys": [jwk]})
                else:
                    self._json(404, {"error": "not found"})

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_POST(self) -> None:
                raw = self._body()
                if self.path.endswith("/oauth2/v2.0/token"):
                    form = parse_qs(raw.decode())
                    with mock._lock:
                        mock.token_requests.append(form)
                    token = jwt.encode({"aud": "https://api.botframework.com",
                                        "appid": mock.app_id, "exp": int(time.time()) + 3600},
                                       "connector-side-secret-of-at-least-32-bytes",
                                       algorithm="HS256")
                    self._json(200, {"token_type": "Bearer", "expires_in": 3600,
                                     "access_token": token})
                    return
                self._activity("POST", raw)

            def do_PUT(self) -> None:
                self._activity("PUT", self._body())

            def _activity(self, method: str, raw: bytes) -> None:
                path = unquote(self.path)
                if "/v3/conversations/" not in path:
                    self._json(404, {"error": "not found"})
                    return
                with mock._lock:
                    failure = mock.failures.pop(0) if mock.failures else None
                    if failure is None and mock.limiter is not None and method == "POST":
                        conversation = path.split("/v3/conversations/")[1].split("/")[0]
                        refused = mock.limiter.refuse(conversation, time.monotonic())
                        if refused is not None:
                            failure = (429, refused[0])
                    if failure is None:
                        mock._n += 1
                        mock.posted.append(Posted(method, path, json.loads(raw or b"{}"),
                                                  dict(self.headers.items()),
                                                  time.monotonic()))
                        n = mock._n
                if failure is not None:
                    status, after = failure
                    headers = {"Retry-After": str(int(after))} if after is not None else {}
                    self._json(status, {"error": {"code": str(status)}}, headers)
                    return
                self._json(200 if method == "PUT" else 201, {"id": f"activity-{n}"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> MockBotConnector:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def metadata_url(self) -> str:
        return self.url + METADATA_PATH

    @property
    def service_url(self) -> str:
        """The serviceUrl activities carry (Teams' end with a slash)."""
        return self.url + "/teams/"

    def fail_next(self, status: int, retry_after: float | None = None) -> None:
        with self._lock:
            self.failures.append((status, retry_after))

    @property
    def rate_limited(self) -> int:
        """429s answered for the enforced limits."""
        with self._lock:
            return sum(self.limiter.refused.values()) if self.limiter else 0

    def delivered_keys(self) -> list[str]:
        """The outbox key (channelData.caseclockKey) of every new activity taken."""
        return [str((p.body.get("channelData") or {}).get("caseclockKey"))
                for p in self.activities() if p.method == "POST"]

    def activities(self) -> list[Posted]:
        with self._lock:
            return list(self.posted)

    def wait_for(self, n: int, timeout: float = 15) -> list[Posted]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.activities()
            if len(found) >= n:
                return found
            time.sleep(0.05)
        raise AssertionError(f"the connector got {len(self.activities())} activities, not {n}")

    def mint(self, key: RSAPrivateKey | None = None, kid: str = KID, **claims: Any) -> str:
        """A token as the Bot Connector signs an activity to our app; `claims` override
        (exp=..., aud=...), and `key` signs with another key (a forgery)."""
        now = int(time.time())
        payload: dict[str, Any] = {"iss": ISSUER, "aud": self.app_id, "iat": now - 10,
                                   "nbf": now - 10, "exp": now + 600,
                                   "serviceurl": self.service_url}
        payload.update(claims)
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": kid})
