"""`caseclock serve` as a real process for the tests that talk to it over HTTP: started on a
port, waited for until /healthz answers, and stopped (terminated, then killed) at the end."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def serve_process(port: int, env: dict[str, str], cwd: Path, log: IO[str],
                  log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`caseclock serve --port PORT --no-scheduler` with `env`, its output in `log`; yields
    once /healthz answers 200 (fails with the server's log if it exits or takes 60 s)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--no-scheduler"],
        env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz",
                                            timeout=2) as resp:
                    assert resp.status == 200
                    break
            except OSError:
                assert server.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "serve never answered /healthz"
                time.sleep(0.2)
        yield server
    finally:
        if server.poll() is None:
            server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
