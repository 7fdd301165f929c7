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

import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from aggregator.storage.schema import post_sources, sources
from tests.reliability.machine import (
    PAGE,
    Mastodon,
    TcpProxy,
    log_lines,
    one_line_error,
    post_count,
    rounds,
    run_errors,
    spawn,
    stop,
    stored_keys,
    wait_for,
    write_config,
)

REPORT_NETWORK = "mastodon"
TAGS = ["icu", "ed", "peds"]


def _per_source(url: str) -> dict[str, int]:
    """Posts per source, read directly (not through the proxy)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {name: int(n) for name, n in conn.execute(
                select(sources.c.name, func.count())
                .join(post_sources, post_sources.c.source_id == sources.c.id)
                .group_by(sources.c.name))}
    finally:
        engine.dispose()


def _exactly_once(url: str) -> set[str]:
    keys = stored_keys(url)
    assert len(keys) == len(set(keys)), "a post was stored twice"
    return set(keys)


@pytest.mark.postgres
def test_postgres_drops_and_refuses_connections_under_the_daemon(
        tmp_path: Path, pg_url: str, mastodon: Mastodon,
        record_property: pytest.RecordProperty) -> None:
    """PostgreSQL drops every connection mid-page and refuses new ones: the daemon rides it out"""
    real = make_url(pg_url)
    proxy = TcpProxy((real.host or "127.0.0.1", real.port or 5432)).start()
    via_proxy = real.set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False)
    direct = real.render_as_string(hide_password=False)
    for tag in TAGS:
        mastodon.add_pages(tag, 1)
    cfg = write_config(tmp_path / "rounds.toml", via_proxy, mastodon.server, TAGS, every="1s")
    log = tmp_path / "daemon.log"
    proc = spawn(cfg, "daemon", "--log-format", "json", "--log-file", str(log), log=log)
    try:
        wait_for(lambda: post_count(direct) == 3 * PAGE, 60, "the first passes")
        # the next page of "ed": the proxy drops everything when its first post's key is
        # sent (the page's transaction is open by then: its authors are written) and
        # refuses new connections; the other sources get new pages too
        page = [mastodon.api.make_status() for _ in range(PAGE)]
        proxy.drop_when_sent(page[0]["uri"].encode())
        mastodon.api.add_statuses("tag:ed", page)
        for tag in TAGS:
            if tag != "ed":
                mastodon.add_pages(tag, 2)
        wait_for(lambda: proxy.dropped_at is not None, 60, "the drop mid-page")
        # refused until the daemon has failed three times in a row (paused 1 s, 2 s, 4 s)
        wait_for(lambda: len(run_errors(log)) >= 3, 60, "the daemon's retries to be refused")
        assert proc.poll() is None, "the daemon exited"
        outage = time.monotonic() - (proxy.dropped_at or 0)
        proxy.allow()
        allowed = time.monotonic()
        expected = {k for tag in TAGS for k in mastodon.keys(tag)}
        wait_for(lambda: post_count(direct) == len(expected), 60, "every post stored")
        recovered = time.monotonic() - allowed
        assert proc.poll() is None, "the daemon exited"
    finally:
        code = stop(proc)
        proxy.stop()
    assert code == 0
    assert _exactly_once(direct) == expected, "a post was lost"
    assert _per_source(direct) == {tag: len(mastodon.keys(tag)) for tag in TAGS}
    lines = log_lines(log)
    text_log = log.read_text()
    assert "Traceback" not in text_log, text_log
    failures = run_errors(log)
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
        tmp_path: Path, mastodon: Mastodon, record_property: pytest.RecordProperty) -> None:
    """SQLite locked by another process past the busy timeout: collect fails with one line"""
    db = tmp_path / "rounds.db"
    cfg = write_config(tmp_path / "rounds.toml", f"sqlite:///{db}?timeout=1", mastodon.server,
                       ["icu"])
    mastodon.add_pages("icu", 1)
    assert rounds(cfg, "collect").returncode == 0
    mastodon.add_pages("icu", 2)
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
    assert _exactly_once(url) == mastodon.keys("icu")
    record_property("busy timeout", "1 s")
    record_property("failed pass took", f"{waited:.1f} s")
    record_property("posts lost", "0")
    record_property("posts duplicated", "0")


def test_sqlite_locked_past_the_busy_timeout_under_the_daemon(
        tmp_path: Path, mastodon: Mastodon, record_property: pytest.RecordProperty) -> None:
    """SQLite locked by another process past the busy timeout: the daemon pauses and resumes"""
    db = tmp_path / "rounds.db"
    url = f"sqlite:///{db}"
    cfg = write_config(tmp_path / "rounds.toml", f"{url}?timeout=1", mastodon.server, TAGS,
                       every="1s")
    for tag in TAGS:
        mastodon.add_pages(tag, 1)
    log = tmp_path / "daemon.log"
    proc = spawn(cfg, "daemon", "--log-format", "json", "--log-file", str(log), log=log)
    try:
        wait_for(lambda: post_count(url) == 3 * PAGE, 60, "the first passes")
        lock = Lock(db)
        try:
            for tag in TAGS:
                mastodon.add_pages(tag, 1)
            wait_for(lambda: len(run_errors(log)) >= 2, 60, "the daemon to fail twice on the lock")
            held = run_errors(log)
        finally:
            lock.release()
        wait_for(lambda: post_count(url) == 6 * PAGE, 60, "every post stored")
        assert proc.poll() is None, "the daemon exited"
    finally:
        code = stop(proc)
    assert code == 0
    assert _exactly_once(url) == {k for tag in TAGS for k in mastodon.keys(tag)}
    text_log = log.read_text()
    assert "Traceback" not in text_log, text_log
    assert all("is locked by another process" in str(x["error"]) for x in held), held
    assert any("reachable again" in str(x["message"]) for x in log_lines(log))
    record_property("failed passes while locked", str(len(held)))
    record_property("pauses", ", ".join(f"{x['paused_seconds']:g} s" for x in held))
    record_property("posts lost", "0")
    record_property("posts duplicated", "0")
