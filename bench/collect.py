"""Collect from the loopback fake: ours end to end vs the mastodon-to-sqlite pipeline,
plus politeness (requests per new post, zero 429s under a tight budget).

The fake (tests/fakes/mastodon.py) pages like Mastodon (Link headers, limit 40) on
127.0.0.1, in a process of its own (bench/fakeproc.py), as a real server is not in the
collector's process: its CPU does not share the collectors' GIL. Both pipelines read the
same timelines from the same fake in the same run.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Fake:
    """The fake's process (bench/fakeproc.py) and how to drive it."""

    process: subprocess.Popen[str]
    base_url: str

    def _control(self, what: str, **params: object) -> Any:
        import requests

        response = requests.get(f"{self.base_url}/__bench/{what}",
                                params={k: str(v) for k, v in params.items()}, timeout=60)
        response.raise_for_status()
        return response.json()

    def requests(self, path_contains: str = "") -> int:
        return int(self._control("requests", path=path_contains))

    def timeline_requests(self) -> int:
        return self.requests("/api/v1/timelines/")

    def add_new(self, n_sources: int, per_source: int, seed: int) -> int:
        return int(self._control("add_new", sources=n_sources, per_source=per_source,
                                 seed=seed))

    def set_budget(self, limit: int, window: float) -> None:
        self._control("budget", limit=limit, window=window)

    def rejected(self) -> int:
        return int(self._control("rejected"))

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_fake(n_sources: int, per_source: int, seed: int) -> Fake:
    """The fake in a process of its own, its timelines generated there."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.fakeproc", str(n_sources), str(per_source), str(seed)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parent.parent)
    assert process.stdout is not None
    base_url = process.stdout.readline().strip()
    if not base_url.startswith("http://"):
        process.kill()
        raise SystemExit(f"the fake Mastodon did not start (exit {process.wait()})")
    return Fake(process, base_url)


def collect_settings(url: str, base_url: str, n_sources: int, backfill: int) -> Any:
    from aggregator.models import Target
    from aggregator.settings import AccountSettings, Settings, SourceSettings

    account = AccountSettings(name="bench", network="mastodon", base_url=base_url)
    sources = tuple(SourceSettings(name=f"src{i:02d}", account="bench",
                                   target=Target("hashtag", f"src{i:02d}"), backfill=backfill)
                    for i in range(n_sources))
    return Settings(path=None, database_url=url, accounts={"bench": account}, sources=sources)


def make_service(url: str, settings: Any) -> Any:
    """CollectService wired as `rounds collect` wires it (aggregator/cli/collect.py)."""
    from aggregator.clock import SystemClock
    from aggregator.collectors.registry import build_collector
    from aggregator.service import CollectService
    from aggregator.storage.db import open_database
    from aggregator.storage.repository import Repository
    from aggregator.topics.wiring import make_classify

    clock = SystemClock()
    db = open_database(url)
    repo = Repository(db, clock)
    return CollectService(settings, repo, lambda a: build_collector(a, {}, clock), clock,
                          classify=make_classify(settings))


def collect_ours(url: str, fake: Fake, n_sources: int, backfill: int
                 ) -> tuple[float, int, int, Any]:
    """(seconds, new posts, timeline requests, service) of one first pass."""
    settings = collect_settings(url, fake.base_url, n_sources, backfill)
    service = make_service(url, settings)
    service.source_ids()  # configuration sync is not collection
    before = fake.timeline_requests()
    started = time.perf_counter()
    results = service.collect()
    seconds = time.perf_counter() - started
    errors = [r.error for r in results if r.error]
    if errors:
        raise RuntimeError(f"collect failed: {errors[:3]}")
    return seconds, sum(r.new for r in results), fake.timeline_requests() - before, service


def collect_mastodon_to_sqlite(path: Any, fake: Fake, n_sources: int) -> tuple[float, int]:
    """requests + JSON + sqlite-utils upsert_all of statuses and accounts + FTS on content."""
    import requests
    import sqlite_utils

    from bench.ingest import upsert_sqlite_utils

    db = sqlite_utils.Database(path)
    session = requests.Session()
    try:
        started = time.perf_counter()
        for i in range(n_sources):
            url: str | None = f"{fake.base_url}/api/v1/timelines/tag/src{i:02d}?limit=40"
            while url:
                response = session.get(url, timeout=30)
                response.raise_for_status()
                statuses = response.json()
                if not statuses:
                    break
                upsert_sqlite_utils(db, statuses)
                url = response.links.get("next", {}).get("url")
        db["statuses"].enable_fts(["content"], create_triggers=True)
        seconds = time.perf_counter() - started
        count = db["statuses"].count
    finally:
        session.close()
        db.close()
    return seconds, count


def add_new_posts(fake: Fake, n_sources: int, per_source: int, seed: int) -> int:
    """`per_source` fresh statuses on every timeline, newer than everything there."""
    return fake.add_new(n_sources, per_source, seed)


def unchanged_then_steady(service: Any, requests: Callable[[], int],
                          add_new: Callable[[int], int], *, passes: int,
                          what: str) -> tuple[int, list[tuple[int, int, int]]]:
    """Requests of a pass over unchanged sources (which must store nothing), then of
    `passes` passes after `add_new(seed)` each: (requests, items added, posts stored)."""
    before = requests()
    if any(r.new for r in service.collect()):
        raise SystemExit(f"{what} stored new posts")
    unchanged = requests() - before
    steady = []
    for seed in range(1, passes + 1):
        added = add_new(seed)
        before = requests()
        got = sum(r.new for r in service.collect())
        steady.append((requests() - before, added, got))
    return unchanged, steady


def tight_budget(url: str, limit: int, window: float, n_sources: int, per_source: int
                 ) -> tuple[int, int, float, int]:
    """Collect more than one window's worth under a tight budget.

    Returns (requests, 429s seen by the fake, seconds, new posts).
    """
    fake = start_fake(n_sources, per_source, seed=77)
    fake.set_budget(limit, window)
    try:
        settings = collect_settings(url, fake.base_url, n_sources, per_source)
        service = make_service(url, settings)
        try:
            service.source_ids()
            started = time.perf_counter()
            results = service.collect()
            seconds = time.perf_counter() - started
        finally:
            service.close()
            service.repo.db.dispose()
        new = sum(r.new for r in results)
        return fake.requests("/api/"), fake.rejected(), seconds, new
    finally:
        fake.stop()
