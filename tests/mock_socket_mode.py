"""A minimal Slack Socket Mode endpoint on localhost: an RFC 6455 WebSocket server.

Enough of the protocol for slack_sdk's built-in client: the opening handshake (with the
Sec-WebSocket-Accept it checks), unmasked text frames to the client, masked frames from it,
pongs to its pings, and a close. Every JSON text the client sends is kept in `received`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import struct
import threading
import time
from typing import Any

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


def frame(opcode: int, data: bytes) -> bytes:
    """One final, unmasked frame (a server never masks)."""
    n = len(data)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + data


class MockSocketMode:
    """`with MockSocketMode() as ws:`; point apps.connections.open at `ws.url`."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.url = f"ws://127.0.0.1:{self.listener.getsockname()[1]}/link"
        self.received: list[dict[str, Any]] = []
        self.connected = threading.Event()
        self.paths: list[str] = []
        self._conn: socket.socket | None = None
        self._cond = threading.Condition()
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(0.2)
            try:
                self._handshake(conn)
            except (OSError, ValueError):
                conn.close()
                continue
            self._conn = conn
            self.connected.set()
            self._read_frames(conn)

    def _recv_exact(self, conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            if self._stop.is_set():
                raise ConnectionError("stopping")
            try:
                chunk = conn.recv(n - len(data))
            except TimeoutError:
                continue
            if not chunk:
                raise ConnectionError("closed by the client")
            data += chunk
        return data

    def _handshake(self, conn: socket.socket) -> None:
        request = b""
        while not request.endswith(b"\r\n\r\n"):
            request += self._recv_exact(conn, 1)
        lines = request.decode().split("\r\n")
        self.paths.append(lines[0].split(" ")[1])
        headers = {k.strip().lower(): v.strip()
                   for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        key = headers["sec-websocket-key"]
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").encode())

    def _read_frames(self, conn: socket.socket) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while not self._stop.is_set():
                b1, b2 = self._recv_exact(conn, 2)
                opcode, n = b1 & 0x0F, b2 & 0x7F
                if n == 126:
                    (n,) = struct.unpack("!H", self._recv_exact(conn, 2))
                elif n == 127:
                    (n,) = struct.unpack("!Q", self._recv_exact(conn, 8))
                mask = self._recv_exact(conn, 4) if b2 & 0x80 else b"\0\0\0\0"
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(self._recv_exact(conn, n)))
                if opcode == PING:
                    self._send(PONG, data)
                elif opcode == TEXT:
                    with self._cond:
                        self.received.append(json.loads(data.decode()))
                        self._cond.notify_all()
                elif opcode == CLOSE:
                    self._send(CLOSE, data[:2])
                    break
        conn.close()

    def _send(self, opcode: int, data: bytes) -> None:
        with self._send_lock:
            if self._conn is not None:
                self._conn.sendall(frame(opcode, data))

    def send(self, message: dict[str, Any]) -> None:
        """Send one JSON message to the connected client as a text frame."""
        assert self.connected.wait(5), "the client never connected"
        self._send(TEXT, json.dumps(message).encode())

    def wait_for_ack(self, envelope_id: str, timeout: float) -> dict[str, Any]:
        """The client's first message acknowledging `envelope_id`, within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m in self.received:
                    if m.get("envelope_id") == envelope_id:
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no ack for {envelope_id} within {timeout} s "
                                         f"(received {self.received})")
                self._cond.wait(left)

    def acks(self, envelope_id: str) -> int:
        with self._cond:
            return sum(1 for m in self.received if m.get("envelope_id") == envelope_id)

    def __enter__(self) -> MockSocketMode:
        self._thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._send(CLOSE, struct.pack("!H", 1000))
        self._thread.join(5)
        self.listener.close()
        assert not self._thread.is_alive(), "the WebSocket server did not stop"
