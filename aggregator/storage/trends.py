"""Read side of trends: the daily rollup (`trend_schema`) over a range of days, the posts
the mutes hide taken back out of it, one topic's hashtags, and the most shared links.

The rollup answers for the whole archive in a few thousand rows whatever its size. What
it cannot know is read from the posts, bounded by the window: the posts the mutes in
force hide (usually few; indexed by time), the hashtags of one topic's posts (the topic
index), and the links (posts with a link in the window).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, func, select, true

from aggregator.storage.db import Database
from aggregator.storage.mutes import unmuted
from aggregator.storage.schema import post_topics, posts
from aggregator.storage.trend_rollup import TAG, TOPIC, Key, snapshot_where, visible
from aggregator.storage.trend_schema import hashtag_days, link_days, topic_days


def rollup(db: Database, start: date, end: date, *, topic: str | None = None
           ) -> Counter[Key]:
    """The rollup's counts for the days [start, end]: topics, and hashtags and links
    unless one `topic` is asked for (the rollup does not know which topic those came
    with)."""
    out: Counter[Key] = Counter()
    with db.engine.connect() as conn:
        stmt = select(topic_days.c.day, topic_days.c.topic, topic_days.c.posts).where(
            topic_days.c.day >= start, topic_days.c.day <= end)
        if topic is not None:
            stmt = stmt.where(topic_days.c.topic == topic)
        for day, name, n in conn.execute(stmt):
            out[(TOPIC, day, name, 0)] += n
        if topic is None:
            for day, name, n in conn.execute(
                    select(hashtag_days.c.day, hashtag_days.c.hashtag, hashtag_days.c.posts)
                    .where(hashtag_days.c.day >= start, hashtag_days.c.day <= end)):
                out[(TAG, day, name, 0)] += n
    return out


def top_links(db: Database, start: date, end: date, limit: int) -> list[tuple[str, int, int]]:
    """(link, distinct authors, posts) of the rollup's days [start, end], most authors
    first, then most posts, then the link: one GROUP BY over the link rollup, the
    `limit` first (and the ties at the edge, so that mutes can still reorder them)."""
    authors = func.count(func.distinct(link_days.c.author_id))
    total = func.sum(link_days.c.posts)
    stmt = (select(link_days.c.link, authors, total)
            .where(link_days.c.day >= start, link_days.c.day <= end)
            .group_by(link_days.c.link)
            .order_by(authors.desc(), total.desc(), link_days.c.link).limit(limit))
    with db.engine.connect() as conn:
        return [(link, int(a), int(n)) for link, a, n in conn.execute(stmt)]


def links_of(db: Database, start: date, end: date, links: list[str]
             ) -> dict[str, dict[int, int]]:
    """link -> {author id: posts} over the days [start, end], for these links."""
    out: dict[str, dict[int, int]] = {}
    with db.engine.connect() as conn:
        for i in range(0, len(links), 500):
            for link, author, n in conn.execute(
                    select(link_days.c.link, link_days.c.author_id, func.sum(link_days.c.posts))
                    .where(link_days.c.day >= start, link_days.c.day <= end,
                           link_days.c.link.in_(links[i:i + 500]))
                    .group_by(link_days.c.link, link_days.c.author_id)):
                out.setdefault(link, {})[author] = int(n)
    return out


def counted_where(db: Database, where: ColumnElement[bool] | None, since: datetime,
                  until: datetime, *, topic: str | None = None) -> Counter[Key]:
    """What the visible posts matching `where` (and in `topic`), created in
    [since, until), count for."""
    cond: ColumnElement[bool] = true() if where is None else where
    if topic is not None:
        cond = and_(cond, in_topic(topic))
    with db.engine.connect() as conn:
        return snapshot_where(conn, cond, since, until)


def in_topic(topic: str) -> ColumnElement[bool]:
    return posts.c.id.in_(select(post_topics.c.post_id).where(post_topics.c.topic == topic))


def shared_links(db: Database, since: datetime, until: datetime, *,
                 muted: ColumnElement[bool] | None = None, topic: str | None = None,
                 limit: int = 10) -> list[tuple[str, int, int]]:
    """(link, distinct authors, posts) of the links posted in [since, until), most
    authors first, then most posts, then the link; a post counts a link once."""
    cond = and_(visible(), posts.c.has_link == true(), posts.c.created_at >= since,
                posts.c.created_at < until)
    if muted is not None:
        cond = and_(cond, unmuted(muted))
    if topic is not None:
        cond = and_(cond, in_topic(topic))
    authors: dict[str, set[int]] = {}
    count: Counter[str] = Counter()
    with db.engine.connect() as conn:
        for author, links in conn.execute(select(posts.c.author_id, posts.c.links)
                                          .where(cond)):
            try:
                values = json.loads(links or "[]")
            except ValueError:
                continue
            for link in {v for v in values if isinstance(v, str) and v}:
                authors.setdefault(link, set()).add(author)
                count[link] += 1
    ranked = sorted(authors, key=lambda k: (-len(authors[k]), -count[k], k))
    return [(k, len(authors[k]), count[k]) for k in ranked[:limit]]
