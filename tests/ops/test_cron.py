"""`rounds collect --due` from cron: only due sources, never one source twice at once,
several processes sharing the work (SQLite file locks, PostgreSQL row leases)."""

from __future__ import annotations

import itertools
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from aggregator.cli import main
from aggregator.clock import SystemClock
from aggregator.storage.db import open_database
from aggregator.storage.schema import post_sources, posts, sources
from tests.fakes.mastodon import LIST_ID, TAG
from tests.ops.conftest import OpsFake, WriteConfig, register_sources, run_rows, spawn

ALL = ("icu-list", "tag", "someone")


def _set(url: str, name: str, **values: object) -> None:
    db = open_database(url)
    try:
        with db.engine.begin() as conn:
            conn.execute(update(sources).where(sources.c.name == name).values(**values))
    finally:
        db.dispose()


def _runs_per_source(url: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, *_ in run_rows(url):
        counts[name] = counts.get(name, 0) + 1
    return counts


def _assert_no_overlap(url: str) -> None:
    rows = run_rows(url)
    for name in {r[0] for r in rows}:
        mine = sorted((r[1], r[2]) for r in rows if r[0] == name)
        assert all(r is not None for _, r in mine)
        for (_, end), (start, _) in itertools.pairwise(mine):
            assert start >= end, f"{name}: two runs at once"  # type: ignore[operator]


def test_due_runs_only_sources_whose_interval_passed(write_config: WriteConfig,
                                                     db_url: str) -> None:
    cfg = write_config(every="1h")
    assert main(["--config", str(cfg), "collect", "--due"]) == 0
    assert _runs_per_source(db_url) == dict.fromkeys(ALL, 1)  # never run: all due
    assert main(["--config", str(cfg), "collect", "--due"]) == 0
    assert _runs_per_source(db_url) == dict.fromkeys(ALL, 1)  # a minute later: none due
    past = SystemClock().now() - timedelta(hours=1, minutes=1)
    _set(db_url, "tag", last_run_at=past)
    assert main(["--config", str(cfg), "collect", "--due"]) == 0
    assert _runs_per_source(db_url) == {"icu-list": 1, "tag": 2, "someone": 1}


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite: OS file locks
def test_a_source_claimed_by_a_live_worker_is_skipped_and_a_dead_ones_taken_over(
        write_config: WriteConfig, db_url: str) -> None:
    cfg = write_config(every="1h")
    register_sources(cfg, db_url)
    now = SystemClock().now()
    _set(db_url, "icu-list", claimed_by="host-a:1:alive",
         claim_expires_at=now + timedelta(minutes=5))
    _set(db_url, "tag", claimed_by="host-b:2:dead", claim_expires_at=now - timedelta(seconds=1))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a collector of this host that was killed: no need to wait for its lease
    _set(db_url, "someone", claimed_by=f"{socket.gethostname()}:{gone.pid}:killed",
         claim_expires_at=now + timedelta(minutes=5))
    assert main(["--config", str(cfg), "collect", "--due"]) == 0
    assert _runs_per_source(db_url) == {"tag": 1, "someone": 1}
    db = open_database(db_url)
    with db.engine.connect() as conn:
        claims = {r.name: r.claimed_by for r in conn.execute(select(sources))}
    db.dispose()
    assert claims == {"icu-list": "host-a:1:alive", "tag": None, "someone": None}


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_overlapping_cron_runs_on_sqlite_never_collect_one_source_at_once(
        write_config: WriteConfig, fake: OpsFake, db_url: str, tmp_path: Path) -> None:
    for key in (f"list:{LIST_ID}", f"tag:{TAG}"):
        fake.fill(key, 120)
    fake.delay = 0.05
    cfg = write_config(every="1h")
    open_database(db_url).dispose()  # created and migrated before the workers start
    procs = [spawn(cfg, "collect", "--due", log=tmp_path / f"cron{i}.log") for i in range(2)]
    codes = [p.wait(timeout=120) for p in procs]
    assert codes == [0, 0], [(tmp_path / f"cron{i}.log").read_text() for i in range(2)]
    _assert_no_overlap(db_url)
    assert _runs_per_source(db_url) == dict.fromkeys(ALL, 1)  # the other one skipped it


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_three_collectors_share_one_postgresql(write_config: WriteConfig, fake: OpsFake,
                                               db_url: str, tmp_path: Path) -> None:
    timelines = [f"list:{LIST_ID}", f"tag:{TAG}", "account:117020565966271181"]
    for i in range(6):
        fake.fill(f"tag:ops{i}", 90)
        timelines.append(f"tag:ops{i}")
    fake.fill(f"list:{LIST_ID}", 90)
    fake.delay = 0.03
    cfg = write_config(every="1h", tags=6)
    open_database(db_url).dispose()  # created and migrated before the workers start
    procs = [spawn(cfg, "collect", "--due", log=tmp_path / f"w{i}.log") for i in range(3)]
    codes = [p.wait(timeout=180) for p in procs]
    logs = [(tmp_path / f"w{i}.log").read_text() for i in range(3)]
    assert codes == [0, 0, 0], logs
    _assert_no_overlap(db_url)
    names = [*ALL, *(f"tag{i}" for i in range(6))]
    assert _runs_per_source(db_url) == dict.fromkeys(names, 1)  # each collected, once
    assert all(r[3] == "ok" for r in run_rows(db_url))
    expected = fake.all_keys(*timelines)
    db = open_database(db_url)
    with db.engine.connect() as conn:
        keys = [r[0] for r in conn.execute(select(posts.c.key))]
        per_source: dict[str, int] = dict(conn.execute(
            select(sources.c.name, func.count()).join(
                post_sources, post_sources.c.source_id == sources.c.id).group_by(sources.c.name)
        ).all())
    db.dispose()
    assert len(keys) == len(set(keys))  # stored exactly once
    assert set(keys) == expected  # and every one of them
    assert per_source["tag0"] == 90
    lines = [line.split("\t") for log in logs for line in log.splitlines() if "\t" in line]
    for name in names:  # each worker's summary: one collected it, the others skipped it
        mine = [parts[-1] for parts in lines if parts[0] == name]
        assert mine.count("ok") == 1, (name, mine)
        assert all(m == "ok" or m.startswith("skipped") for m in mine), mine
