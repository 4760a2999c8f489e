"""Reading policy packs from YAML files: the built-in ones and an authority's own directory.

The pure model lives in `scheduler.timescales.rules`; this module is the thin file edge.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from scheduler.timescales.calendar import WorkingCalendar
from scheduler.timescales.rules import (
    Checklist,
    Pack,
    PackError,
    PackFile,
    parse_checklists,
    parse_pack_file,
    resolve,
)

BUILTIN_DIR = Path(__file__).parent / "timescales" / "policies"
CHECKLISTS_FILE = "checklists.yaml"


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", err)
        raise PackError(f"{path}:{where} is not valid YAML ({problem})") from None


def policy_dirs(extra: str | os.PathLike[str] | None = None) -> list[Path]:
    """The directories searched for packs: built-in first, then CASECLOCK_POLICY_DIR."""
    dirs = [BUILTIN_DIR]
    configured = extra if extra is not None else os.environ.get("CASECLOCK_POLICY_DIR")
    if configured:
        dirs.extend(Path(p) for p in str(configured).split(os.pathsep) if p)
    return dirs


def load_checklists(dirs: list[Path] | None = None) -> dict[str, Checklist]:
    """Checklists from every directory's checklists.yaml; later directories add or replace."""
    out: dict[str, Checklist] = {}
    for d in dirs or policy_dirs():
        f = d / CHECKLISTS_FILE
        if f.is_file():
            out.update(parse_checklists(str(f), _load_yaml(f)))
    return out


def load_pack_files(dirs: list[Path] | None = None) -> dict[str, PackFile]:
    """Every pack file found, validated; a local pack with a built-in's name replaces it."""
    dirs = dirs or policy_dirs()
    checklists = load_checklists(dirs)
    files: dict[str, PackFile] = {}
    for d in dirs:
        if not d.is_dir():
            raise PackError(f"policy directory {d} does not exist: check CASECLOCK_POLICY_DIR")
        for f in sorted(d.glob("*.yaml")):
            if f.name == CHECKLISTS_FILE:
                continue
            pf = parse_pack_file(str(f), _load_yaml(f), checklists)
            if pf.name != f.stem:
                raise PackError(f"{f}: name '{pf.name}' must match the file name '{f.stem}'")
            files[pf.name] = pf
    return files


def check_pack_file(path: str | os.PathLike[str]) -> Pack:
    """Validate a single pack file (and resolve it against the known packs)."""
    p = Path(path)
    if not p.is_file():
        raise PackError(f"{p} does not exist: give the path of a pack's YAML file")
    files = load_pack_files()
    pf = parse_pack_file(str(p), _load_yaml(p), load_checklists())
    files[pf.name] = pf
    return resolve(pf.name, files)


class PackLibrary:
    """Resolved packs and their calendars, loaded once and shared."""

    def __init__(self, dirs: list[Path] | None = None) -> None:
        self.dirs = dirs or policy_dirs()
        self.files = load_pack_files(self.dirs)
        self.checklists = load_checklists(self.dirs)
        self._packs: dict[str, Pack] = {}

    def names(self) -> list[str]:
        """Every pack's name, sorted."""
        return sorted(self.files)

    def get(self, name: str) -> Pack:
        """The resolved pack, or PackError naming the known packs."""
        if name not in self._packs:
            self._packs[name] = resolve(name, self.files)
        return self._packs[name]

    def calendar(self, name: str) -> WorkingCalendar:
        """The working-day calendar of a pack (bank holidays plus its closure days)."""
        return calendar_for(self.get(name).closure_days)


@lru_cache(maxsize=64)
def calendar_for(closure_days: frozenset[Any]) -> WorkingCalendar:
    """One calendar per distinct set of closure days, built once per process."""
    return WorkingCalendar(closure_days)


@lru_cache(maxsize=4)
def default_library(policy_dir: str | None = None) -> PackLibrary:
    """The library for the configured directories, cached per directory setting."""
    return PackLibrary(policy_dirs(policy_dir))
