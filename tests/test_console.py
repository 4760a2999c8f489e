"""The console twin driven as a person would: a pipe of commands, and a real terminal."""

from __future__ import annotations

import os
import pty
import select
import sys
import time
from pathlib import Path

import pytest

from tests.test_cli_deadlines import ROOT, caseclock


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {"DATABASE_URL": database_url, "HOME": str(tmp_path)}
    for args in (("team", "add", "north", "--policy", "bexley"),
                 ("team", "add", "south", "--policy", "suffolk"),
                 ("staff", "add", "jo", "--team", "north", "--role", "worker", "--slack", "UJO"),
                 ("staff", "add", "priya", "--team", "north", "--role", "manager"),
                 ("staff", "add", "sam", "--team", "south", "--role", "worker")):
        out = caseclock(*args, env=env, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
    return env


def test_staff_directory_add_list_remove_import(env: dict[str, str], tmp_path: Path) -> None:
    listed = caseclock("staff", "list", env=env, cwd=tmp_path).stdout
    assert "jo: worker, team north, Slack UJO" in listed and "priya: manager" in listed
    csv = tmp_path / "staff.csv"
    csv.write_text("name,team,role,slack\nalex,south,worker,UALEX\nmorgan,,service_manager,\n",
                   encoding="utf-8")
    out = caseclock("staff", "import", str(csv), env=env, cwd=tmp_path)
    assert out.returncode == 0 and "Added 2 staff" in out.stdout
    assert caseclock("staff", "remove", "alex", env=env, cwd=tmp_path).returncode == 0
    listed = caseclock("staff", "list", env=env, cwd=tmp_path).stdout
    assert "alex" not in listed and "morgan: service manager, team none" in listed
    dup = caseclock("staff", "add", "jo", "--team", "north", "--role", "worker", env=env,
                    cwd=tmp_path)
    assert dup.returncode == 2 and "already in the directory" in dup.stderr
    bad = caseclock("staff", "add", "kim", "--team", "west", "--role", "worker", env=env,
                    cwd=tmp_path)
    assert bad.returncode == 2 and "there is no team west" in bad.stderr


def test_console_answers_a_piped_script(env: dict[str, str], tmp_path: Path) -> None:
    script = "\n".join([
        "/referral 123456 s47 yesterday 09:00",
        "/seen 123456 alone",
        "# a comment line is ignored",
        "case 123456 authorise",
        "/case 123456",
        "/due",
    ]) + "\n"
    out = caseclock("console", "--as", "jo", env=env, cwd=tmp_path, stdin=script)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "Logged referral received (s47) for 123456 at 09:00 yesterday" in text
    assert "Logged child seen (alone) for 123456" in text
    assert "Nothing was stored: only a manager can authorise" in text
    assert "Case 123456: team north, bexley" in text
    assert "jo>" not in text  # no prompt when the input is not a terminal
    as_sam = caseclock("console", "--as", "sam", env=env, cwd=tmp_path,
                       stdin="/case 123456\n")
    assert "belongs to another team" in as_sam.stdout
    nobody = caseclock("console", "--as", "nobody", env=env, cwd=tmp_path)
    assert nobody.returncode == 2 and "not in the staff directory" in nobody.stderr


def test_console_in_a_terminal_prompts_and_replies(env: dict[str, str], tmp_path: Path) -> None:
    pid, fd = pty.fork()
    if pid == 0:  # the child: caseclock on the pseudo-terminal
        os.chdir(tmp_path)
        os.execve(sys.executable, [sys.executable, "-m", "bot.cli", "console", "--as", "priya"],
                  {**os.environ, **env, "PYTHONPATH": str(ROOT)})
    seen = b""

    def read_until(marker: bytes, timeout: float = 30) -> bytes:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while marker not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(fd, 4096)
                except OSError:
                    break
        assert marker in seen, seen.decode(errors="replace")[-500:]
        return seen

    try:
        read_until(b"priya> ")
        assert b"caseclock console as priya (manager, team north)" in seen
        os.write(fd, b"/referral 654321 s17 yesterday 10:00\n")
        read_until(b"Logged referral received (s17) for 654321")
        os.write(fd, b"/case 654321 authorise\n")
        read_until(b"Met: Assessment completed and authorised")
        os.write(fd, b"quit\n")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        os.close(fd)
