"""The HTTP front door of `caseclock serve`, through the real entry point: the server as a
process, a mock Slack Web API on localhost, raw sockets for what a hostile client sends.

One server serves the whole module (starting it costs seconds); each test uses its own
case references and delivery ids, so the tests do not see each other's work.
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.app import build_app
from store import repo
from store.settings import Settings
from tests.mock_slack import MockSlack
from tests.serve_process import serve_process
from tests.test_slack import SECRET, sign

ROOT = Path(__file__).resolve().parents[1]
READ_TIMEOUT = 10  # the server's default, which these tests hold it to


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    """`caseclock serve` running as its own process."""

    port: int
    slack: MockSlack
    database_url: str
    log_path: Path
    pid: int
    n: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def events(self, case: str) -> int:
        app = build_app(Settings(database_url=self.database_url))
        with app.casebook.sessions() as s:
            row = repo.get_case(s, case)
            return len(repo.case_event_rows(s, row)) if row is not None else 0

    def command(self, text: str, trigger: str | None = None, key: str | None = None
                ) -> tuple[str, str]:
        """A signed /referral's body, and the response_url key its reply lands on."""
        self.n += 1
        key = key or f"w{self.n}-{time.time_ns()}"
        return urlencode({
            "token": "x", "team_id": "T1", "channel_id": "D1", "user_id": "UJO",
            "command": "/referral", "text": text, "response_url": self.slack.response_url(key),
            "trigger_id": trigger or f"trig-web-{self.n}-{time.time_ns()}"}), key

    def post(self, body: bytes | str, content_type: str = "application/x-www-form-urlencoded",
             ts: str | None = None, signature: str | None = None) -> int:
        raw = body.encode() if isinstance(body, str) else body
        ts = ts if ts is not None else str(int(time.time()))
        if signature is None:
            signature = sign(raw.decode("latin-1"), int(ts)) if ts.isdigit() else "v0=00"
        req = urllib.request.Request(self.base + "/slack/events", data=raw, headers={
            "Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature})
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as err:
            return err.code

    def replies(self, key: str) -> list[dict[str, Any]]:
        return [c.body for c in self.slack.of("response_url") if c.path.endswith("/" + key)]

    def wait_reply(self, key: str, timeout: float = 15) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.replies(key)
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError("no reply on the response_url")


def sign_bytes(body: bytes, ts: int) -> str:
    import hashlib
    import hmac

    return "v0=" + hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + body,
                            hashlib.sha256).hexdigest()


@contextmanager
def serve(tmp: Path) -> Iterator[Served]:
    """`caseclock serve` on a fresh SQLite store with one team and one worker, until exit."""
    url = f"sqlite:///{tmp / 'caseclock.db'}"
    app = build_app(Settings(database_url=url))
    app.casebook.add_team("north", "bexley", slack_channel="CNORTH")
    app.directory.add("jo", "worker", "north", "UJO")
    port = free_port()
    log_path = tmp / "serve.log"
    with MockSlack() as slack, log_path.open("w") as log_file:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
        env.update(DATABASE_URL=url, SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SECRET,
                   SLACK_API_URL=slack.url, PYTHONPATH=str(ROOT), HOME=str(tmp))
        with serve_process(port, env, tmp, log_file, log_path) as server:
            yield Served(port, slack, url, log_path, server.pid)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("serve")) as rig:
        yield rig


def worker_of(pid: int) -> int:
    """The worker process `caseclock serve` started (multiprocessing's resource tracker is
    a child too)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    workers = [int(c) for c in children
               if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
    assert len(workers) == 1, children
    return workers[0]


def gone(pid: int, timeout: float) -> bool:
    """True once process `pid` has exited (or is a zombie) within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z"):
                return True
        except (FileNotFoundError, IndexError):
            return True
        time.sleep(0.1)
    return False


def raw_request(port: int, head: bytes, body: bytes = b"", timeout: float = 15) -> bytes:
    """Send `head` and `body` on a fresh connection; whatever comes back until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head + body)
        return read_until_closed(s, timeout)


def read_until_closed(s: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection (bounded by `timeout`)."""
    s.settimeout(timeout)
    got = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        except TimeoutError:
            raise AssertionError(f"still open after {timeout} s; got {got[:80]!r}") from None
        if not chunk:
            break
        got += chunk
    return got


