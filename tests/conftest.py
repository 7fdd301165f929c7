"""Test isolation and database fixtures.

Every test runs with a clean environment: no real configuration, data directory,
credentials or proxies leak in. Storage tests run on SQLite always and on PostgreSQL
when ROUNDS_TEST_PG_URL is set (each test in a schema of its own, dropped afterwards).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from hypothesis import settings

from aggregator.clock import ManualClock
from aggregator.storage.db import Database, open_database
from tests.fakes.pgschema import scratch_schema

# `HYPOTHESIS_PROFILE=thorough pytest -k …` hunts property failures with many more examples
settings.register_profile("thorough", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

PG_URL = os.environ.get("ROUNDS_TEST_PG_URL")
REQUIRE_PG = os.environ.get("ROUNDS_TEST_REQUIRE_PG") == "1"
DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    keep = {"ROUNDS_TEST_PG_URL", "ROUNDS_TEST_REQUIRE_PG"}
    proxies = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    for key in list(os.environ):
        if (key.startswith("ROUNDS_") or key.lower() in proxies) and key not in keep:
            monkeypatch.delenv(key, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local/state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def _pg_schema_url() -> Iterator[str]:
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("ROUNDS_TEST_REQUIRE_PG=1 but ROUNDS_TEST_PG_URL is not set")
        pytest.skip("PostgreSQL tests need ROUNDS_TEST_PG_URL "
                    "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    with ExitStack() as stack:
        try:
            url = stack.enter_context(scratch_schema(PG_URL))
        except Exception as exc:  # server down on a laptop: say why
            if REQUIRE_PG:
                raise
            pytest.skip(f"PostgreSQL at ROUNDS_TEST_PG_URL unreachable: {exc}")
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'rounds.db'}"
    else:
        yield from _pg_schema_url()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema's URL (skips without ROUNDS_TEST_PG_URL)."""
    yield from _pg_schema_url()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def process_alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(predicate: Callable[[], object], timeout: float = 30.0,
               every: float = 0.005) -> bool:
    """Polls `predicate` until it is true (True) or `timeout` seconds pass (False): for
    tests that wait on another process or thread, never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False
