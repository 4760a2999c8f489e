"""The console twin driven as a person would: a pipe of commands, and a real terminal."""

from __future__ import annotations

import argparse
import io
import json
import os
import pty
import select
import signal
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
    assert "there is no case 123456 in your team" in as_sam.stdout
    nobody = caseclock("console", "--as", "nobody", env=env, cwd=tmp_path)
    assert nobody.returncode == 2 and "not in the staff directory" in nobody.stderr


def test_due_for_someone_not_in_the_directory_and_dates_with_no_such_month(
    env: dict[str, str], tmp_path: Path
) -> None:
    script = ("/due @nobody\n/due nobody\n/due @sam\n/seen 123456 31/13\n"
              "/seen 123456 12/13\n")
    out = caseclock("console", "--as", "jo", env=env, cwd=tmp_path, stdin=script)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert ("nobody is not in the staff directory: type /due @NAME with someone who is, or "
            "/due for your own.") in text
    assert "'nobody' is not a person: type /due @NAME, /due team or /due." in text
    assert "allocate" not in text  # /due allocates nothing
    assert "Nothing overdue or due in the next five working days for sam." in text
    assert ("'31/13' has no month 13: dates are day first, so 21/11 is 21 November; type the "
            "day, then the month.") in text
    assert "13/31" not in text  # there is no 13th day of a 31st month to suggest
    assert "'12/13' has no month 13" in text and "type 13/12 if you meant 13 December" in text