def test_a_huge_forged_body_is_refused_413_before_it_is_read(served: Served) -> None:
    """300 MB announced, a forged signature, and only 64 KB of it sent: the answer comes at
    once, without waiting for (or holding) the rest."""
    ts = int(time.time())
    head = (f"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: {300 * 1024 * 1024}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"X-Slack-Request-Timestamp: {ts}\r\nX-Slack-Signature: v0={'0' * 64}\r\n\r\n"
            ).encode()
    started = time.monotonic()
    answer = raw_request(served.port, head, b"a" * 65536, timeout=5)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:100]
    assert time.monotonic() - started < 3
    # ...and a signed command just under the limit is still served.
    body, key = served.command("600001 s17")
    padded = body + "&pad=" + "x" * (250 * 1024 - len(body))
    assert served.post(padded) == 200
    assert served.wait_reply(key)["text"].startswith("Logged referral received (s17) for 600001")


def test_a_chunked_body_is_refused_once_it_passes_256_kb(served: Served) -> None:
    """No Content-Length: the server counts as the body streams and stops at the limit."""
    ts = int(time.time())
    head = ("POST /slack/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"X-Slack-Request-Timestamp: {ts}\r\nX-Slack-Signature: v0={'0' * 64}\r\n\r\n"
            ).encode()
    chunk = b"a" * 65536
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as s:
        s.sendall(head)
        answer = b""
        for _ in range(5):  # 320 KB, then stop sending but keep the connection open
            s.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        answer = read_until_closed(s, 5)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:100]


def test_half_sent_requests_are_closed_within_the_read_timeout(served: Served) -> None:
    """Headers cut short, and a body cut short: both connections are closed by the server
    within the 10 s read timeout (plus slack), not held open."""
    ts = int(time.time())
    partial_head = b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Ty"
    body, _ = served.command("600002 s17")
    full_head = (f"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
                 "Content-Type: application/x-www-form-urlencoded\r\n"
                 f"X-Slack-Request-Timestamp: {ts}\r\nX-Slack-Signature: {sign(body, ts)}\r\n"
                 "\r\n").encode()
    a = socket.create_connection(("127.0.0.1", served.port), timeout=5)
    b = socket.create_connection(("127.0.0.1", served.port), timeout=5)
    try:
        started = time.monotonic()
        a.sendall(partial_head)
        b.sendall(full_head + body[:20].encode())
        got_a = read_until_closed(a, READ_TIMEOUT + 5)
        got_b = read_until_closed(b, READ_TIMEOUT + 5)
        assert time.monotonic() - started < READ_TIMEOUT + 5
    finally:
        a.close()
        b.close()
    assert got_a == b""  # no request began: the connection is simply closed
    assert got_b.startswith(b"HTTP/1.1 408 "), got_b[:100]
    assert served.events("600002") == 0
    assert "refused: 408 the body did not arrive in time" in served.log()


def test_a_command_is_acknowledged_at_once_while_500_idle_connections_are_held(
    served: Served
) -> None:
    held: list[socket.socket] = []
    try:
        for i in range(500):
            s = socket.create_connection(("127.0.0.1", served.port), timeout=5)
            if i % 2:  # half of them begin a request and stop
                s.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\n")
            held.append(s)
        body, key = served.command("600003 s47")
        started = time.monotonic()
        assert served.post(body) == 200
        assert time.monotonic() - started < 1
        assert served.wait_reply(key)["text"].startswith(
            "Logged referral received (s47) for 600003")
        # The held connections do not stay: each is closed by the read timeout.
        deadline = time.monotonic() + READ_TIMEOUT + 10
        for s in held:
            s.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                assert s.recv(1024) == b""
            except ConnectionResetError:
                pass
            except TimeoutError:
                raise AssertionError("a held connection outlived the read timeout") from None
    finally:
        for s in held:
            s.close()


@pytest.mark.parametrize(("what", "body", "content_type", "ts", "status", "reason"), [
    ("a timestamp that is not a number", b"command=%2Freferral&text=600004",
     "application/x-www-form-urlencoded", "yesterday", 401, "no valid X-Slack-Request-Timestamp"),
    ("a body that is not UTF-8", b"command=%2Freferral&text=\xff\xfe600004",
     "application/x-www-form-urlencoded", None, 400, "the body is not UTF-8"),
    ("a payload that is not a JSON object", b"payload=%5B1%2C2%5D",
     "application/x-www-form-urlencoded", None, 400, "the payload is not a JSON object"),
    ("a payload that is not JSON", b"payload=%7Bnot-json",
     "application/x-www-form-urlencoded", None, 400, "the payload is not JSON"),
    ("a JSON content type with a body that is not JSON", b"command=/referral",
     "application/json", None, 400, "the body is not JSON"),
])
def test_a_malformed_signed_request_is_a_4xx_with_one_short_log_line(
    served: Served, what: str, body: bytes, content_type: str, ts: str | None, status: int,
    reason: str
) -> None:
    before = served.log()
    stamp = ts or str(int(time.time()))
    signature = sign_bytes(body, int(stamp)) if stamp.isdigit() else "v0=" + "0" * 64
    assert served.post(body, content_type=content_type, ts=stamp, signature=signature) == (
        status), what
    time.sleep(0.3)
    new = served.log()[len(before):]
    assert new.strip().splitlines() == [f"INFO caseclock.web: slack request refused: "
                                        f"{status} {reason}"], new
    assert "Traceback" not in served.log()


