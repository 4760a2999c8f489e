"""Fixtures: a database on SQLite and, where CASECLOCK_TEST_POSTGRES_URL is set, PostgreSQL.

Every store test runs once per backend. A PostgreSQL test gets a database of its own,
created from the admin URL and dropped afterwards. Without the URL the PostgreSQL variants
are still collected and reported as skipped with the reason, so a local run says what it
left out instead of silently running fewer tests than CI.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import create_engine, text

from scheduler.casebook import Casebook
from scheduler.packs import PackLibrary
from store.db import normalise_url, open_database

PG_ADMIN_URL = os.environ.get("CASECLOCK_TEST_POSTGRES_URL")
NO_POSTGRES = "CASECLOCK_TEST_POSTGRES_URL is not set"
BACKENDS = [
    "sqlite",
    pytest.param("postgres", marks=[pytest.mark.postgres,
                                    pytest.mark.skipif(not PG_ADMIN_URL, reason=NO_POSTGRES)]),
]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[str]:
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'caseclock.db'}"
        return
    assert PG_ADMIN_URL is not None
    name = f"cc_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class FakeClock:
    """A clock tests set by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="session")
def library() -> PackLibrary:
    """The built-in packs, loaded once."""
    return PackLibrary()


@pytest.fixture
def clock() -> FakeClock:
    """Mon 30 Nov 2026, 12:00 London time, unless a test moves it."""
    from scheduler.timescales.calendar import LONDON

    return FakeClock(datetime(2026, 11, 30, 12, 0, tzinfo=LONDON))


@pytest.fixture
def casebook(database_url: str, library: PackLibrary, clock: FakeClock) -> Iterator[Casebook]:
    """A casebook over a fresh database with the injected clock."""
    engine, sessions = open_database(database_url)
    yield Casebook(sessions, library, clock)
    engine.dispose()
