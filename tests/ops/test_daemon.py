"""`rounds daemon` against the loopback fake: sources collected on schedule, clean stop."""

from __future__ import annotations

import itertools
import json
import signal
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from aggregator.storage.db import open_database
from aggregator.storage.schema import posts
from tests.conftest import wait_until
from tests.fakes.mastodon import LIST_ID, MastodonFake
from tests.ops.conftest import WriteConfig, run_rows, spawn


def _post_keys(url: str) -> set[str]:
    db = open_database(url)
    try:
        with db.engine.connect() as conn:
            return {r[0] for r in conn.execute(select(posts.c.key))}
    finally:
        db.dispose()


def _wait(predicate: Callable[[], object], timeout: float) -> bool:
    return wait_until(predicate, timeout, every=0.2)


@pytest.mark.slow
def test_daemon_collects_each_source_on_schedule_and_stops_on_sigterm(
        write_config: WriteConfig, fake: MastodonFake, db_url: str, tmp_path: Path) -> None:
    cfg = write_config(every="1s")
    log = tmp_path / "daemon.log"
    proc = spawn(cfg, "daemon", "--log-format", "json", "--log-file", str(log))
    try:
        assert _wait(lambda: {r[0] for r in run_rows(db_url)} >= {"icu-list", "tag", "someone"},
                     20), log.read_text() if log.exists() else "no log"
        fresh = fake.api.add_new(f"list:{LIST_ID}", 3)  # arrives while the daemon runs
        wanted = {s["uri"] for s in fresh}
        assert _wait(lambda: wanted <= _post_keys(db_url), 10)
        time.sleep(3)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
    assert code == 0
    rows = run_rows(db_url)
    by_source = {name: [r for r in rows if r[0] == name] for name in ("icu-list", "tag", "someone")}
    for name, mine in by_source.items():
        assert len(mine) >= 3, (name, mine)  # several intervals, each source on schedule
        assert all(r[3] == "ok" for r in mine), mine  # nothing left "running" or failed
        starts: list[datetime] = [r[1] for r in mine]  # type: ignore[misc]
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(starts)]
        assert all(g >= 0.5 for g in gaps), gaps  # about every second, never piled up
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    run_lines = [x for x in lines if x.get("event") == "run"]
    assert len(run_lines) == len(rows)  # one log line per run
    assert {x["source"] for x in run_lines} == {"icu-list", "tag", "someone"}
    assert lines[-1]["message"] == "daemon stopped"
    assert "fake-mastodon-token" not in log.read_text()


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sighup_picks_up_a_new_interval(write_config: WriteConfig, db_url: str,
                                        tmp_path: Path) -> None:
    cfg = write_config(every="1h")
    log = tmp_path / "daemon.log"
    proc = spawn(cfg, "daemon", "--log-file", str(log))
    try:
        assert _wait(lambda: len(run_rows(db_url)) >= 1, 30)  # the first, staggered start
        write_config(every="1s")
        proc.send_signal(signal.SIGHUP)
        assert _wait(lambda: all(
            sum(r[0] == name for r in run_rows(db_url)) >= 3
            for name in ("icu-list", "tag", "someone")), 20), log.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    assert "configuration reloaded" in log.read_text()


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_overdue_sources_are_collected_at_once_and_alembic_stays_quiet(
        write_config: WriteConfig, db_url: str, tmp_path: Path) -> None:
    """Issue 12 item 14: every source is overdue at the first start; none waits for a
    stagger slot (the third used to wait 40 s), and migrating the new database logs nothing
    at the default level."""
    cfg = write_config(every="1h")
    log = tmp_path / "daemon.log"
    proc = spawn(cfg, "daemon", "--log-file", str(log))
    try:
        assert _wait(lambda: {r[0] for r in run_rows(db_url)} >= {"icu-list", "tag", "someone"},
                     15), log.read_text() if log.exists() else "no log"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    text = log.read_text()
    assert "alembic" not in text and "Context impl" not in text, text
