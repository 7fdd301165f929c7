"""Issue 12 items 5 and 11: `rounds status` and `rounds sources` fit 80 columns with a long
error (cut at a word boundary, whole in `status SOURCE` and `--json`), and first runs say
what to do next on stderr."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from aggregator.cli import main
from aggregator.storage.db import open_database
from aggregator.storage.schema import sources
from tests.ops.conftest import WriteConfig, register_sources

ERROR = ("mastodon: cannot reach med-mastodon.example: HTTPSConnectionPool(host="
         "'med-mastodon.example', port=443): Max retries exceeded with url: /api/v1/timelines/"
         "list/42?limit=40 (Caused by NameResolutionError(\"<urllib3.connection."
         "HTTPSConnection object at 0x7f>: Failed to resolve 'med-mastodon.example' "
         "([Errno -2] Name or service not known)\")) after 3 attempts over 30 seconds")


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def failed(write_config: WriteConfig, db_url: str, capsys: pytest.CaptureFixture[str],
           monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COLUMNS", "80")
    cfg = str(write_config())
    register_sources(Path(cfg), db_url)
    db = open_database(db_url)
    with db.engine.begin() as conn:
        conn.execute(update(sources).where(sources.c.name == "icu-list").values(
            last_error=ERROR, consecutive_failures=1,
            last_run_at=datetime.now(UTC).replace(tzinfo=None)))
    db.dispose()
    return cfg


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("command", ["status", "sources"])
def test_a_long_error_keeps_the_table_within_80_columns(
        failed: str, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--config", failed, command)
    assert code == 0
    lines = out.rstrip("\n").splitlines()
    assert max(len(line) for line in lines) <= 80, out
    assert len(lines) == 2 + 3, out  # header, rule, one line per source
    row = next((line for line in lines if line.startswith("icu-list")), out)
    assert row.endswith("…"), row
    shown = row.split("  ")[-1].strip().removesuffix("…").split(" ")[-1]
    assert f"{shown} " in ERROR or ERROR.endswith(shown), (shown, row)  # a whole word


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_whole_error_is_in_status_source_and_json(
        failed: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--config", failed, "status", "icu-list")
    assert code == 0
    assert ERROR in out.replace("\n", "")
    assert "source:            icu-list" in out and "failures in a row: 1" in out
    code, out, _ = _run(capsys, "--config", failed, "status", "icu-list", "--json")
    doc = json.loads(out)
    assert [s["name"] for s in doc["sources"]] == ["icu-list"]
    assert doc["sources"][0]["last_error"] == ERROR
    code, _, err = _run(capsys, "--config", failed, "status", "icu-lst")
    assert code == 2 and "no source named 'icu-lst'" in err


def test_no_sources_says_what_to_do_on_stderr(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "rounds.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "e.db"}"\n')
    cfg.chmod(0o600)
    for command in (["status"], ["sources"], ["status", "--json"]):
        code, out, err = _run(capsys, "--config", str(cfg), *command)
        assert code == 0
        assert "source" not in out.replace('"sources": []', ""), out
        assert str(cfg) in err and "[[sources]]" in err and "rounds collect" in err, err
    code, out, err = _run(capsys, "--config", str(cfg), "search", "statin", "--json")
    assert code == 1 and out == ""  # read-only: no archive is made just to search it
    assert "no archive yet" in err and "rounds collect" in err
    assert _run(capsys, "--config", str(cfg), "db", "upgrade")[0] == 0
    code, out, err = _run(capsys, "--config", str(cfg), "search", "statin", "--json")
    assert code == 0 and out == ""
    assert "no posts yet" in err and str(cfg) in err and "rounds collect" in err


def test_default_config_path_and_init_are_named(capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    code, out, err = _run(capsys, "--database-url", url, "sources")
    assert code == 0 and out == ""
    assert "rounds init" in err and "rounds collect" in err
