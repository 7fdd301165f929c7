"""Bad input through the CLI: fuzzed configuration files, CSV imports and query strings
(hypothesis), wrong database URLs, corrupt, foreign and newer databases.

Never a traceback: a one-line error and exit code 1 or 2, or a result. A database that is
not ours, or is from a newer grandrounds, is refused and left byte for byte unchanged.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.cli import main
from aggregator.storage.db import open_database
from tests.tui.seed import standard

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))  # an unexpected exception fails the test: that is a traceback
    out, err = capsys.readouterr()
    return code, out, err


def assert_clean_outcome(code: int, err: str, allowed: tuple[int, ...] = (0, 1, 2)) -> None:
    assert code in allowed, (code, err)
    assert "Traceback" not in err
    if code:
        lines = [line for line in err.splitlines() if line.strip()]
        assert lines and lines[-1].lower().startswith("error"), err
        assert len(lines) == 1 or lines[0].startswith("Usage:"), err


# ------------------------------------------------------------------ configuration


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)  # a TOML basic string (\\uXXXX escapes are valid TOML)


def to_toml(doc: dict[str, Any]) -> str:
    lines = []
    for key, value in doc.items():
        if key == "accounts" and isinstance(value, dict):
            for name, account in value.items():
                lines.append(f"[accounts.{json.dumps(name)}]")
                lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in account.items()]
        elif key == "sources" and isinstance(value, list):
            for source in value:
                lines.append("[[sources]]")
                lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in source.items()]
        else:
            lines.insert(0, f"{json.dumps(key)} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


scalars = st.one_of(st.text(max_size=20), st.integers(-5, 10**20), st.booleans(),
                    st.floats(allow_nan=False, allow_infinity=False), st.lists(st.text(max_size=5),
                                                                               max_size=3))
words = st.sampled_from(["med", "x", "", " ", "mastodon", "twitter", "nope", "é", "a.b"])
urls = st.sampled_from(["http://127.0.0.1:9", "https://social.example", "http://evil.example",
                        "ftp://x", "not a url", "", "https://", "http://[::1]:8"])
accounts = st.dictionaries(words, st.fixed_dictionaries({}, optional={
    "network": st.one_of(st.sampled_from(["mastodon", "twitter"]), st.text(max_size=8)),
    "base_url": st.one_of(urls, st.text(max_size=10)),
    "token_env": st.one_of(st.text(max_size=8), scalars),
    "bearer_token_env": st.text(max_size=8),
    "token_file": st.one_of(st.just("/nonexistent/token"), st.text(max_size=8)),
    "max_reads_per_day": scalars,
    "allow_insecure": scalars,
    "surprise": scalars,
}), max_size=3)
sources = st.lists(st.fixed_dictionaries({}, optional={
    "name": st.one_of(words, scalars),
    "account": words,
    "list": st.one_of(st.text(max_size=8), scalars),
    "hashtag": st.text(max_size=8),
    "user": st.text(max_size=8),
    "search": st.text(max_size=8),
    "every": st.one_of(st.sampled_from(["15m", "0m", "1d", "5x", "", "99999999999h"]), scalars),
    "topics": st.one_of(st.lists(st.text(max_size=5), max_size=3), scalars),
    "backfill": scalars,
}), max_size=4)
documents = st.fixed_dictionaries({}, optional={
    "accounts": accounts, "sources": sources, "recheck_hours": scalars,
    "views": st.lists(st.dictionaries(st.sampled_from(["name", "query", "x"]), scalars),
                      max_size=2),
    "reader": st.dictionaries(st.sampled_from(["poll_seconds", "mark_read_on_move", "zz"]),
                              scalars, max_size=2),
    "topics_file": scalars,
})


def _config_run(capsys: pytest.CaptureFixture[str], text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rounds.toml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        path.chmod(0o600)
        code, _out, err = run(capsys, "--config", str(path), "--database-url",
                              f"sqlite:///{tmp}/rounds.db", "sources")
    assert_clean_outcome(code, err, (0, 2))


@FUZZ
@given(text=st.text(alphabet=st.sampled_from([*'[]="\'#.,{}\n \\abcxyz019_-', "é", "\x00"]),
                    max_size=120))
def test_fuzzed_config_text(capsys: pytest.CaptureFixture[str], text: str) -> None:
    """Configuration files of random TOML-ish text"""
    _config_run(capsys, text)


@FUZZ
@given(doc=documents)
def test_fuzzed_valid_toml_config(capsys: pytest.CaptureFixture[str], doc: dict[str, Any]) -> None:
    """Configuration files of valid TOML with random values"""
    _config_run(capsys, to_toml(doc))


# ------------------------------------------------------------------ CSV imports and queries


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config over a seeded archive (posts, sources, curation tables)."""
    tmp = tmp_path_factory.mktemp("archive")
    seeder = standard(tmp / "reader.db")
    seeder.db.dispose()
    cfg = tmp / "rounds.toml"
    cfg.write_text(f'[database]\nurl = "{seeder.url}"\n')
    cfg.chmod(0o600)
    return cfg


