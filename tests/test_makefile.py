"""Issue 12 item 16: `make test` runs the PostgreSQL tests when a server answers, as CI
does, and leaves an explicit ROUNDS_TEST_PG_URL alone."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


@pytest.fixture(autouse=True)
def installed() -> None:
    up_to_date = subprocess.run(["make", "-q", ".venv/.installed"], cwd=ROOT,
                                capture_output=True).returncode == 0
    if not up_to_date:
        pytest.skip("the .venv is not installed by make (run `make test` or "
                    "`make .venv/.installed`)")


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def _make_test_env(port: int, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "ROUNDS_TEST_PG_URL"} | env
    done = subprocess.run(
        ["make", "-s", "test", f"PG_PORT={port}",
         "PYTEST=printenv ROUNDS_TEST_PG_URL; true"],
        cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_server_that_answers_is_used(listening: int) -> None:
    out = _make_test_env(listening)
    assert f"postgresql+psycopg://postgres@127.0.0.1:{listening}/test" in out


def test_no_server_no_url(listening: int) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    assert "postgresql" not in _make_test_env(closed)


def test_an_explicit_url_is_kept(listening: int) -> None:
    out = _make_test_env(listening, ROUNDS_TEST_PG_URL="postgresql+psycopg://me@db/x")
    assert out.strip() == "postgresql+psycopg://me@db/x"
