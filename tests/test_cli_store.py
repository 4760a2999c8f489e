"""`team`, `log`, `case` and `run` driven as a shell user would, on a database of their own."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from store import repo
from store.db import open_database
from tests.test_cli_deadlines import caseclock


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "HOME": str(tmp_path)}


def recent(days: float) -> str:
    """An ISO instant `days` ago (the CLI refuses the future, so tests log the past)."""
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="minutes")


def test_team_log_and_case_json(env: dict[str, str], tmp_path: Path) -> None:
    assert caseclock("team", "add", "north", "--policy", "bexley", env=env,
                     cwd=tmp_path).returncode == 0
    out = caseclock("log", "123456", "referral_received", "track=s47", "--at", recent(3),
                    env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Logged referral received for 123456")
    assert "New: Case allocated within 24 hours" in out.stdout and "Next:" in out.stdout
    seen = caseclock("log", "123456", "child_seen", "alone=yes", "--at", recent(2),
                     env=env, cwd=tmp_path)
    assert seen.returncode == 0, seen.stderr
    assert "Met: Child visited no later than 5 days" in seen.stdout
    case = caseclock("case", "123456", "--json", env=env, cwd=tmp_path)
    assert case.returncode == 0, case.stderr
    got = {d["rule"]: d["status"] for d in json.loads(case.stdout)}
    assert got["child_visited"] == "met" and got["allocation"] == "overdue"
    text = caseclock("case", "123456", env=env, cwd=tmp_path).stdout
    assert "team north, policy bexley" in text and "via cli" in text


def test_refusals_from_the_store_commands_exit_2_and_store_nothing(
    env: dict[str, str], tmp_path: Path, database_url: str
) -> None:
    caseclock("team", "add", "north", "--policy", "bexley", env=env, cwd=tmp_path)
    caseclock("team", "add", "south", "--policy", "suffolk", env=env, cwd=tmp_path)
    cases = [
        (("team", "add", "east", "--policy", "kent"), "is not a policy pack"),
        (("team", "add", "north", "--policy", "medway"), "already exists"),
        (("log", "123456", "referral_received", "track=s17"), "say which team"),
        (("log", "123456", "referral_received", "track=s17", "--team", "west"),
         "there is no team west"),
        (("log", "123456", "referral_received", "s17", "--team", "north"), "name=value"),
        (("log", "J Smith", "referral_received", "track=s17", "--team", "north"),
         "not a case reference"),
        # A name of letters only fits "3-20 letters and digits" but is still refused.
        (("log", "Smith", "referral_received", "track=s17", "--team", "north"),
         "never a name"),
        (("log", "JohnSmith", "child_seen", "--team", "north"), "not a case reference"),
        # Only a contact or a referral opens a case.
        (("log", "123456", "assessment_authorised", "--team", "north"),
         "there is no case 123456: log its contact or referral first"),
        (("log", "123456", "child_seen", "alone=true", "--team", "north"),
         "there is no case 123456: log its contact or referral first"),
        (("log", "123456", "referral_received", "track=s17", "--team", "north", "--at",
          "2999-01-01T10:00"), "in the future"),
        (("case", "654321"), "there is no case 654321"),
    ]
    for args, says in cases:
        out = caseclock(*args, env=env, cwd=tmp_path)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert says in out.stderr, (args, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1
    listed = caseclock("team", "list", env=env, cwd=tmp_path).stdout
    assert "east" not in listed and "north: policy bexley" in listed
    assert caseclock("case", "123456", env=env, cwd=tmp_path).returncode == 2
    engine, sessions = open_database(database_url)
    with sessions() as s:
        assert repo.case_references(s) == [] and repo.count_rows(s)["events"] == 0
    engine.dispose()


def test_run_loads_samples_on_a_first_run_then_answers_commands(tmp_path: Path) -> None:
    # The README's run command on the embedded default: SQLite file in the working directory,
    # the console reading commands from standard input.
    env = {"DATABASE_URL": "sqlite:///caseclock.db", "HOME": str(tmp_path)}
    first = caseclock("run", env=env, cwd=tmp_path, stdin="/case 100202\n")
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "caseclock.db").exists()
    assert "sample teams, staff" in first.stdout
    assert "You are jo (worker, team north-assessment)" in first.stdout
    assert "Due for your team:" in first.stdout
    assert "Case 100202: team north-assessment, bexley" in first.stdout
    again = caseclock("run", env=env, cwd=tmp_path, stdin="")
    assert again.returncode == 0 and "sample teams" not in again.stdout
