"""Issue 12 item 14, with the injected clock: when the daemon first runs each source."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from aggregator.clock import ManualClock
from aggregator.jobs import SourceRunner
from aggregator.locking import ClaimManager
from aggregator.scheduler import Daemon
from aggregator.service import CollectService
from aggregator.settings import load_settings
from aggregator.storage.db import Database
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
