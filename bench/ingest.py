"""Ingest: normalize + classify + store + full-text index, against sqlite-utils upsert_all.

Ours: raw status dicts -> normalize_statuses -> classify + find the scholarly works
(aggregator.papers.detect, as the collect service does) -> Repository.save_page (pages of
`page` posts; the FTS5 index is kept by the schema's triggers, the PostgreSQL tsvector is
a generated column), into a freshly migrated database.

The anchor, in the same run on the same dicts: what mastodon-to-sqlite/twitter-to-sqlite
do with a page of statuses: accounts split out and `upsert_all(pk="id", alter=True)`,
statuses `upsert_all(pk="id", alter=True)` with the account replaced by its id (nested
objects stored as JSON text). No classification, no text rendering, no search index.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.generate import bench_settings


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def ingest_ours(url: str, statuses: list[dict[str, Any]], page: int = 1000
                ) -> tuple[float, int]:
    """Seconds to ingest `statuses` into a fresh database at `url`; and posts stored."""
    from aggregator.clock import SystemClock
    from aggregator.collectors.mastodon.normalize import AuthorCache, normalize_statuses
    from aggregator.models import Page
    from aggregator.papers.detect import detect_post
    from aggregator.storage.db import open_database
    from aggregator.storage.repository import Repository
    from aggregator.topics.wiring import make_classify

    settings = bench_settings(url, n_sources=1)
    db = open_database(url)
    try:
        repo = Repository(db, SystemClock())
        source_id = repo.sync_sources(settings)["src00"]
        classify = make_classify(settings)
        new = 0
        authors = AuthorCache()  # as a collector keeps one for its lifetime
        started = time.perf_counter()
        for batch in _chunks(statuses, page):
            posts = tuple(normalize_statuses(batch, authors))
            topics = [classify(p, ()) for p in posts]
            works = [detect_post(p) for p in posts]
            new += repo.save_page(source_id, Page(posts, None), topics, works).new
        seconds = time.perf_counter() - started
    finally:
        db.dispose()
    return seconds, new


def _per_post(posts: list[Any], fn: Any, runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        for post in posts:
            fn(post)
        seconds.append(time.perf_counter() - started)
    return seconds


def classify_seconds(statuses: list[dict[str, Any]], runs: int) -> tuple[int, list[float]]:
    """Classification alone, one core: (posts, seconds per run) over the normalized
    statuses, with the default taxonomy, as ingest classifies them."""
    from aggregator.collectors.mastodon.normalize import normalize_statuses
    from aggregator.topics.wiring import make_classify

    posts = normalize_statuses(statuses)
    classify = make_classify(bench_settings("sqlite://", n_sources=1))
    return len(posts), _per_post(posts, lambda post: classify(post, ()), runs)


def detect_seconds(statuses: list[dict[str, Any]], runs: int) -> tuple[int, int, list[float]]:
    """Finding the scholarly works alone, one core, as ingest does (aggregator.papers):
    (posts, posts sharing a work, seconds per run). idutils is imported before timing
    (once per process: it compiles its patterns, see aggregator.papers.detect)."""
    from aggregator.collectors.mastodon.normalize import normalize_statuses
    from aggregator.papers.detect import detect_post

    posts = normalize_statuses(statuses)
    sharing = sum(1 for post in posts if detect_post(post))
    return len(posts), sharing, _per_post(posts, detect_post, runs)


def sqlite_utils_rows(statuses: list[dict[str, Any]]
                      ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    accounts: dict[str, dict[str, Any]] = {}
    rows = []
    for status in statuses:
        account = status["account"]
        accounts[account["id"]] = account
        row = dict(status)
        del row["account"]
        row["account_id"] = account["id"]
        rows.append(row)
    return rows, list(accounts.values())


def upsert_sqlite_utils(db: Any, statuses: list[dict[str, Any]]) -> None:
    rows, accounts = sqlite_utils_rows(statuses)
    db["accounts"].upsert_all(accounts, pk="id", alter=True)
    db["statuses"].upsert_all(rows, pk="id", alter=True)


def ingest_sqlite_utils(path: Path, statuses: list[dict[str, Any]], page: int = 1000
                        ) -> tuple[float, int]:
    import sqlite_utils

    db = sqlite_utils.Database(path)
    try:
        started = time.perf_counter()
        for batch in _chunks(statuses, page):
            upsert_sqlite_utils(db, batch)
        seconds = time.perf_counter() - started
        count = db["statuses"].count
    finally:
        db.close()
    return seconds, count


def fresh_sqlite(tmp: Path, name: str) -> tuple[str, Path]:
    path = tmp / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}", path


def tempdir() -> tempfile.TemporaryDirectory[str]:
    from bench.generate import OUT

    OUT.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(dir=OUT, prefix="tmp-")
