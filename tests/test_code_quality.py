"""ruff and mypy (strict on the engine) are part of the suite, so "clean" stays true."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_is_clean() -> None:
    out = _run(str(BIN / "ruff"), "check", ".")
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_is_clean_and_strict_on_the_engine() -> None:
    out = _run(sys.executable, "-m", "mypy")
    assert out.returncode == 0, out.stdout + out.stderr
    strict = _run(sys.executable, "-m", "mypy", "--strict", "scheduler/timescales")
    assert strict.returncode == 0, strict.stdout + strict.stderr


def test_the_engine_imports_nothing_of_the_project_and_does_no_io() -> None:
    core = ROOT / "scheduler" / "timescales"
    forbidden = [r"^\s*(from|import) (bot|store|scheduler)\b", r"(?<!def )\bopen\(",
                 r"\bPath\(", r"\bsqlalchemy\b", r"\bsocket\b", r"\bos\.environ\b"]
    for f in core.glob("*.py"):
        text = f.read_text(encoding="utf-8")
        for pattern in forbidden:
            assert not re.search(pattern, text, re.M), f"{f.name} matches {pattern!r}"
