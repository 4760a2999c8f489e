"""Ctrl-C in `caseclock run` connected to Slack in Socket Mode: the process leaves quietly,
as it does from the console (tests/test_console.py), against the mock Slack of the tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.mock_slack import MockSlack
from tests.mock_socket_mode import MockSocketMode
from tests.test_cli_deadlines import ROOT


def test_ctrl_c_in_run_on_socket_mode_leaves_without_a_traceback(tmp_path: Path) -> None:
    with MockSlack() as slack, MockSocketMode() as ws:
        slack.socket_url = ws.url
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
               "HOME": str(tmp_path), "SLACK_BOT_TOKEN": "xoxb-test",
               "SLACK_APP_TOKEN": "xapp-test", "SLACK_API_URL": slack.url}
        env.pop("SLACK_SIGNING_SECRET", None)
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            assert ws.connected.wait(20), "caseclock run never opened the WebSocket"
            ws.send({"type": "hello", "num_connections": 1,
                     "connection_info": {"app_id": "A1"}})
            slack.wait_for("apps.connections.open")
            proc.send_signal(signal.SIGINT)  # what Ctrl-C at its terminal sends
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert first == "caseclock connected to Slack in Socket Mode (no public URL needed).\n"
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert proc.returncode == 130
