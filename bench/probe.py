"""Read figures on one database, run in a subprocess of its own (`python -m bench.probe URL`)
so that its peak RSS is the reader's alone. Prints one JSON object.

* first_screen: the real Textual reader (tui.app.ReaderApp wired like `rounds read`) run
  headless with `run_test()`, from opening the database until the first page of posts is
  in the list and rendered.
* topic_unread: `queries.list_posts` of 50 posts of one topic that are unread, over several
  topics, first page and a page deep into the archive (keyset).
* fulltext: the first 50 hits of a word query through the query language
  (aggregator.query + aggregator.storage.search), as the reader's filter box runs it:
  the median over WORDS, and for a very common and a rare word.
* papers: the top 50 works by distinct voices (`storage.papers.rank_works`, what
  `rounds papers` and the reader's Papers view run) over the last 30 days (the view's
  default period) and over all time.
"""

from __future__ import annotations

import asyncio
import json
import resource
import statistics
import sys
import time
from typing import Any

TOPICS = ["cardiology", "oncology", "infectious_disease", "neurology", "vaccines",
          "mental_health", "dermatology", "rheum_allergy"]
# Full text at the extremes: a word in ~78% of the bench posts, and one in ~1 of 25,000 (the
# number in one account's handle, mentioned in replies to it).
COMMON, RARE = "the", "00042"
WORDS = ["sepsis", "thrombectomy", "\"heart failure\"", "wastewater", "biosimilar",
         "antibiotics", "forest", "dialysis"]


def _median_ms(fn: Any, args: list[Any], repeat: int = 3) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeat):
        for a in args:
            started = time.perf_counter()
            fn(a)
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), times


async def _first_screen(url: str) -> tuple[float, int]:
    from aggregator.clock import SystemClock
    from aggregator.reader.feed import StorageFeedReader
    from aggregator.storage.db import open_database
    from aggregator.storage.repository import Repository
    from bench.generate import bench_settings
    from tui.app import ReaderApp

    started = time.perf_counter()
    db = open_database(url)
    settings = bench_settings(url)
    clock = SystemClock()
    from aggregator.topics.taxonomy import load_taxonomy

    names = {t.id: t.name for t in load_taxonomy(None).topics}  # as `rounds read` does
    reader = StorageFeedReader(db, Repository(db, clock), settings, clock, names)
    app = ReaderApp(reader, None, poll_seconds=0)
    async with app.run_test(size=(120, 40)) as pilot:
        posts = app.main_screen.posts
        while posts.window.total == 0:
            if time.perf_counter() - started > 60:
                raise RuntimeError("the reader showed no posts within 60 s")
            await pilot.pause(0.005)
        await pilot.pause()  # one refresh: the rows are on screen
        seconds = time.perf_counter() - started
        shown = posts.window.total
    db.dispose()
    return seconds, shown


async def _trends_screen(url: str) -> tuple[float, int]:
    """The reader's Trends view opening, once the reader has settled: from pushing the
    screen (what the sidebar's Enter does) to its sparklines drawn, with the clock at the
    archive's newest post (the bench archive's days are past)."""
    from sqlalchemy import func, select

    from aggregator.clock import ManualClock
    from aggregator.reader.feed import StorageFeedReader
    from aggregator.storage.db import open_database
    from aggregator.storage.repository import Repository
    from aggregator.storage.schema import posts
    from aggregator.topics.taxonomy import load_taxonomy
    from bench.generate import bench_settings
    from tui.app import ReaderApp
    from tui.screens.trends import TrendsScreen

    db = open_database(url)
    with db.engine.connect() as conn:
        newest = conn.execute(select(func.max(posts.c.created_at))).scalar_one()
    clock = ManualClock(newest)
    names = {t.id: t.name for t in load_taxonomy(None).topics}
    reader = StorageFeedReader(db, Repository(db, clock), bench_settings(url), clock, names)
    app = ReaderApp(reader, None, poll_seconds=0)
    async with app.run_test(size=(120, 40)) as pilot:
        while app.main_screen.posts.window.total == 0:
            await pilot.pause(0.005)
        # the reader settled (its first page and sidebar counts in), as a person would
        # find it before choosing Trends
        await app.workers.wait_for_complete()
        await pilot.pause()
        started = time.perf_counter()
        screen = TrendsScreen(reader)
        app.push_screen(screen)
        while screen.trends is None:
            if time.perf_counter() - started > 60:
                raise RuntimeError("the Trends view drew nothing within 60 s")
            await pilot.pause(0.005)
        await pilot.pause()  # one refresh: the sparklines are on screen
        seconds = time.perf_counter() - started
        shown = len(screen.trends.series)
    db.dispose()
    return seconds, shown


