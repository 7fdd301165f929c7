"""The trend rollup on SQLite and PostgreSQL: after every kind of write (new posts on both
write paths, a page seen again, an edit that changes hashtags, a conversation's context
post later collected, a deletion mark, reclassification, pruning) and after migration
0011's backfill, it holds exactly what counting the posts themselves gives."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import select

from aggregator.models import Page
from aggregator.retention import prune_posts
from aggregator.storage.db import Database, _alembic_config
from aggregator.storage.repository import Repository
from aggregator.storage.retopic import retopic_batch
from aggregator.storage.schema import post_topics, posts
from aggregator.storage.threads import save_context
from aggregator.storage.trend_schema import hashtag_days, link_days, topic_days
from tests.tui.seed import NOW, Match, post, settings_for

Counts = tuple[Counter[tuple[str, str]], Counter[tuple[str, str]], Counter[tuple[str, str, int]]]


def direct(db: Database) -> Counts:
    """(day, topic), (day, hashtag) and (day, link, author) counted from the posts, the
    slow obvious way."""
    topics: Counter[tuple[str, str]] = Counter()
    tags: Counter[tuple[str, str]] = Counter()
    links: Counter[tuple[str, str, int]] = Counter()
    with db.engine.connect() as conn:
        shown = {r.id: r for r in conn.execute(select(posts)) if r.deleted_at is None
                 and not r.context}
        for r in shown.values():
            day = r.created_at.date().isoformat()
            for tag in {t.lower() for t in json.loads(r.hashtags)}:
                tags[(day, tag)] += 1
            for link in set(json.loads(r.links)):
                links[(day, link, r.author_id)] += 1
        for pid, topic in conn.execute(select(post_topics.c.post_id, post_topics.c.topic)):
            if pid in shown:
                topics[(shown[pid].created_at.date().isoformat(), topic)] += 1
    return topics, tags, links


def rolled(db: Database) -> Counts:
    with db.engine.connect() as conn:
        topics = Counter({(d.isoformat(), t): n for d, t, n in conn.execute(select(topic_days))})
        tags = Counter({(d.isoformat(), t): n for d, t, n in conn.execute(select(hashtag_days))})
        links = Counter({(d.isoformat(), u, a): n
                         for d, u, a, n in conn.execute(select(link_days))})
    return topics, tags, links


def check(db: Database) -> None:
    assert rolled(db) == direct(db)
    assert all(n > 0 for c in rolled(db) for n in c.values())  # no rows left at zero


def day_posts(start: int, days: int, per_day: int) -> list:
    out = []
    for d in range(days):
        for i in range(per_day):
            n = start + d * 100 + i
            out.append(post(n, minutes_ago=d * 1440 + i * 7 + 1,
                            hashtags=("Measles", "measles", "Vaccines")[: 1 + i % 3],
                            links=("https://doi.org/10.5555/a", "https://doi.org/10.5555/a",
                                   f"https://example.org/{i % 2}")[: i % 4],
                            text=f"post {n} #Measles"))
    return out


@pytest.mark.parametrize("fast", [True, False])
def test_rollup_matches_a_direct_count_after_every_kind_of_write(db: Database, fast: bool
                                                                 ) -> None:
    from aggregator.clock import ManualClock

    clock = ManualClock(NOW)
    repo = Repository(db, clock, sqlite_fast_path=fast)
    ids = repo.sync_sources(settings_for(""))
    batch = day_posts(1, 4, 5)
    topics = [[Match("vaccines"), Match("infectious_disease")] if i % 2 else [Match("vaccines")]
              for i in range(len(batch))]
    repo.save_page(ids["cardiology"], Page(tuple(batch), None), topics)
    check(db)
    before = rolled(db)
    # the same page again, from another source, with one more topic for two posts
    more = [[*t, Match("public_health")] if i < 2 else t for i, t in enumerate(topics)]
    repo.save_page(ids["oncology"], Page(tuple(batch), None), more)
    check(db)
    assert rolled(db)[0] - before[0] == Counter(
        {(batch[0].created_at.date().isoformat(), "public_health"): 2})
    # an edit that changes the hashtags
    edited = post(1, minutes_ago=1, hashtags=("Flu",), text="edited #Flu",
                  links=("https://example.org/edited",), edited_at=NOW + timedelta(minutes=5))
    repo.save_page(ids["cardiology"], Page((edited,), None), [[]])
    check(db)
    with db.engine.connect() as conn:
        pid = conn.execute(select(posts.c.id).where(posts.c.key == edited.key)).scalar_one()
    # a deletion mark; then a second one changes nothing
    repo.mark_deleted(pid)
    check(db)
    repo.mark_deleted(pid)
    check(db)
    # a conversation's context post counts only once a source brings it
    ctx = post(900, minutes_ago=30, hashtags=("Context",))
    save_context(repo, pid, [ctx], [])
    check(db)
    assert not any(tag == "context" for _, tag in rolled(db)[1])
    repo.save_page(ids["cardiology"], Page((ctx,), None), [[Match("cardiology")]])
    check(db)
    assert any(tag == "context" for _, tag in rolled(db)[1])
    # reclassification: every post gets one topic
    retopic_batch(repo, 0, 1000, lambda p, names: [Match("oncology")], "mark", str)
    check(db)
    assert {t for _, t in rolled(db)[0]} == {"oncology"}
    # pruning the two oldest days
    prune_posts(db, NOW - timedelta(days=2) + timedelta(minutes=1))
    check(db)
    assert min(d for d, _ in rolled(db)[0]) == (NOW - timedelta(days=1)).date().isoformat()


def test_migration_backfills_the_rollup_from_stored_posts(db: Database) -> None:
    from aggregator.clock import ManualClock

    repo = Repository(db, ManualClock(NOW))
    ids = repo.sync_sources(settings_for(""))
    batch = day_posts(1, 3, 4)
    repo.save_page(ids["cardiology"], Page(tuple(batch), None),
                   [[Match("vaccines")] for _ in batch])
    with db.engine.connect() as conn:
        pid = conn.execute(select(posts.c.id).order_by(posts.c.id)).scalars().first()
    assert pid is not None
    repo.mark_deleted(pid)
    expected = direct(db)
    cfg = _alembic_config(db.engine)
    command.downgrade(cfg, "0009")  # drops the rollup...
    command.upgrade(cfg, "heads")  # ...and builds it again from the posts
    assert rolled(db) == expected and all(expected)
