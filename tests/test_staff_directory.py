"""`caseclock staff` with service managers' oversight: add, list, import, and the console
showing an overseeing service manager their teams' cases and no others."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli_deadlines import caseclock


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {"DATABASE_URL": database_url, "HOME": str(tmp_path)}
    for args in (("team", "add", "north", "--policy", "bexley"),
                 ("team", "add", "south", "--policy", "suffolk"),
                 ("staff", "add", "jo", "--team", "north", "--role", "worker"),
                 ("staff", "add", "sam", "--team", "south", "--role", "worker")):
        out = caseclock(*args, env=env, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
    return env


def test_a_service_manager_oversees_the_teams_named_and_the_list_says_so(
        env: dict[str, str], tmp_path: Path) -> None:
    added = caseclock("staff", "add", "morgan", "--role", "service_manager", "--oversees",
                      "north,south", env=env, cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert "Added morgan (service manager, team none, oversees north, south)." in added.stdout
    assert caseclock("staff", "add", "sally", "--role", "service_manager", env=env,
                     cwd=tmp_path).returncode == 0
    listed = caseclock("staff", "list", env=env, cwd=tmp_path).stdout
    assert "morgan: service manager, team none, oversees north, south" in listed
    assert "sally: service manager, team none, oversees every team (no --oversees list)" in (
        listed)
    assert "jo: worker, team north\n" in listed


def test_oversight_is_refused_for_other_roles_and_unknown_teams(
        env: dict[str, str], tmp_path: Path) -> None:
    worker = caseclock("staff", "add", "kim", "--team", "north", "--role", "worker",
                       "--oversees", "south", env=env, cwd=tmp_path)
    assert worker.returncode == 2
    assert "only a service manager oversees teams, not a worker" in worker.stderr
    unknown = caseclock("staff", "add", "kim", "--role", "service_manager", "--oversees",
                        "west", env=env, cwd=tmp_path)
    assert unknown.returncode == 2 and "there is no team west to oversee" in unknown.stderr
    assert "kim" not in caseclock("staff", "list", env=env, cwd=tmp_path).stdout


def test_import_reads_an_oversees_column(env: dict[str, str], tmp_path: Path) -> None:
    csv = tmp_path / "staff.csv"
    csv.write_text('name,team,role,slack,oversees\nlee,,service_manager,,"north,south"\n'
                   "ray,,service_manager,,south\nkit,north,manager,,\n", encoding="utf-8")
    out = caseclock("staff", "import", str(csv), env=env, cwd=tmp_path)
    assert out.returncode == 0 and "Added 3 staff" in out.stdout, out.stderr
    listed = caseclock("staff", "list", env=env, cwd=tmp_path).stdout
    assert "lee: service manager, team none, oversees north, south" in listed
    assert "ray: service manager, team none, oversees south" in listed


def test_an_overseeing_service_manager_sees_north_but_not_south_in_the_console(
        env: dict[str, str], tmp_path: Path) -> None:
    assert caseclock("staff", "add", "morgan", "--role", "service_manager", "--oversees",
                     "north", env=env, cwd=tmp_path).returncode == 0
    assert caseclock("console", "--as", "jo", env=env, cwd=tmp_path,
                     stdin="/referral 123456 s17\n").returncode == 0
    assert caseclock("console", "--as", "sam", env=env, cwd=tmp_path,
                     stdin="/referral 654321 s17\n").returncode == 0
    out = caseclock("console", "--as", "morgan", env=env, cwd=tmp_path,
                    stdin="/case 123456\n/case 654321\n").stdout
    assert "Case 123456: team north, bexley" in out
    assert "there is no case 654321 in your team" in out
