"""Build a demo archive from sample posts bundled with the package.

The samples are real recorded API responses (Mastodon statuses, X v2 pages; see
tests/data/PROVENANCE.md) plus synthetic health posts, so that every topic has posts.
They go through the same path as collection: the network's normalizer, the topics
classifier, and Repository.save_page, one page at a time.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from aggregator.clock import Clock
from aggregator.models import Author, Page, Post, Target
from aggregator.service import Classify
from aggregator.settings import (
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

DEMO_DATA = Path(__file__).parent / "data" / "demo"


def demo_database_url() -> str:
    """demo.db next to the default archive: the demo never touches the user's own."""
    return default_database_url().replace("rounds.db", "demo.db")


def demo_settings(url: str) -> Settings:
    return Settings(
        path=None, database_url=url,
        accounts={
            "demo-mastodon": AccountSettings("demo-mastodon", "mastodon",
                                             "https://mastodon.example"),
            "demo-x": AccountSettings("demo-x", "twitter", "https://api.twitter.com"),
        },
        sources=(
            SourceSettings("health-list", "demo-mastodon", Target("list", "1")),
            SourceSettings("medmastodon", "demo-mastodon", Target("hashtag", "MedMastodon")),
            SourceSettings("x-health-list", "demo-x", Target("list", "1")),
        ),
        views=(
            ViewSettings("Papers", "type:paper"),
            ViewSettings("Heart, last week", "topic:cardiology since:7d"),
            ViewSettings("With media", "has:media"),
        ),
    )


@dataclass
class DemoSummary:
    url: str
    posts: int = 0
    by_network: dict[str, int] = field(default_factory=dict)
    by_topic: dict[str, int] = field(default_factory=dict)


def _load(name: str) -> Any:
    return json.loads((DEMO_DATA / name).read_text(encoding="utf-8"))


def _synthetic(clock: Clock) -> list[Post]:
    now = clock.now().replace(second=0, microsecond=0)
    out = []
    for i, item in enumerate(_load("synthetic.json")["posts"]):
        handle = item["handle"]
        author = Author("mastodon", handle, handle, item["name"],
                        url=f"https://{handle.split('@')[1]}/@{handle.split('@')[0]}",
                        bio=item["bio"])
        key = f"https://{handle.split('@')[1]}/users/{handle.split('@')[0]}/statuses/{9000 + i}"
        out.append(Post(
            network="mastodon", key=key, remote_id=str(9000 + i), url=key, author=author,
            created_at=now - timedelta(minutes=int(item["minutes_ago"])), text=item["text"],
            raw=json.dumps(item), lang="en", hashtags=tuple(item["hashtags"]),
            links=tuple(item["links"])))
    return out


def build_demo(db: Database, repo: Repository, settings: Settings, classify: Classify,
               clock: Clock) -> DemoSummary:
    """Ingest the bundled samples into `db`; idempotent (posts are upserted)."""
    from aggregator.collectors.mastodon.normalize import normalize_statuses
    from aggregator.collectors.twitter.entities import TweetPage
    from aggregator.collectors.twitter.normalize import normalize_page

    ids = repo.sync_sources(settings)
    topics_of = {s.name: s.topics for s in settings.sources}

    def save(source: str, batch: list[Post]) -> None:
        for network in ("mastodon", "twitter"):
            same = [p for p in batch if p.network == network]
            if same:
                repo.save_page(ids[source], Page(tuple(same), None),
                               [classify(p, topics_of[source]) for p in same])

    for i, statuses in enumerate(_load("mastodon.json")["pages"]):
        save("health-list" if i % 2 == 0 else "medmastodon", normalize_statuses(statuses))
    for body in _load("twitter.json")["pages"]:
        save("x-health-list", normalize_page(TweetPage.from_json(body)))
    synthetic = _synthetic(clock)
    save("health-list", synthetic[::2])
    save("medmastodon", synthetic[1::2])
    return summarize(db)


def summarize(db: Database) -> DemoSummary:
    summary = DemoSummary(db.url)
    with db.engine.connect() as conn:
        summary.by_network = {n: int(c) for n, c in conn.execute(
            select(posts.c.network, func.count()).group_by(posts.c.network))}
        summary.by_topic = {t: int(c) for t, c in conn.execute(
            select(post_topics.c.topic, func.count()).group_by(post_topics.c.topic)
            .order_by(func.count().desc()))}
    summary.posts = sum(summary.by_network.values())
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
