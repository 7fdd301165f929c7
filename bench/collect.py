"""Collect from the loopback fake: ours end to end vs the mastodon-to-sqlite pipeline,
plus politeness (requests per new post, zero 429s under a tight budget).

The fake (tests/fakes/mastodon.py) runs in this process on 127.0.0.1 and pages like
Mastodon (Link headers, limit 40). Both pipelines read the same timelines from the same
fake in the same run, so the fake's own cost is paid by both.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.generate import START, generate_statuses


@dataclass
class Fake:
    server: Any
    api: Any
    statuses_429: list[int]

    @property
    def base_url(self) -> str:
        return str(self.server.base_url)

    def timeline_requests(self) -> int:
        return len([r for r in self.server.requests("/api/v1/timelines/")])

    def stop(self) -> None:
        self.server.stop()


def start_fake(n_sources: int, per_source: int, seed: int) -> Fake:
    from tests.fakes.mastodon import FakeMastodon
    from tests.fakes.server import LoopbackServer, Reply, Request

    api = FakeMastodon(seed=False)
    api.set_budget(10**9, 3600.0)
    for i in range(n_sources):
        statuses = generate_statuses(per_source, seed + 1000 + i, tags=[f"src{i:02d}"],
                                     n_accounts=200)
        api.add_statuses(f"tag:src{i:02d}", statuses)
    rejected: list[int] = []

    def handler(req: Request) -> Reply:
        reply = api(req)
        if reply.status == 429:
            rejected.append(1)
        return reply

    server = LoopbackServer(handler)
    # http.server writes headers and body in two send()s; with Nagle on, every response
    # then waits out the client's delayed ACK (~40 ms). Real servers set TCP_NODELAY.
    server.httpd.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
    return Fake(server.start(), api, rejected)


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
    from datetime import timedelta

    later = START + timedelta(days=3650 + seed)
    for i in range(n_sources):
        fresh = generate_statuses(per_source, seed * 100 + i, tags=[f"src{i:02d}"],
                                  start=later + timedelta(seconds=i), n_accounts=20)
        fake.api.add_statuses(f"tag:src{i:02d}", fresh)
    return n_sources * per_source


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
    fake.api.set_budget(limit, window)
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
        return len(fake.server.requests("/api/")), len(fake.statuses_429), seconds, new
    finally:
        fake.stop()