def _search_where(db: Any, text: str) -> tuple[Any, str]:
    from aggregator.clock import SystemClock

    try:
        from aggregator.query import parse_query
        from aggregator.storage.search import post_filter
    except ImportError:  # search not built yet: the index itself, queried directly
        return _raw_fts(db, text), "raw full-text index (aggregator.storage.search missing)"
    return post_filter(parse_query(text, now=SystemClock().now()), db.dialect), "query language"


def _raw_fts(db: Any, words: str) -> Any:
    from sqlalchemy import bindparam, select
    from sqlalchemy import text as sql

    from aggregator.storage.schema import posts

    if db.dialect == "sqlite":
        hits = select(sql("rowid")).select_from(sql("posts_fts")).where(
            sql("posts_fts MATCH :q").bindparams(bindparam("q", words)))
        return posts.c.id.in_(hits)
    return sql("posts.search @@ plainto_tsquery('simple', :q)").bindparams(
        bindparam("q", words.strip('"')))


def main(url: str) -> dict[str, Any]:
    from datetime import timedelta

    from sqlalchemy import false, func, select

    from aggregator.storage import papers, queries
    from aggregator.storage.db import open_database
    from aggregator.storage.schema import posts

    out: dict[str, Any] = {}
    out["first_screen_s"], out["first_screen_rows"] = asyncio.run(_first_screen(url))
    # The reader's own peak: everything so far was the real app up to its first screen.
    out["reader_rss_mb"] = peak_rss_mb()
    out["trends_view_s"], out["trends_topics"] = asyncio.run(_trends_screen(url))
    db = open_database(url)
    try:
        unread = posts.c.is_read == false()
        # Deep page: the keyset of a post far down each topic.
        deep = {}
        for t in TOPICS:
            page = queries.list_posts(db, unread, topic=t, limit=50)
            for _ in range(5):
                if len(page) < 50:
                    break
                page = queries.list_posts(db, unread, topic=t, limit=50, before=page[-1].key)
            deep[t] = page[-1].key if page else None
        out["topic_unread_ms"], out["topic_unread_runs"] = _median_ms(
            lambda t: queries.list_posts(db, unread, topic=t, limit=50), TOPICS)
        out["topic_unread_deep_ms"], _ = _median_ms(
            lambda t: queries.list_posts(db, unread, topic=t, limit=50, before=deep[t]),
            TOPICS)
        out["topic_unread_rows"] = len(queries.list_posts(db, unread, topic=TOPICS[0], limit=50))
        wheres = {w: _search_where(db, w) for w in WORDS}
        out["fulltext_via"] = wheres[WORDS[0]][1]
        out["fulltext_ms"], out["fulltext_runs"] = _median_ms(
            lambda w: queries.list_posts(db, wheres[w][0], limit=50), WORDS)
        out["fulltext_rows"] = len(queries.list_posts(db, wheres[WORDS[0]][0], limit=50))
        for key, word in (("common", COMMON), ("rare", RARE)):
            where = _search_where(db, word)[0]
            out[f"fulltext_{key}_ms"], _ = _median_ms(
                lambda w: queries.list_posts(db, w, limit=50), [where], repeat=5)
            out[f"fulltext_{key}_rows"] = len(queries.list_posts(db, where, limit=50))
        with db.engine.connect() as conn:
            newest = conn.execute(select(func.max(posts.c.created_at))).scalar_one()
        for key, since in (("papers_30d", newest - timedelta(days=30)), ("papers_all", None)):
            out[f"{key}_ms"], _ = _median_ms(
                lambda s: papers.rank_works(db, since=s, limit=50), [since])
            ranked = papers.rank_works(db, since=since, limit=50)
            out[f"{key}_top_voices"] = ranked[0].voices if ranked else 0
    finally:
        db.dispose()
    out["maxrss_mb"] = peak_rss_mb()
    return out


def peak_rss_mb() -> float:
    """This process's own peak RSS: VmHWM. Not ru_maxrss, which Linux carries across
    exec: a probe started by a bench process holding 100k statuses (~400 MB) would report
    the parent's size instead of its own."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
