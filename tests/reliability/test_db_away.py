"""Issue 18 item 3: the database goes away under a running `rounds`.

* PostgreSQL behind a TCP proxy the test controls: while the daemon stores a page, every
  connection is dropped (the page's transaction is open), new connections are refused for
  a while, then let through. The daemon logs one line, pauses (1 s, 2 s, 4 s, ...),
  reconnects by itself and stores every post exactly once, without a restart.
* SQLite locked by another process (BEGIN EXCLUSIVE) longer than the busy timeout:
  `rounds collect` fails with one line, the daemon pauses and retries; both finish once
  the lock is gone. No `database is locked` traceback anywhere.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from aggregator.storage.schema import post_sources, posts, runs, sources
from tests.reliability.machine import (
    PAGE,
    Mastodon,
    TcpProxy,
    one_line_error,
    rounds,
    spawn,
    wait_for,
    write_config,
)

REPORT_NETWORK = "mastodon"
TAGS = ["icu", "ed", "peds"]


@pytest.fixture
def fake() -> Iterator[Mastodon]:
    m = Mastodon()
    yield m
    m.stop()


def _counts(url: str) -> tuple[int, int, dict[str, int]]:
    """(posts, distinct keys, posts per source), read directly (not through a proxy)."""
    engine = create_engine(url)
    try:
        if not inspect(engine).has_table("alembic_version") or not _migrated(engine):
            return 0, 0, {}  # the daemon has not created the tables yet
        with engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(posts)).scalar_one()
            distinct = conn.execute(select(func.count(posts.c.key.distinct()))).scalar_one()
            per = dict(conn.execute(
                select(sources.c.name, func.count())
                .join(post_sources, post_sources.c.source_id == sources.c.id)
                .group_by(sources.c.name)).all())
    finally:
        engine.dispose()
    return int(total), int(distinct), {k: int(v) for k, v in per.items()}


def _migrated(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() > 0


def _keys(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(select(posts.c.key)).scalars())
    finally:
        engine.dispose()


def _ok_runs(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(runs)
                                    .where(runs.c.outcome == "ok")).scalar_one())
    finally:
        engine.dispose()


def _log(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def _stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail("the daemon did not stop within 30 s of SIGTERM")


@pytest.mark.postgres
def test_postgres_drops_and_refuses_connections_under_the_daemon(
        tmp_path: Path, pg_url: str, fake: Mastodon,
        record_property: pytest.RecordProperty) -> None:
    """PostgreSQL drops every connection mid-page and refuses new ones: the daemon rides it out"""
    real = make_url(pg_url)
    proxy = TcpProxy((real.host or "127.0.0.1", real.port or 5432)).start()
    via_proxy = real.set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False)
    direct = real.render_as_string(hide_password=False)
    for tag in TAGS:
        fake.add_pages(tag, 1)
    cfg = write_config(tmp_path / "rounds.toml", via_proxy, fake.server, TAGS, every="1s")
    log = tmp_path / "daemon.log"
    proc = spawn(cfg, "daemon", "--log-format", "json", "--log-file", str(log), log=log)
    try:
        wait_for(lambda: _counts(direct)[0] == 3 * PAGE, 60, "the first passes")
        # the next page of "ed": the proxy drops everything when its first post's key is
        # sent (the page's transaction is open by then: its authors are written) and
        # refuses new connections; the other sources get new pages too
        page = [fake.api.make_status() for _ in range(PAGE)]
        proxy.drop_when_sent(page[0]["uri"].encode())
        fake.api.add_statuses("tag:ed", page)
        for tag in TAGS:
            if tag != "ed":
                fake.add_pages(tag, 2)
        wait_for(lambda: proxy.dropped_at is not None, 60, "the drop mid-page")
        wait_for(lambda: proxy.refused >= 3, 60, "the daemon's retries to be refused")
        assert proc.poll() is None, "the daemon exited"
        outage = time.monotonic() - (proxy.dropped_at or 0)
        proxy.allow()
        allowed = time.monotonic()
        expected = {k for tag in TAGS for k in fake.keys(tag)}
        wait_for(lambda: _counts(direct)[1] == len(expected), 60, "every post stored")
        recovered = time.monotonic() - allowed
        assert proc.poll() is None, "the daemon exited"
    finally:
        code = _stop(proc)
        proxy.stop()
    assert code == 0
    total, distinct, per_source = _counts(direct)
    assert total == distinct == len(expected), "a post was lost or stored twice"
    assert _keys(direct) == expected
    assert per_source == {tag: len(fake.keys(tag)) for tag in TAGS}
    lines = _log(log)
    text_log = log.read_text()
    assert "Traceback" not in text_log, text_log
    failures = [x for x in lines if x.get("outcome") == "error"]
    assert failures and all("unreachable" in str(x["error"]) for x in failures), failures
    assert all("paused_seconds" in x for x in failures)
    assert any("reachable again" in str(x["message"]) for x in lines)
    with create_engine(direct).connect() as conn:  # no claim left behind by the outage
        assert conn.execute(text("SELECT count(*) FROM sources WHERE claimed_by IS NOT NULL"
                                 )).scalar_one() == 0
    record_property("connections dropped mid-page", str(proxy.dropped))
    record_property("connections refused", str(proxy.refused))
    record_property("outage", f"{outage:.1f} s")
    record_property("back-offs logged", str(len(failures)))
    record_property("recovered after", f"{recovered:.1f} s")
    record_property("daemon restarts", "0")
    record_property("posts lost", "0")
    record_property("posts duplicated", "0")


class Lock:
    """Another process's write lock on a SQLite file (BEGIN EXCLUSIVE), until released."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.conn.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()


