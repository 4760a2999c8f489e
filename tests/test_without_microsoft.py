"""The embedded default runs without the `msteams` extra: `pip install -e .` has neither
httpx, msgraph-sdk, azure-identity nor the Teams SDK, and caseclock must not need them until
Teams or Graph is configured. Checked in a process where importing them fails, as it does on
a base install."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

BLOCKED = ("httpx", "msgraph", "msgraph_core", "kiota_abstractions", "kiota_http",
           "kiota_authentication_azure", "azure", "microsoft_teams", "fastapi", "jwt")

PROGRAM = textwrap.dedent("""
    import sys
    from importlib.abc import MetaPathFinder

    BLOCKED = set(sys.argv[1].split(","))

    class NotInstalled(MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled())
    from bot.cli import main
    code = main(sys.argv[2:])
    loaded = sorted({m.split(".")[0] for m in sys.modules} & BLOCKED)
    print("LOADED", ",".join(loaded), file=sys.stderr)
    sys.exit(code)
""")


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROGRAM, ",".join(BLOCKED), *args], capture_output=True,
        text=True, timeout=120, cwd=tmp_path,
        env={"DATABASE_URL": f"sqlite:///{tmp_path}/c.db", "HOME": str(tmp_path),
             "PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
             **env})


def test_the_console_default_needs_no_microsoft_package(tmp_path: Path) -> None:
    assert run(tmp_path, "team", "add", "north", "--policy", "bexley").returncode == 0
    for name, role in (("jo", "worker"), ("priya", "manager")):
        assert run(tmp_path, "staff", "add", name, "--team", "north", "--role", role
                   ).returncode == 0
    logged = run(tmp_path, "log", "123456", "referral_received", "track=s17", "--team",
                 "north", "--at", "2026-11-30T10:00")
    assert logged.returncode == 0, logged.stderr
    planned = run(tmp_path, "notify", "--now", "2026-12-02T09:00", "--dry-run", "--json")
    assert planned.returncode == 0, planned.stderr
    rows = json.loads(planned.stdout)
    assert rows and {r["transport"] for r in rows} == {"console"}
    assert "LOADED \n" in planned.stderr  # none of them was imported


def test_email_configured_without_its_packages_is_one_sentence(tmp_path: Path) -> None:
    done = run(tmp_path, "notify", "--now", "2026-12-02T09:00", "--dry-run",
               GRAPH_TENANT_ID="t", GRAPH_CLIENT_ID="c", GRAPH_CLIENT_SECRET="s",
               GRAPH_SENDER="caseclock@council.gov.uk")
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == (
        "caseclock: Email is configured, but its packages are not installed (no httpx): "
        "install them with .venv/bin/pip install -e '.[msteams]'")
