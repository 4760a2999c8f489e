"""Email addresses in the staff directory and teams, as an admin types them from a fresh
store: `caseclock staff add ... --email`, `staff import` with an email column,
`caseclock team add ... --digest-email`, `--prefers email`; and migration 0011."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect

from store.db import alembic_config, normalise_url
from tests.test_cli_deadlines import caseclock


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "HOME": str(tmp_path)}


def run(env: dict[str, str], tmp_path: Path, *args: str) -> tuple[int, str]:
    done = caseclock(*args, env=env, cwd=tmp_path)
    return done.returncode, (done.stdout + done.stderr).strip()


def test_addresses_are_stored_and_listed(env: dict[str, str], tmp_path: Path) -> None:
    assert run(env, tmp_path, "team", "add", "north", "--policy", "bexley", "--digest-email",
               "north-team@council.gov.uk") == (0, "Added team north working under bexley.")
    assert run(env, tmp_path, "team", "add", "south", "--policy", "bexley")[0] == 0
    assert run(env, tmp_path, "team", "list")[1].splitlines() == [
        "north: policy bexley, digest at 08:30, digest by email to north-team@council.gov.uk",
        "south: policy bexley, digest at 08:30"]
    assert run(env, tmp_path, "staff", "add", "jo", "--team", "north", "--role", "worker",
               "--email", "jo.smith@council.gov.uk", "--prefers", "email") == (
        0, "Added jo (worker, team north).")
    csv = tmp_path / "staff.csv"
    csv.write_text("name,team,role,email\nsam,north,worker,sam.jones@council.gov.uk\n"
                   "kim,south,worker,\n", encoding="utf-8")
    assert run(env, tmp_path, "staff", "import", str(csv)) == (0, f"Added 2 staff from {csv}.")
    assert run(env, tmp_path, "staff", "list")[1].splitlines() == [
        "jo: worker, team north, email jo.smith@council.gov.uk, told by email",
        "kim: worker, team south",
        "sam: worker, team north, email sam.jones@council.gov.uk"]


def test_a_bad_address_is_one_sentence_and_nothing_is_stored(
        env: dict[str, str], tmp_path: Path) -> None:
    assert run(env, tmp_path, "team", "add", "north", "--policy", "bexley", "--digest-email",
               "north team") == (2, "caseclock: 'north team' is not an email address: give "
                                    "--digest-email an address such as "
                                    "jo.smith@council.gov.uk.")
    assert "north" not in run(env, tmp_path, "team", "list")[1]
    assert run(env, tmp_path, "team", "add", "north", "--policy", "bexley")[0] == 0
    for bad in ("jo", "jo@", "jo@council", "jo smith@council.gov.uk", "<jo@council.gov.uk>"):
        code, out = run(env, tmp_path, "staff", "add", "jo", "--team", "north", "--role",
                        "worker", "--email", bad)
        assert (code, out) == (2, f"caseclock: '{bad}' is not an email address: give --email "
                                  "an address such as jo.smith@council.gov.uk."), bad
    assert run(env, tmp_path, "staff", "add", "al", "--team", "north", "--role", "worker",
               "--prefers", "email") == (
        2, "caseclock: al prefers email but has no address: add --email ADDRESS.")
    csv = tmp_path / "staff.csv"
    csv.write_text("name,team,role,email\nsam,north,worker,sam at council\n", encoding="utf-8")
    assert run(env, tmp_path, "staff", "import", str(csv)) == (
        2, f"caseclock: {csv} line 2: 'sam at council' is not an email address: give the "
           "email column an address such as jo.smith@council.gov.uk. Lines before it were "
           "added.")
    assert run(env, tmp_path, "staff", "list")[1] == (
        "Nobody yet: `caseclock staff add NAME --team TEAM --role worker`.")


def test_the_options_are_in_the_help(env: dict[str, str], tmp_path: Path) -> None:
    staff = run(env, tmp_path, "staff", "add", "--help")[1]
    assert "--email ADDRESS" in staff and "--prefers {console,slack,teams,email}" in staff
    assert "--digest-email ADDRESS" in run(env, tmp_path, "team", "add", "--help")[1]
    assert "(name,team,role,slack,teams,email,oversees)" in run(
        env, tmp_path, "staff", "--help")[1]


def test_migration_0011_adds_and_removes_the_two_columns(database_url: str) -> None:
    engine = create_engine(normalise_url(database_url))
    cfg = alembic_config()

    def columns() -> tuple[set[str], set[str]]:
        found = inspect(engine)
        return ({c["name"] for c in found.get_columns("staff")},
                {c["name"] for c in found.get_columns("teams")})

    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0011")
    staff, teams = columns()
    assert "email" in staff and "digest_email" in teams
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0010")
    staff, teams = columns()
    assert "email" not in staff and "digest_email" not in teams and "prefers" in staff
    engine.dispose()