csv_cells = st.one_of(st.sampled_from(["List name", "Account address", "@doc@med.example",
                                       "x", "mastodon", "2026-01-01", "ICU", "@@", "",
                                       "=cmd|' /C calc'!A0", "doc@med.example"]),
                      st.text(max_size=12))


@FUZZ
@given(rows=st.lists(st.lists(csv_cells, max_size=10), max_size=6),
       header=st.sampled_from([None, "List name,Account address",
                               "Account address,Show boosts,Notify on new posts,Languages"]))
def test_fuzzed_csv_import(capsys: pytest.CaptureFixture[str], archive: Path,
                           rows: list[list[str]], header: str | None) -> None:
    """CSV imports of random rows (`rounds lists import`)"""
    import csv
    import io

    buf = io.StringIO()
    if header:
        buf.write(header + "\n")
    csv.writer(buf).writerows(rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.csv"
        path.write_text(buf.getvalue(), encoding="utf-8", errors="surrogatepass")
        code, _out, err = run(capsys, "--config", str(archive), "lists", "import", str(path),
                              "--list", "fuzz", "--skip-bad")
    assert_clean_outcome(code, err)


query_words = st.sampled_from(['"', "-", "(", ")", "OR", "AND", "NOT", "topic:", "from:",
                               "since:", "until:", "since:7d", "until:2026-13-45", "has:",
                               "has:link", "is:unread", "network:", "network:x", "source:",
                               "*", "heart*", "NEAR", "^", ":", "lang:", "\\", "'", "%", "_",
                               "heart", "#HeartFailure", "@doc1@med.example", "é"])


@FUZZ
@given(parts=st.lists(st.one_of(query_words, st.text(max_size=6)), max_size=8))
def test_fuzzed_query(capsys: pytest.CaptureFixture[str], archive: Path,
                      parts: list[str]) -> None:
    """Query strings of random terms, parsed and executed (`rounds export --query`)"""
    query = " ".join(parts).replace("\x00", "")
    code, out, err = run(capsys, "--config", str(archive), "export", "--query", query)
    assert_clean_outcome(code, err, (0, 1))
    for line in out.splitlines():
        json.loads(line)


# ------------------------------------------------------------------ databases


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_wrong_database_urls_are_one_line_errors(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    """Wrong database URLs: not a URL, unknown driver, nothing listening"""
    for url in ("not a url", "nosuchdb://x/y", "postgresql+psycopg://127.0.0.1:1/none",
                f"sqlite:///{tmp_path}"):
        code, _out, err = run(capsys, "--database-url", url, "export")
        assert code == 1, (url, err)
        assert_clean_outcome(code, err)
        assert "database" in err


def _foreign(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE patients (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO patients (name) VALUES ('Ada')")
    conn.commit()
    conn.close()


def _corrupt(path: Path) -> None:
    path.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 20)


def _newer(path: Path) -> None:
    open_database(f"sqlite:///{path}").dispose()
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM alembic_version")
    conn.execute("INSERT INTO alembic_version VALUES ('9999_from_the_future')")
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


@pytest.mark.parametrize(("make", "says"), [
    (_foreign, "not grandrounds"), (_corrupt, "cannot open database"),
    (_newer, "newer grandrounds")], ids=["foreign", "corrupt", "newer version"])
@pytest.mark.parametrize("command", ["sources", "export", "collect", "status"])
def test_unusable_database_is_refused_unchanged(capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path, make: Any, says: str,
                                                command: str) -> None:
    """A foreign, corrupt or newer database is refused and left unchanged"""
    path = tmp_path / "other.db"
    make(path)
    before = digest(path)
    cfg = tmp_path / "rounds.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{path}"\n[accounts.m]\nnetwork = "mastodon"\n'
                   'base_url = "http://127.0.0.1:9"\n[[sources]]\nname = "s"\naccount = "m"\n'
                   'hashtag = "h"\n')
    cfg.chmod(0o600)
    code, out, err = run(capsys, "--config", str(cfg), command)
    assert code == 1, (code, out, err)
    assert_clean_outcome(code, err)
    assert says in err
    assert digest(path) == before, "the database file was changed"
