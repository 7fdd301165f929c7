"""The SQLite fast path (`sqlite_pages`) and the Core path store the same rows.

The same pages (repeats, boosts, edits, changed authors, media, topics, non-ASCII) go
through both; every table a page writes must come out identical: row for row with the
same ids between the two SQLite paths, and by natural key against PostgreSQL's Core path
(PostgreSQL spends sequence numbers on conflicts, so its ids may differ).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, select, text

from aggregator.clock import ManualClock
from aggregator.models import Author, Boost, Media, Page, Post, Target, TopicLike
from aggregator.service import SourceMatch
from aggregator.settings import AccountSettings, Settings, SourceSettings
from aggregator.storage.archive_schema import post_versions
from aggregator.storage.db import Database, open_database
from aggregator.storage.repository import Repository
from aggregator.storage.schema import accounts, boosts, post_sources, post_topics, posts, sources

T0 = datetime(2026, 11, 1, 12, 0, 0, 123456, tzinfo=UTC)
TABLES = (accounts, posts, boosts, post_sources, post_topics, post_versions)


def who(name: str, display: str = "") -> Author:
    return Author("mastodon", f"{name}@med.example", f"{name}@Med.Example",
                  display or name.title(), url=f"https://med.example/@{name}", bio="ICU 🩺")


def post(n: int, author: Author, **kw: Any) -> Post:
    fields: dict[str, Any] = {
        "network": "mastodon", "key": f"https://med.example/statuses/{n}",
        "remote_id": str(10**17 + n), "url": f"https://med.example/@x/{n}", "author": author,
        "created_at": T0 + timedelta(minutes=n), "text": f"post {n} — Überdosis 💊",
        "raw": f'{{"id":"{n}"}}', **kw}
    return Post(**fields)


def boost(n: int, by: Author) -> Boost:
    return Boost(by, str(2 * 10**17 + n), T0 + timedelta(hours=1, minutes=n))


def pages() -> list[tuple[str, Page, list[list[TopicLike]]]]:
    jane, ali, sam = who("jane"), who("ali"), who("sam")
    rich = post(1, jane, lang="de", spoiler="CW: Zahlen", reply_to_id="99",
                reply_to_author="ali@med.example", quote_of="https://x.example/q/1",
                hashtags=("Kardiologie", "ICU"), mentions=("ali@med.example",),
                links=("https://doi.org/10.1/ä",),
                media=(Media("image", "https://m.example/1.png", "ECG, lead II"),),
                sensitive=True)
    first = Page((rich, post(2, ali, boosts=(boost(1, sam),)),
                  post(3, sam, reply_count=1, boost_count=2, like_count=3),
                  post(2, ali, boosts=(boost(2, jane),)),  # boosted twice in one page
                  post(4, jane, media=(Media("video", "https://m.example/v.mp4"),))), None)
    first_topics: list[list[TopicLike]] = [
        [SourceMatch("cardiology")], [], [SourceMatch("icu")], [SourceMatch("pharma")],
        [SourceMatch("oncology", rule="keyword", matched="m" * 600, weight=3)]]
    second = Page((post(1, who("jane", "Dr Jane"), text="post 1, corrected",
                        edited_at=T0 + timedelta(days=1), hashtags=("ICU",)),
                   post(5, ali, links=("https://a.example", "https://b.example")),
                   post(3, sam, reply_count=4, boost_count=None, like_count=9),  # counts moved
                   post(4, jane)), None)  # sent without counts: keeps what it had (none)
    return [("cardio", first, first_topics),
            ("fda", second, [[SourceMatch("cardiology")], [], [SourceMatch("icu")], []])]


def _settings() -> Settings:
    acc = AccountSettings("med", "mastodon", "https://med.example")
    return Settings(path=None, database_url="", accounts={"med": acc}, sources=(
        SourceSettings("cardio", "med", Target("hashtag", "cardiology")),
        SourceSettings("fda", "med", Target("user", "FDA@mastodon.social")),
    ))


def store(db: Database, *, fast: bool) -> None:
    clock = ManualClock(T0 + timedelta(days=2))
    repo = Repository(db, clock, sqlite_fast_path=fast)
    ids = repo.sync_sources(_settings())
    for name, page, topics in pages() * 2:  # the second round finds everything stored
        repo.save_page(ids[name], page, topics)
        clock.advance(420)


def raw_rows(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    with db.engine.connect() as conn:
        return {t.name: [tuple(r) for r in conn.execute(
            select(t).order_by(*t.primary_key.columns))] for t in TABLES}


def keyed_rows(db: Database) -> dict[str, Any]:
    """Every table with ids replaced by the natural keys they stand for."""
    with db.engine.connect() as conn:
        acc = {r.id: (r.network, r.key) for r in conn.execute(select(accounts))}
        pst = {r.id: (r.network, r.key) for r in conn.execute(select(posts))}
        src = {r.id: r.name for r in conn.execute(select(sources))}
        swap = {"author_id": acc, "booster_id": acc, "post_id": pst, "source_id": src}

        def rows(table: Table) -> list[tuple[Any, ...]]:
            out = []
            for r in conn.execute(select(table)).mappings():
                out.append(tuple(sorted(
                    (k, swap[k][v] if k in swap else v) for k, v in r.items() if k != "id")))
            return sorted(out, key=repr)

        return {t.name: rows(t) for t in TABLES}


@pytest.fixture
def sqlite_pair(tmp_path: Path) -> Iterator[tuple[Database, Database]]:
    fast = open_database(f"sqlite:///{tmp_path / 'fast.db'}")
    core = open_database(f"sqlite:///{tmp_path / 'core.db'}")
    yield fast, core
    fast.dispose()
    core.dispose()


def test_sqlite_fast_path_and_core_path_store_identical_rows(
        sqlite_pair: tuple[Database, Database]) -> None:
    fast, core = sqlite_pair
    store(fast, fast=True)
    store(core, fast=False)
    stored = raw_rows(fast)
    assert stored == raw_rows(core)
    assert {k: len(v) for k, v in stored.items()} == {
        "accounts": 3, "posts": 5, "boosts": 2, "post_sources": 8, "post_topics": 4,
        "post_versions": 1}
    with fast.engine.connect() as conn:
        counts = {r.key.rsplit("/", 1)[1]: (r.reply_count, r.boost_count, r.like_count)
                  for r in conn.execute(select(posts))}
    # seen again with new counts: the network's latest; sent without counts: left alone
    assert counts["3"] == (4, None, 9) and counts["4"] == (None, None, None)
    # the same full-text index, built per page on the fast path, by the trigger on Core
    assert fts_hits(fast) == fts_hits(core) == {
        "überdosis": [2, 3, 4, 5], "corrected": [1], "zahlen": [], "post": [1, 2, 3, 4, 5]}
    with fast.engine.connect() as conn:  # the deferral mark never outlives its transaction
        assert conn.execute(text("SELECT key FROM app_state")).all() == []


def fts_hits(db: Database) -> dict[str, list[int]]:
    with db.engine.connect() as conn:
        return {word: sorted(conn.execute(text(
            "SELECT rowid FROM posts_fts WHERE posts_fts MATCH :w"), {"w": word}).scalars())
            for word in ("überdosis", "corrected", "zahlen", "post")}


@pytest.mark.postgres
def test_postgres_core_path_stores_what_the_sqlite_fast_path_stores(
        tmp_path: Path, pg_url: str) -> None:
    fast = open_database(f"sqlite:///{tmp_path / 'fast.db'}")
    pg = open_database(pg_url)
    try:
        store(fast, fast=True)
        store(pg, fast=True)  # PostgreSQL has one path: Core
        assert keyed_rows(pg) == keyed_rows(fast)
    finally:
        fast.dispose()
        pg.dispose()