class Terminal:
    """caseclock on a pseudo-terminal, read as a person at that terminal would read it."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: caseclock on the pseudo-terminal
            os.chdir(cwd)
            os.execve(sys.executable, [sys.executable, "-m", "bot.cli", *args],
                      {**os.environ, **env, "PYTHONPATH": str(ROOT)})
        self.seen = b""

    def read_until(self, marker: bytes, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while marker not in self.seen and time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    self.seen += os.read(self.fd, 4096)
                except OSError:
                    break
        assert marker in self.seen, self.seen.decode(errors="replace")[-800:]
        return self.seen.decode(errors="replace")

    def type(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\n")

    def ctrl_c(self) -> None:
        """Ctrl-C as typed: the terminal sends SIGINT to caseclock. After a person's pause:
        a SIGINT in the instant between a prompt and the read that follows it only takes
        effect when the read returns (CPython checks signals when read is interrupted)."""
        time.sleep(1.0)
        os.write(self.fd, b"\x03")

    def read_to_end(self, timeout: float = 30) -> str:
        """Everything shown until caseclock exits (the terminal then reads as closed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                self.seen += chunk
        return self.seen.decode(errors="replace")

    def finish(self, timeout: float = 15) -> int:
        """The exit code; a child still running after `timeout` is killed (and fails the
        test) rather than left waiting at its prompt for input that never comes."""
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    return os.waitstatus_to_exitcode(status)
                time.sleep(0.05)
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            return -signal.SIGKILL
        finally:
            os.close(self.fd)


NOW = "2026-11-30T10:00"  # a Monday morning, four weeks after the referrals below


@pytest.fixture
def reminders_due(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """jo's case 123456 (north) and sam's case 200100 (south), both overdue at NOW."""
    for args in (("123456", "referral_received", "track=s17", "--team", "north", "--at",
                  "2026-11-02T10:00"),
                 ("123456", "allocated", "worker=jo", "--at", "2026-11-02T11:00"),
                 ("200100", "referral_received", "track=s17", "--team", "south", "--at",
                  "2026-11-02T10:00"),
                 ("200100", "allocated", "worker=sam", "--at", "2026-11-02T11:00")):
        out = caseclock("log", *args, env=env, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
    planned = caseclock("notify", "--dry-run", "--json", "--now", NOW, env=env, cwd=tmp_path)
    who = {(r["case"], r["recipient"]) for r in json.loads(planned.stdout)}
    assert {("123456", "jo"), ("200100", "sam"), ("123456", "priya")} <= who
    return env


def test_the_console_shows_my_reminders_as_they_fire_and_nobody_elses(
    reminders_due: dict[str, str], tmp_path: Path
) -> None:
    jo = Terminal(["console", "--as", "jo", "--now", NOW], reminders_due, tmp_path)
    try:
        text = jo.read_until(b"jo> ")
        jo.type("/due")
        text = jo.read_until(b"Due for you:")
        jo.type("quit")
    finally:
        assert jo.finish() == 0
    mine = [line for line in text.splitlines() if line.startswith("[")]
    assert mine and all(line.startswith("[reminder] ") for line in mine), mine
    assert any("123456" in line for line in mine)
    assert "200100" not in text  # sam's (another team's) reminder is not shown to jo
    assert "[escalation]" not in text  # priya's escalation of jo's case is priya's

    # Not shown is not lost: sam's reminder waited in the outbox for sam.
    sam = Terminal(["console", "--as", "sam", "--now", NOW], reminders_due, tmp_path)
    try:
        text = sam.read_until(b"200100")
        sam.type("quit")
    finally:
        assert sam.finish() == 0
    shown = [line for line in text.splitlines() if line.startswith("[")]
    assert shown and not any("123456" in line for line in shown), shown


def test_a_script_gets_reminders_only_when_it_asks(
    reminders_due: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    scripted = caseclock("console", "--as", "jo", "--now", NOW, env=reminders_due,
                         cwd=tmp_path, stdin="/due\n")
    assert scripted.returncode == 0 and "[reminder]" not in scripted.stdout
    # --notify (the same as a terminal's default) through the command's own function.
    from bot.store_commands import cmd_console

    for key, value in reminders_due.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO("/due\n"))
    assert cmd_console(argparse.Namespace(as_="jo", now=NOW, notify=True)) == 0
    out = capsys.readouterr().out
    reminder, _, answer = out.partition("Due for you:")
    assert "[reminder] " in reminder and "123456" in reminder  # before the first answer
    assert "200100" not in out and "2 overdue" in answer


def test_a_first_run_at_a_terminal_asks_before_loading_samples(tmp_path: Path) -> None:
    env = {"DATABASE_URL": "sqlite:///caseclock.db", "HOME": str(tmp_path)}
    no = Terminal(["run"], env, tmp_path)
    try:
        no.read_until(b"Load sample teams, staff and cases to try caseclock? [Y/n]")
        no.type("n")
        text = no.read_until(b"Nothing was loaded")
    finally:
        assert no.finish() == 0
    assert "caseclock team add" in text
    assert caseclock("team", "list", env=env, cwd=tmp_path).stdout.startswith("No teams yet")
    yes = Terminal(["run"], env, tmp_path)
    try:
        yes.read_until(b"[Y/n]")
        yes.type("")  # Enter: the default, yes
        text = yes.read_until(b"jo> ")
        yes.type("quit")
    finally:
        assert yes.finish() == 0
    assert "sample teams, staff" in text and "You are jo (worker, team north-assessment)" in text
    piped = caseclock("run", env={**env, "DATABASE_URL": "sqlite:///fresh.db"}, cwd=tmp_path,
                      stdin="/due\n")  # a script is not asked: it gets the samples
    assert piped.returncode == 0 and "[Y/n]" not in piped.stdout
    assert "sample teams, staff" in piped.stdout


def test_ctrl_c_leaves_the_console_and_the_first_run_question_quietly(
    env: dict[str, str], tmp_path: Path
) -> None:
    jo = Terminal(["console", "--as", "jo"], env, tmp_path)
    try:
        jo.read_until(b"jo> ")
        jo.type("/due")
        jo.read_until(b"for you")
        jo.ctrl_c()
        text = jo.read_to_end()
    finally:
        code = jo.finish()
    assert "caseclock console as jo (worker, team north)" in text and "for you" in text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
    assert code == 130  # as a shell reports Ctrl-C

    fresh = {"DATABASE_URL": "sqlite:///fresh.db", "HOME": str(tmp_path)}
    first = Terminal(["run"], fresh, tmp_path)
    try:
        first.read_until(b"[Y/n]")
        first.ctrl_c()
        text = first.read_to_end()
    finally:
        code = first.finish()
    assert "The store is empty" in text and "Traceback" not in text, text
    assert code == 130
    assert caseclock("team", "list", env=fresh, cwd=tmp_path).stdout.startswith("No teams yet")

    again = Terminal(["run"], fresh, tmp_path)  # then yes, and Ctrl-C at run's own prompt
    try:
        again.read_until(b"[Y/n]")
        again.type("y")
        again.read_until(b"jo> ")
        again.ctrl_c()
        text = again.read_to_end()
    finally:
        code = again.finish()
    assert "You are jo (worker" in text and "Traceback" not in text, text
    assert code == 130


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


@pytest.mark.parametrize(("recipient", "key", "label"), [
    ("staff:jo", "123456:child_visited:1:2026-11-09T00:00:00+00:00:overdue:staff:jo",
     "[reminder]"),
    ("staff:priya", "123456:child_visited:1:2026-11-09T00:00:00+00:00:escalated:staff:priya",
     "[escalation]"),
    ("team:north", "digest:north:2026-11-30:team:north", "[digest] (team channel)"),
    ("staff:admin", "admin_alert:7:staff:admin", "[alert]"),
])
def test_each_notification_says_what_kind_it_is(recipient: str, key: str, label: str) -> None:
    from bot.console import label_of
    from scheduler.reminders.delivery import address_of

    # As the delivery hands it over: an address where the recipient is one.
    assert label_of(address_of(recipient), key) == label


def test_console_opens_cases_only_by_contact_or_referral_and_refuses_a_double_tap(
        env: dict[str, str], tmp_path: Path) -> None:
    script = "\n".join([
        "/referral 123456 s17",
        "/referral 123456 s17",  # a double tap
        "/seen 123456 9999",  # a typo for a time: 9999 is no case
        "/case 777002 close nfa",
        "/referral 123456 s17 again",
    ]) + "\n"
    out = caseclock("console", "--as", "jo", env=env, cwd=tmp_path, stdin=script)
    assert out.returncode == 0, out.stderr
    first, double, typo, unknown, again = [
        line for line in out.stdout.splitlines()
        if line.startswith(("Logged", "Nothing was stored"))]
    assert first.startswith("Logged referral received (s17) for 123456 at ")
    assert "This opened a new case, 123456, in team north." in first
    assert double.startswith("Nothing was stored: 123456 was already referred at ")
    assert double.endswith(" today; add `again` if this is a new referral: "
                           "/referral 123456 s17 again.")
    assert typo == ("Nothing was stored: there is no case 9999 in your team: log its "
                    "referral first, /referral 9999 s17.")
    assert unknown == ("Nothing was stored: there is no case 777002 in your team: log its "
                       "referral first, /referral 777002 s17.")
    assert again.startswith("Logged referral received (s17) for 123456 at ")
    assert "opened a new case" not in again
    shown = caseclock("console", "--as", "jo", env=env, cwd=tmp_path, stdin="/case 777002\n")
    assert "there is no case 777002 in your team" in shown.stdout
