"""The test suite says what it leaves out, and pyproject declares what the code imports.

A local run without PostgreSQL reports the PostgreSQL variants as skipped with the reason
(not missing), and a fresh `pip install .` gets every package the product imports.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("bot", "scheduler", "store")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement ("slack-bolt>=1.20": slack-bolt)."""
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def _declared(*groups: str) -> set[str]:
    project = PYPROJECT["project"]
    names = {_name(r) for r in project["dependencies"]}
    for group in groups:
        names |= {_name(r) for r in project["optional-dependencies"][group]}
    return names


def _third_party_imports(folders: tuple[str, ...]) -> dict[str, set[str]]:
    """Top-level modules imported anywhere under `folders`, less stdlib and our packages."""
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    tops = [a.name.split(".")[0] for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    tops = [node.module.split(".")[0]]
                else:
                    continue
                for top in tops:
                    if top not in sys.stdlib_module_names and top not in PRODUCT:
                        found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_without_the_postgres_url_its_variants_are_reported_skipped_with_the_reason() -> None:
    env = {k: v for k, v in os.environ.items() if k != "CASECLOCK_TEST_POSTGRES_URL"}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-rs", "-p", "no:cacheprovider",
         "tests/test_store.py::test_duplicate_team_is_refused"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"test_duplicate_team_is_refused\[sqlite\] PASSED", out.stdout), out.stdout
    assert re.search(r"test_duplicate_team_is_refused\[postgres\] SKIPPED", out.stdout), (
        out.stdout)
    assert re.search(r"SKIPPED \[1\] tests/test_store\.py:\d+: "
                     r"CASECLOCK_TEST_POSTGRES_URL is not set", out.stdout), out.stdout
    assert "1 passed, 1 skipped" in out.stdout


def test_every_package_the_product_imports_is_a_declared_dependency() -> None:
    imports = _third_party_imports(PRODUCT)
    assert {"sqlalchemy", "slack_bolt", "slack_sdk", "yaml"} <= imports.keys()  # it looks
    dists = packages_distributions()
    # Installed by `pip install .`, or by an extra that names an optional feature; never only
    # by dev or bench, which a deployment does not install.
    runtime = _declared(*(g for g in PYPROJECT["project"]["optional-dependencies"]
                          if g not in ("dev", "bench")))
    missing = {}
    for module, files in sorted(imports.items()):
        names = {_name(d) for d in dists.get(module, [module])}
        if not names & runtime:
            missing[module] = sorted(files)
    assert missing == {}, f"imported but not declared in pyproject dependencies: {missing}"


def test_numpy_is_only_for_the_benchmarks() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert "numpy" in {_name(r) for r in extras["bench"]}
    assert "numpy" not in _declared("dev", *(g for g in extras if g != "bench"))
    assert "numpy" in _third_party_imports(("benchmarks",))
    assert "numpy" not in _third_party_imports((*PRODUCT, "tests"))
