"""`rounds demo`: a demo archive built from bundled, fictional sample posts through the
real collection path, offline.

The demo starts its own API server on 127.0.0.1 (`DemoServer`, samples.py,
samples_bluesky.py, samples_feeds.py) and points four demo accounts (Mastodon, X, an
anonymous Bluesky account reading a list as the public AppView allows, and a `feed` account
reading three health news feeds, RSS and Atom) at it; `build_demo` seeds the curated
lists (curation.py), runs one collect pass of every source through the real collectors,
normalizers, classifier and storage, then has the server publish the posts it held back,
so the reader's `R` collects new posts. The database is demo.db, never the user's archive;
the accounts' tokens are the demo server's own, never the user's environment.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from aggregator.clock import Clock
from aggregator.collectors.registry import build_collector
from aggregator.curation.sources import expand_curated, voice_topics_of
from aggregator.curation.store import CurationStore
from aggregator.demo.curation import load_curation, seed_curation
from aggregator.demo.generate_bluesky import list_uri
from aggregator.demo.samples import LIST_ID, MastodonSamples, XSamples, load_spec
from aggregator.demo.samples_bluesky import BlueskySamples
from aggregator.demo.samples_feeds import FeedSamples, feed_path, load_feeds
from aggregator.demo.samples_media import MediaSamples
from aggregator.demo.server import DEMO_TOKEN, DemoServer, SampleApi
from aggregator.models import Target
from aggregator.service import CollectService, SourceResult
from aggregator.settings import (
    FEED_MIN_EVERY,
    AccountSettings,
    Settings,
    SourceSettings,
    ViewSettings,
    default_database_url,
)
from aggregator.storage.db import Database
from aggregator.storage.repository import Repository
from aggregator.storage.schema import post_topics, posts

logger = logging.getLogger(__name__)

__all__ = ["DemoServer", "DemoSummary", "build_demo", "demo_database_url", "demo_server",
           "demo_service", "demo_settings", "reset_sqlite", "sample_apis", "summarize"]

# The demo accounts read their tokens from this mapping, not from os.environ: the user's
# own tokens are never sent to the demo server.
_TOKEN_ENV = {"mastodon": "ROUNDS_DEMO_MASTODON_TOKEN", "twitter": "ROUNDS_DEMO_X_BEARER"}
DEMO_ENVIRON = {name: DEMO_TOKEN for name in _TOKEN_ENV.values()}


def demo_database_url() -> str:
    """demo.db next to the default archive: the demo never touches the user's own."""
    return default_database_url().replace("rounds.db", "demo.db")


def sample_apis(now: datetime) -> list[SampleApi]:
    """Every network's sample API, with the samples' times moved so the newest is `now`."""
    return [MastodonSamples(now), XSamples(now), BlueskySamples(now), FeedSamples(now),
            MediaSamples(now)]


@contextmanager
def demo_server(clock: Clock) -> Iterator[DemoServer]:
    """The demo's API server, running until the block ends."""
    with DemoServer(sample_apis(clock.now())) as server:
        yield server


def demo_settings(url: str, base_url: str) -> Settings:
    """The demo's configuration: accounts on the demo server at `base_url`."""
    curated = load_curation()["source"]
    return Settings(
        path=None, database_url=url,
        accounts={
            "demo-mastodon": AccountSettings("demo-mastodon", "mastodon", base_url,
                                             token_env=_TOKEN_ENV["mastodon"]),
            "demo-x": AccountSettings("demo-x", "twitter", base_url,
                                      bearer_token_env=_TOKEN_ENV["twitter"]),
            # no handle: anonymous reads, as from https://public.api.bsky.app
            "demo-bluesky": AccountSettings("demo-bluesky", "bluesky", base_url),
            # feeds log in nowhere; each source names its document (plain http is allowed
            # on loopback only, as in a configuration file)
            "demo-feeds": AccountSettings("demo-feeds", "feed", ""),
        },
        sources=(
            SourceSettings("health-list", "demo-mastodon", Target("list", LIST_ID)),
            SourceSettings("medmastodon", "demo-mastodon", Target("hashtag", "MedMastodon")),
            SourceSettings("x-health-list", "demo-x", Target("list", LIST_ID)),
            SourceSettings("medsky-list", "demo-bluesky",
                           Target("list", list_uri(load_spec()))),
            SourceSettings(curated["name"], "demo-mastodon",
                           Target("curated", curated["list"])),
            *(SourceSettings(feed["id"], "demo-feeds",
                             Target("feed", base_url + feed_path(feed)), every=FEED_MIN_EVERY)
              for feed in load_feeds()),
        ),
        views=(
            ViewSettings("Paper links", "type:paper"),  # a list; Papers ranks the works
            ViewSettings("Heart, last week", "topic:cardiology since:7d"),
            ViewSettings("With media", "has:media"),
        ),
    )


def demo_service(settings: Settings, db: Database, repo: Repository,
                 clock: Clock) -> CollectService:
    """The collect service on the demo accounts, as `rounds collect` builds it."""
    from aggregator.topics.wiring import make_classify

    curation = CurationStore(db, clock)
    expanded = expand_curated(settings, curation)
    return CollectService(expanded, repo,
                          lambda account: build_collector(account, DEMO_ENVIRON, clock),
                          clock, classify=make_classify(expanded, voice_topics_of(curation)))


@dataclass
class DemoSummary:
    url: str
    posts: int = 0
    by_network: dict[str, int] = field(default_factory=dict)
    by_topic: dict[str, int] = field(default_factory=dict)
    lists: dict[str, int] = field(default_factory=dict)  # curated list -> members
    results: list[SourceResult] = field(default_factory=list)
    held_back: int = 0  # posts the server publishes after the build, for `R`


def build_demo(db: Database, repo: Repository, settings: Settings, clock: Clock,
               server: DemoServer) -> DemoSummary:
    """Seed the curated lists, collect every source from `server` once, then let the
    server publish its later posts. Idempotent on an existing demo archive."""
    seed_curation(db, clock)
    service = demo_service(settings, db, repo, clock)
    try:
        results = service.collect()
    finally:
        service.close()
    for result in results:
        if result.error:
            logger.warning("demo source %s: %s", result.name, result.error)
    summary = summarize(db, clock)
    summary.results = results
    summary.held_back = server.publish_later()
    return summary


def summarize(db: Database, clock: Clock) -> DemoSummary:
    summary = DemoSummary(db.url)
    with db.engine.connect() as conn:
        summary.by_network = {n: int(c) for n, c in conn.execute(
            select(posts.c.network, func.count()).group_by(posts.c.network))}
        summary.by_topic = {t: int(c) for t, c in conn.execute(
            select(post_topics.c.topic, func.count()).group_by(post_topics.c.topic)
            .order_by(func.count().desc(), post_topics.c.topic))}
    summary.posts = sum(summary.by_network.values())
    store = CurationStore(db, clock)
    summary.lists = {lst.name: len(store.members(lst.name)) for lst in store.list_lists()}
    return summary


def reset_sqlite(url: str) -> None:
    """Remove an earlier demo database file so the demo starts fresh."""
    if not url.startswith("sqlite:///"):
        return
    path = Path(url.removeprefix("sqlite:///")).expanduser()
    for suffix in ("", "-wal", "-shm"):
        candidate = path.with_name(path.name + suffix)
        if candidate.exists():
            candidate.unlink()
