"""Issue 12 item 14, with the injected clock: when the daemon first runs each source."""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from aggregator.clock import ManualClock
from aggregator.jobs import SourceRunner
from aggregator.locking import ClaimManager
from aggregator.scheduler import Daemon
from aggregator.service import CollectService
from aggregator.settings import load_settings
from aggregator.storage.db import Database, open_database
from aggregator.storage.repository import Repository
from aggregator.storage.schema import sources

CONFIG = "".join(
    f'[[sources]]\nname = "{name}"\naccount = "med"\nhashtag = "{name}"\nevery = "1h"\n'
    for name in ("never", "overdue", "recent", "also-never"))


def test_overdue_sources_run_at_once_the_others_when_due(tmp_path: Path, db: Database,
                                                          clock: ManualClock) -> None:
    path = tmp_path / "rounds.toml"
    path.write_text('[accounts.med]\nnetwork = "mastodon"\nbase_url = "https://m.example"\n'
                    + CONFIG)
    path.chmod(0o600)
    settings = load_settings(str(path), environ={})
    repo = Repository(db, clock)

    def no_network(account: object) -> object:
        raise AssertionError("scheduling must not collect")

    service = CollectService(settings, repo, no_network, clock)  # type: ignore[arg-type]
    runner = SourceRunner(service, ClaimManager(db, clock, lock_dir=tmp_path), clock)
    runner.source_ids()
    now = clock.now()
    with db.engine.begin() as conn:
        for name, ago in (("overdue", timedelta(hours=3)), ("recent", timedelta(minutes=10))):
            conn.execute(update(sources).where(sources.c.name == name)
                         .values(last_run_at=now - ago))
    daemon = Daemon(lambda stop: runner, clock)
    daemon.sync_jobs(runner)
    first = {job.name: job.next_run_time for job in daemon._scheduler.get_jobs()}
    assert first["never"] == now and first["overdue"] == now and first["also-never"] == now
    due = now - timedelta(minutes=10) + timedelta(hours=1)
    assert due <= first["recent"] <= due + timedelta(seconds=60)  # staggered a little


def test_the_database_going_away_does_not_stop_the_daemon(
        tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    """The main loop reads the archive when a run ends (when is the source next due?) and
    on SIGHUP (the new sources' last runs). PostgreSQL dropping its connections at that
    moment stopped the daemon (CI: 'daemon stopped' right after the first back-off) instead
    of pausing. Here another process holds the SQLite archive exclusively."""
    path = tmp_path / "rounds.toml"
    path.write_text('[accounts.med]\nnetwork = "mastodon"\nbase_url = "https://m.example"\n'
                    + CONFIG)
    path.chmod(0o600)
    settings = load_settings(str(path), environ={})
    archive = tmp_path / "a.db"
    db = open_database(f"sqlite:///{archive}?timeout=0.2")

    def make_runner(_stop: object) -> SourceRunner:
        service = CollectService(settings, Repository(db, clock),
                                 lambda account: None,  # type: ignore[arg-type,return-value]
                                 clock)
        return SourceRunner(service, ClaimManager(db, clock, lock_dir=tmp_path), clock)

    daemon = Daemon(make_runner, clock)
    daemon.sync_jobs(daemon.make_runner(daemon.stopping.is_set))
    before = {job.id: job.next_run_time for job in daemon._scheduler.get_jobs()}
    db.engine.dispose()  # idle pooled connections keep a shared lock on a WAL archive
    holder = sqlite3.connect(archive, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")  # in WAL mode: readers kept out too
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("UPDATE sources SET name = name")
    try:
        daemon._paced.put("never")  # the run of "never" has just ended
        with caplog.at_level(logging.WARNING, logger="aggregator.scheduler"):
            daemon.tend()  # each raised DatabaseBusy out of the main loop before
            daemon.reload()
        after = {job.id: job.next_run_time for job in daemon._scheduler.get_jobs()}
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        daemon.shutdown()
        db.dispose()
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("source=never: next turn kept as planned") and "locked" in m
               for m in messages), messages
    assert any(m.startswith("configuration not reloaded: database") and "locked" in m
               for m in messages), messages
    assert after == before  # the schedule runs on as it was
