"""Database URLs as people write them: postgres:// and postgresql:// mean psycopg."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.errors import StorageError
from aggregator.storage.db import open_database, parse_database_url
from tests.conftest import _pg_schema_url


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _pg_schema_url()


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_plain_postgres_schemes_load_psycopg(scheme: str) -> None:
    parsed = parse_database_url(f"{scheme}://me:secret@db.example:5433/rounds")
    assert parsed.drivername == "postgresql+psycopg"
    assert (parsed.host, parsed.port, parsed.database) == ("db.example", 5433, "rounds")


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_an_unreachable_postgres_url_says_so_not_cannot_load_plugin(scheme: str) -> None:
    with pytest.raises(StorageError) as caught:
        open_database(f"{scheme}://nobody@127.0.0.1:1/none?connect_timeout=2")
    assert "cannot open database" in str(caught.value)
    assert "plugin" not in str(caught.value)


def test_a_missing_driver_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if psycopg were not installed
    with pytest.raises(StorageError, match=r"pip install 'grandrounds\[postgres\]'"):
        open_database("postgres://nobody@127.0.0.1:1/none")


@pytest.mark.postgres
def test_a_postgres_url_opens_the_server(pg_url: str) -> None:
    db = open_database(pg_url.replace("postgresql+psycopg://", "postgres://", 1))
    assert db.dialect == "postgresql"
    db.dispose()


def test_a_sqlite_timeout_in_the_url_sets_the_busy_timeout(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'rounds.db'}?timeout=2.5")
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 2500
    finally:
        db.dispose()
    assert (tmp_path / "rounds.db").is_file()  # the query is not part of the file name


@pytest.mark.parametrize("value", ["soon", "-1", "1e9"])
def test_a_bad_sqlite_timeout_is_one_line(tmp_path: Path, value: str) -> None:
    with pytest.raises(StorageError, match="expected seconds"):
        open_database(f"sqlite:///{tmp_path / 'rounds.db'}?timeout={value}")