def test_sqlite_locked_past_the_busy_timeout_under_collect(
        tmp_path: Path, fake: Mastodon, record_property: pytest.RecordProperty) -> None:
    """SQLite locked by another process past the busy timeout: collect fails with one line"""
    db = tmp_path / "rounds.db"
    cfg = write_config(tmp_path / "rounds.toml", f"sqlite:///{db}?timeout=1", fake.server,
                       ["icu"])
    fake.add_pages("icu", 1)
    assert rounds(cfg, "collect").returncode == 0
    fake.add_pages("icu", 2)
    lock = Lock(db)
    try:
        started = time.monotonic()
        done = rounds(cfg, "collect")
        waited = time.monotonic() - started
    finally:
        lock.release()
    assert done.returncode == 1, done.stdout + done.stderr
    line = one_line_error(done.stderr)
    assert line.startswith(f"error: database {db} is locked by another process"), line
    done = rounds(cfg, "collect")
    assert done.returncode == 0, done.stderr
    url = f"sqlite:///{db}"
    total, distinct, _ = _counts(url)
    assert total == distinct == 3 * PAGE and _keys(url) == fake.keys("icu")
    record_property("busy timeout", "1 s")
    record_property("failed pass took", f"{waited:.1f} s")
    record_property("posts lost", "0")
    record_property("posts duplicated", "0")


def test_sqlite_locked_past_the_busy_timeout_under_the_daemon(
        tmp_path: Path, fake: Mastodon, record_property: pytest.RecordProperty) -> None:
    """SQLite locked by another process past the busy timeout: the daemon pauses and resumes"""
    db = tmp_path / "rounds.db"
    url = f"sqlite:///{db}"
    cfg = write_config(tmp_path / "rounds.toml", f"{url}?timeout=1", fake.server, TAGS,
                       every="1s")
    for tag in TAGS:
        fake.add_pages(tag, 1)
    log = tmp_path / "daemon.log"
    proc = spawn(cfg, "daemon", "--log-format", "json", "--log-file", str(log), log=log)
    try:
        wait_for(lambda: _counts(url)[0] == 3 * PAGE, 60, "the first passes")
        lock = Lock(db)
        try:
            for tag in TAGS:
                fake.add_pages(tag, 1)
            wait_for(lambda: sum(x.get("outcome") == "error" for x in _log(log)) >= 2, 60,
                     "the daemon to fail twice on the lock")
            held = [x for x in _log(log) if x.get("outcome") == "error"]
        finally:
            lock.release()
        wait_for(lambda: _counts(url)[1] == 6 * PAGE, 60, "every post stored")
        assert proc.poll() is None, "the daemon exited"
    finally:
        code = _stop(proc)
    assert code == 0
    total, distinct, _ = _counts(url)
    assert total == distinct == 6 * PAGE
    assert _keys(url) == {k for tag in TAGS for k in fake.keys(tag)}
    text_log = log.read_text()
    assert "Traceback" not in text_log, text_log
    assert all("is locked by another process" in str(x["error"]) for x in held), held
    assert any("reachable again" in str(x["message"]) for x in _log(log))
    record_property("failed passes while locked", str(len(held)))
    record_property("pauses", ", ".join(f"{x['paused_seconds']:g} s" for x in held))
    record_property("posts lost", "0")
    record_property("posts duplicated", "0")
