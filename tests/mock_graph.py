"""A mock Microsoft Graph and a mock Entra ID token endpoint on localhost.

`with MockGraph() as graph:` starts two servers:
- the authority, over TLS (azure-identity accepts only https authorities) with a
  certificate from a throw-away CA (`graph.ca_file`: point REQUESTS_CA_BUNDLE at it, as
  azure-identity's requests transport trusts it then): the OpenID configuration msal reads
  (/{tenant}/v2.0/.well-known/openid-configuration) and the client-credentials token
  endpoint (/{tenant}/oauth2/v2.0/token), which checks the client id and secret;
- Graph (`graph.api_url`, plain HTTP on 127.0.0.1, which kiota allows for localhost): every
  request is recorded (method, path, query, headers, JSON or raw body) and refused 401
  without the bearer token the authority issued. sendMail keeps the message in the sender's
  Sent Items, where the extended-property filter of the email transport finds it;
  sendActivityNotification answers 204.

`fail_next(action, status, retry_after=None, after_delivery=False)` makes the next request
to a path ending in `action` answer `status` (with Retry-After), after keeping the message
when `after_delivery` (an ambiguous failure: Exchange took it, the answer was lost).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import secrets
import ssl
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
CLIENT_SECRET = "test-secret"
SENDER = "caseclock@council.gov.uk"


@dataclass
class Request:
    """One request Graph or the authority received."""

    method: str
    path: str  # unquoted, without the query
    query: dict[str, str]
    headers: dict[str, str]
    body: Any  # parsed JSON, the form fields of a token request, or the raw text
    content_type: str = ""


@dataclass
class Fault:
    action: str
    status: int
    retry_after: int | None = None
    after_delivery: bool = False


@dataclass
class SentMessage:
    """A message in the sender's Sent Items."""

    id: str
    message: dict[str, Any]
    sent: str

    def key_property(self, prop_id: str) -> str | None:
        for p in self.message.get("singleValueExtendedProperties") or []:
            if str(p.get("id", "")).lower() == prop_id.lower():
                return str(p.get("value"))
        return None


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate for 127.0.0.1 and localhost signed by it."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "caseclock test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(hours=1))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(
              digital_signature=True, key_cert_sign=True, crl_sign=True,
              content_commitment=False, key_encipherment=False, data_encipherment=False,
              key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca_file, cert_file, key_file


def param(body: Any, name: str) -> Any:
    """An action's parameter: Graph reads their names case-insensitively, and msgraph-sdk
    writes sendMail's as "Message" and "SaveToSentItems"."""
    found = [v for k, v in (body or {}).items() if k.lower() == name.lower()]
    if len(found) != 1:
        raise ValueError(f"{name} is missing or repeated in {sorted(body or {})}")
    return found[0]


KEY_FILTER = re.compile(r"ep/id eq '(?P<id>(?:[^']|'')*)' and ep/value eq '(?P<v>(?:[^']|'')*)'")


class MockGraph:
    """Graph and its authority on localhost; see the module's docstring."""

    def __init__(self) -> None:
        self.requests: list[Request] = []  # Graph's
        self.token_requests: list[Request] = []
        self.sent_items: dict[str, list[SentMessage]] = {}  # by mailbox, lower case
        self.faults: list[Fault] = []
        self.token = "mock-graph-token-" + secrets.token_hex(8)
        self.lock = threading.Lock()
        self._dir = tempfile.TemporaryDirectory(prefix="mock-graph-")
        self.ca_file, cert, key = _certificates(Path(self._dir.name))
        self._graph = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(self._graph_request))
        self._authority = ThreadingHTTPServer(("127.0.0.1", 0),
                                              self._handler(self._authority_request))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._authority.socket = context.wrap_socket(self._authority.socket, server_side=True)
        self.api_url = f"http://127.0.0.1:{self._graph.server_address[1]}/v1.0"
        self.authority = f"127.0.0.1:{self._authority.server_address[1]}"
        self._threads = [threading.Thread(target=s.serve_forever, args=(0.05,), daemon=True)
                         for s in (self._graph, self._authority)]

    def __enter__(self) -> MockGraph:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for s in (self._graph, self._authority):
            s.shutdown()
            s.server_close()
        self._dir.cleanup()

    # --- levers and views ---------------------------------------------------------------

    def fail_next(self, action: str, status: int, retry_after: int | None = None,
                  after_delivery: bool = False) -> None:
        with self.lock:
            self.faults.append(Fault(action, status, retry_after, after_delivery))

    def of(self, action: str, method: str | None = None) -> list[Request]:
        """Graph requests to paths ending in `action` (e.g. "/sendMail", "/messages")."""
        return [r for r in self.requests if r.path.endswith(action)
                and (method is None or r.method == method)]

    def sent(self, mailbox: str = SENDER) -> list[SentMessage]:
        return list(self.sent_items.get(mailbox.lower(), []))

    # --- serving ------------------------------------------------------------------------

    def _handler(self, serve: Any) -> type[BaseHTTPRequestHandler]:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: Any = None,
                        headers: dict[str, str] | None = None) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                if body is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _request(self) -> Request:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8") if length else ""
                ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                body: Any = raw
                if ctype == "application/json" and raw:
                    body = json.loads(raw)
                elif ctype == "application/x-www-form-urlencoded":
                    body = {k: v[0] for k, v in parse_qs(raw).items()}
                parts = urlsplit(self.path)
                return Request(self.command, unquote(parts.path),
                               {k: v[0] for k, v in parse_qs(parts.query).items()},
                               {k.lower(): v for k, v in self.headers.items()}, body, ctype)

            def _serve(self) -> None:
                try:
                    serve(self, self._request())
                except Exception as err:  # a request the mock cannot read: Graph's 400
                    self._answer(400, {"error": {"code": "BadRequest", "message": str(err)}})

            do_GET = do_POST = _serve

        return Handler

    def _authority_request(self, h: Any, req: Request) -> None:
        base = f"https://{self.authority}/{TENANT}"
        if req.path.endswith("/v2.0/.well-known/openid-configuration"):
            h._answer(200, {"issuer": f"{base}/v2.0",
                            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                            "token_endpoint": f"{base}/oauth2/v2.0/token",
                            "token_endpoint_auth_methods_supported": ["client_secret_post"]})
            return
        if req.path == f"/{TENANT}/oauth2/v2.0/token" and req.method == "POST":
            with self.lock:
                self.token_requests.append(req)
            form = req.body if isinstance(req.body, dict) else {}
            if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                h._answer(401, {"error": "invalid_client",
                                "error_description": "AADSTS7000215: Invalid client secret."})
                return
            h._answer(200, {"token_type": "Bearer", "expires_in": 3599,
                            "ext_expires_in": 3599, "access_token": self.token})
            return
        h._answer(404, {"error": "not_found"})

    def _fault(self, path: str) -> Fault | None:
        with self.lock:
            for i, f in enumerate(self.faults):
                if path.endswith(f.action):
                    return self.faults.pop(i)
        return None

    def _graph_request(self, h: Any, req: Request) -> None:
        with self.lock:
            self.requests.append(req)
        if req.headers.get("authorization") != f"Bearer {self.token}":
            h._answer(401, {"error": {"code": "InvalidAuthenticationToken",
                                      "message": "Access token is empty."}})
            return
        fault = self._fault(req.path)
        if fault and not fault.after_delivery:
            self._refuse(h, fault)
            return
        m = re.fullmatch(r"/v1\.0/users/([^/]+)/(.+)", req.path)
        if not m:
            h._answer(404, {"error": {"code": "ResourceNotFound", "message": "no such path"}})
            return
        user, rest = m.group(1).lower(), m.group(2)
        if rest == "sendMail" and req.method == "POST":
            with self.lock:
                box = self.sent_items.setdefault(user, [])
                box.append(SentMessage(f"AAMk{len(box) + 1:04d}", param(req.body, "message"),
                                       dt.datetime.now(dt.UTC).isoformat()))
            if fault:
                self._refuse(h, fault)
                return
            h._answer(202)
            return
        if rest.lower() == "mailfolders/sentitems/messages" and req.method == "GET":
            self._search(h, user, req)
            return
        if rest == "teamwork/sendActivityNotification" and req.method == "POST":
            h._answer(204)
            return
        h._answer(404, {"error": {"code": "ResourceNotFound", "message": "no such path"}})

    def _search(self, h: Any, user: str, req: Request) -> None:
        """Sent Items filtered on an extended property's value (case-insensitive, as
        Graph), each expanded with that property."""
        found = KEY_FILTER.search(req.query.get("$filter", ""))
        if not found:
            h._answer(400, {"error": {"code": "BadRequest", "message": "unsupported filter"}})
            return
        prop, value = found.group("id").replace("''", "'"), found.group("v").replace("''", "'")
        hits = [m for m in self.sent(user) if (m.key_property(prop) or "").lower()
                == value.lower()]
        h._answer(200, {"value": [
            {"id": m.id, "sentDateTime": m.sent,
             "singleValueExtendedProperties": [{"id": prop, "value": m.key_property(prop)}]}
            for m in hits]})

    def _refuse(self, h: Any, fault: Fault) -> None:
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
        codes = {429: "TooManyRequests", 403: "ErrorAccessDenied", 404: "ErrorItemNotFound",
                 503: "ServiceUnavailable", 504: "GatewayTimeout"}
        h._answer(fault.status, {"error": {"code": codes.get(fault.status, "Error"),
                                           "message": "mock failure"}}, headers)