@pytest.mark.parametrize(("what", "ts", "signature", "status", "reason"), [
    # str.isdigit() takes these; int() refuses the first and reads the second.
    ("a superscript digit as the timestamp", "\u00b2", "v0=" + "0" * 64, 401,
     "no valid X-Slack-Request-Timestamp"),
    ("superscript digits as the timestamp", "\u00b9\u00b2\u00b3", "v0=" + "0" * 64, 401,
     "no valid X-Slack-Request-Timestamp"),
    # hmac.compare_digest refuses a str with characters beyond ASCII.
    ("a signature with a character beyond ASCII", None, "v0=\u00e9", 401,
     "bad or stale signature"),
])
def test_forged_headers_beyond_ascii_are_a_401_not_a_traceback(
    served: Served, what: str, ts: str | None, signature: str, status: int, reason: str
) -> None:
    before = served.log()
    assert served.post(b"command=%2Freferral&text=600006", ts=ts, signature=signature) == (
        status), what
    time.sleep(0.3)
    new = served.log()[len(before):]
    assert new.strip().splitlines() == [f"INFO caseclock.web: slack request refused: "
                                        f"{status} {reason}"], new
    assert "Traceback" not in served.log()
    assert served.events("600006") == 0


def test_a_content_length_of_superscript_digits_is_a_413_not_a_traceback(
        served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as conn:
        conn.sendall("POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: \u00b2\r\n"
                     "\r\n".encode("latin-1"))
        answer = conn.recv(4096)
    assert answer.split(b"\r\n", 1)[0].split()[1] in (b"400", b"413"), answer
    assert "Traceback" not in served.log()


def test_a_replayed_signed_command_is_answered_and_stored_once(served: Served) -> None:
    """The same signed body five times within the 5-minute window, no retry header."""
    body, key = served.command("600005 s47", trigger="trig-web-replay")
    assert [served.post(body) for _ in range(5)] == [200] * 5
    assert served.wait_reply(key)["text"].startswith("Logged referral received (s47) for 600005")
    time.sleep(1.5)  # a second reply would come within this
    assert len(served.replies(key)) == 1
    assert served.events("600005") == 1


def test_a_replayed_event_is_not_handled_again(served: Served) -> None:
    event = json.dumps({"type": "event_callback", "team_id": "T1", "event_id": "EvWebReplay",
                        "event": {"type": "app_home_opened", "user": "UJO", "tab": "home"}})
    assert [served.post(event, content_type="application/json") for _ in range(3)] == [200] * 3
    served.slack.wait_for("views.publish")
    time.sleep(1.0)
    assert len([c for c in served.slack.of("views.publish")
                if c.body["user_id"] == "UJO"]) == 1


def test_if_the_worker_process_dies_the_next_command_is_still_answered(served: Served) -> None:
    """Bolt and the command work run in a worker process; killed, it is started again."""
    import signal

    os.kill(worker_of(served.pid), signal.SIGKILL)
    time.sleep(0.5)
    body, key = served.command("600006 s17")
    assert served.post(body) == 200
    assert served.wait_reply(key, timeout=60)["text"].startswith(
        "Logged referral received (s17) for 600006")
    assert served.events("600006") == 1
    assert "the Slack worker process stopped: starting another" in served.log()
    assert "Traceback" not in served.log(), served.log()


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGKILL"])
def test_stopping_the_server_stops_its_worker_process(tmp_path: Path, stop: str) -> None:
    """SIGTERM (a service manager's stop): the server finishes, closes its worker, exits 0.
    SIGKILL: the worker notices its server is gone and exits too. Nothing is left running."""
    import signal

    with serve(tmp_path) as rig:
        body, key = rig.command("600007 s17")
        assert rig.post(body) == 200
        rig.wait_reply(key)
        worker = worker_of(rig.pid)
        os.kill(rig.pid, getattr(signal, stop))
        assert gone(rig.pid, 20), "the server did not stop"
        assert gone(worker, 10), "the worker process outlived its server"
    if stop == "SIGTERM":
        assert "Traceback" not in rig.log(), rig.log()
