"""Commands that only read never create or migrate an archive (issue 12, item 4).

`rounds sources --database-url postgresql://…/test` once created 18 tables in a shared
database. A missing archive is named with what to run, an older one too, and nothing is
created: no file, no directory, no table.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from aggregator.cli import main
from aggregator.storage.db import make_engine, schema_revision, upgrade

READ_COMMANDS = [
    ["export"],
    ["search", "insulin"],
    ["topics", "list"],
    ["topics", "explain", "1"],
    ["lists", "show"],
    ["lists", "history", "icu"],
    ["lists", "export"],
    ["lists", "synclog", "icu"],
    ["voices", "show"],
    ["read"],
    ["catchup"],
    ["papers"],
    ["papers", "--json", "--since", "7d"],
]
# Monitoring and the first look at a new setup: these list the configured sources as
# never run (exit 0), and say on stderr that there is no archive yet.
LISTING_COMMANDS = [["sources"], ["status"]]


def _run(capsys: pytest.CaptureFixture[str], url: str, args: list[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["--database-url", url, *args])
    return code, capsys.readouterr().err


@pytest.fixture(autouse=True)
def one_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A configured source, so that `sources` and `status` have something to list (with
    none, they say how to add one instead)."""
    config = tmp_path / "rounds.toml"
    config.write_text('[accounts.med]\nnetwork = "mastodon"\n'
                      'base_url = "https://med.example"\n\n'
                      '[[sources]]\nname = "cardiology"\naccount = "med"\n'
                      'hashtag = "cardiology"\n', encoding="utf-8")
    config.chmod(0o600)
    monkeypatch.setenv("ROUNDS_CONFIG", str(config))


@pytest.mark.parametrize("args", READ_COMMANDS + LISTING_COMMANDS, ids=" ".join)
def test_missing_sqlite_archive_is_named_and_not_created(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str]) -> None:
    path = tmp_path / "not-yet" / "rounds.db"
    code, err = _run(capsys, f"sqlite:///{path}", args)
    assert f"no archive yet at {path} — run `rounds collect`" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert code == (0 if args in LISTING_COMMANDS else 1)
    assert not path.parent.exists(), "a read command created the archive's directory"


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("args", READ_COMMANDS + LISTING_COMMANDS, ids=" ".join)
def test_empty_postgres_schema_gets_no_table(capsys: pytest.CaptureFixture[str],
                                             pg_url: str, args: list[str]) -> None:
    code, err = _run(capsys, pg_url, args)
    assert "no archive yet at postgresql" in err and "run `rounds collect`" in err
    assert code == (0 if args in LISTING_COMMANDS else 1)
    assert _tables(pg_url) == set()


def _state(url: str) -> object:
    if url.startswith("sqlite"):
        return hashlib.sha256(Path(url.removeprefix("sqlite:///")).read_bytes()).hexdigest()
    return _tables(url)


@pytest.mark.parametrize("args", READ_COMMANDS + LISTING_COMMANDS, ids=" ".join)
def test_older_schema_asks_for_an_upgrade_and_changes_nothing(
        capsys: pytest.CaptureFixture[str], db_url: str, args: list[str]) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0002")  # one migration (0003, the edit history) short of head
    engine.dispose()
    before = _state(db_url)
    code, err = _run(capsys, db_url, args)
    assert code == 1
    assert "needs an upgrade — run `rounds db upgrade`" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert _state(db_url) == before
    engine = make_engine(db_url)
    assert schema_revision(engine) == "0002"
    engine.dispose()


def test_writing_commands_still_create_the_archive(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    path = tmp_path / "new" / "rounds.db"
    code, err = _run(capsys, f"sqlite:///{path}", ["lists", "create", "icu"])
    assert code == 0, err
    code, err = _run(capsys, f"sqlite:///{path}", ["lists", "show"])
    assert code == 0 and "no archive" not in err


def test_listing_sources_writes_no_row_and_resets_no_cursor(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`sources` and `status` on an archive whose config gained a source and changed
    another's target: both are listed as never run, and the stored rows (with the old
    target's cursor, which the next collect will reset) are left exactly as they were."""
    from sqlalchemy import select, update

    from aggregator.clock import SystemClock
    from aggregator.settings import load_settings
    from aggregator.storage.db import open_database
    from aggregator.storage.repository import Repository
    from aggregator.storage.schema import sources

    url = f"sqlite:///{tmp_path / 'kept.db'}"
    db = open_database(url)
    Repository(db, SystemClock()).sync_sources(load_settings(None, {"ROUNDS_CONFIG": str(
        tmp_path / "rounds.toml")}))
    with db.engine.begin() as conn:
        conn.execute(update(sources).values(cursor="113000000000000001"))
        before = [tuple(r) for r in conn.execute(select(sources))]
    config = tmp_path / "rounds.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        'hashtag = "cardiology"', 'hashtag = "heartfailure"')
        + '\n[[sources]]\nname = "oncology"\naccount = "med"\nhashtag = "oncology"\n',
        encoding="utf-8")
    for command in (["sources"], ["status"], ["status", "--json"]):
        code, _err = _run(capsys, url, command)
        assert code == 0
    with db.engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(select(sources))] == before
    db.dispose()
