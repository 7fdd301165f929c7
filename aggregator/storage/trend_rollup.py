"""Keeping the daily rollup (`trend_schema`) exact as posts change.

Every write that can change what a post counts for — a new post, a post's topics, an edit
that changes its hashtags or links, a conversation's context post brought by a source, a
deletion mark, a pruned post — counts the touched posts' contributions before and after,
in its own transaction, and `apply`s the difference. Posts already stored are read back
(`snapshot`: indexed reads by id), so what is counted is what is stored, whichever path
wrote it; posts just inserted are counted from what was written (`fresh`). A difference
of zero (a post seen again unchanged) writes nothing.

A post counts once per topic, once per distinct hashtag (lower case) and once per distinct
link (for its author), on the UTC day it was created, while it is visible: not deleted and
not stored only as context.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, bindparam, delete, false, select
from sqlalchemy.dialects import postgresql, sqlite

from aggregator.models import Post
from aggregator.storage.schema import post_topics, posts
from aggregator.storage.trend_schema import (
    HASHTAG_CHARS,
    LINK_CHARS,
    hashtag_days,
    link_days,
    topic_days,
)

TOPIC, TAG, LINK = "topic", "tag", "link"
# (TOPIC, day, topic id, 0), (TAG, day, lower-case hashtag, 0), (LINK, day, link, author id)
Key = tuple[str, date, str, int]
CHUNK = 5_000  # ids per IN (...)
_TABLES: dict[str, tuple[Table, str]] = {TOPIC: (topic_days, "topic"),
                                         TAG: (hashtag_days, "hashtag"),
                                         LINK: (link_days, "link")}


def tag_key(tag: str) -> str:
    """How a hashtag is counted: without '#', lower case, at most HASHTAG_CHARS."""
    return tag.strip().lstrip("#").lower()[:HASHTAG_CHARS]


def visible() -> ColumnElement[bool]:
    return and_(posts.c.deleted_at.is_(None), posts.c.context == false())


def day_of(value: datetime) -> date:
    """The UTC day of a time (UTCDateTime hands back UTC; a naive one is UTC)."""
    return (value.astimezone(UTC) if value.tzinfo is not None else value).date()


def json_strings(text: str | None) -> list[str]:
    """The strings of a stored JSON list (hashtags, links); [] for anything else."""
    try:
        values = json.loads(text or "[]")
    except ValueError:
        return []
    return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []


Row = tuple[int, datetime, int, Iterable[str], Iterable[str]]  # id, created, author, tags, links


def contributions(rows: Iterable[Row], topics: Iterable[tuple[int, str]]) -> Counter[Key]:
    """What posts (id, created_at, author id, hashtags, links) with these (post id, topic)
    count for."""
    out: Counter[Key] = Counter()
    days: dict[int, date] = {}
    for pid, created, author, tags, links in rows:
        day = days[pid] = day_of(created)
        for tag in {tag_key(t) for t in tags}:
            if tag:
                out[(TAG, day, tag, 0)] += 1
        for link in {u[:LINK_CHARS] for u in links if u}:
            out[(LINK, day, link, author)] += 1
    for pid, topic in set(topics):
        if pid in days:
            out[(TOPIC, days[pid], topic, 0)] += 1
    return out


def fresh(posts_and_topics: Iterable[tuple[int, int, Post, Iterable[str]]]) -> Counter[Key]:
    """The contributions of posts just inserted as visible, from what was written (no read
    back): (post id, author id, the post, its topic ids). A post another process inserted
    at the same moment would be counted by both; the page's "new" count has that race too."""
    items = list(posts_and_topics)
    return contributions(((pid, p.created_at, author, p.hashtags, p.links)
                          for pid, author, p, _ in items),
                         ((pid, t) for pid, _, _, topics in items for t in topics))


_COLUMNS = (posts.c.id, posts.c.created_at, posts.c.author_id, posts.c.hashtags, posts.c.links)


def _rows(result: Iterable[object]) -> list[Row]:
    return [(r.id, r.created_at, r.author_id, json_strings(r.hashtags),  # type: ignore[attr-defined]
             json_strings(r.links)) for r in result]  # type: ignore[attr-defined]


# Built once: a page's store runs these every time, and building them was a measurable
# part of its cost; `ids` expands to the list given at execution.
_SNAPSHOT_POSTS = select(*_COLUMNS).where(posts.c.id.in_(bindparam("ids", expanding=True)),
                                          visible())
_SNAPSHOT_TOPICS = select(post_topics.c.post_id, post_topics.c.topic).where(
    post_topics.c.post_id.in_(bindparam("ids", expanding=True)))


def snapshot(conn: Connection, ids: Sequence[int]) -> Counter[Key]:
    """The contributions of the posts `ids` as stored now (invisible ones: none)."""
    out: Counter[Key] = Counter()
    unique = sorted(set(ids))
    for i in range(0, len(unique), CHUNK):
        chunk = unique[i:i + CHUNK]
        rows = _rows(conn.execute(_SNAPSHOT_POSTS, {"ids": chunk}))
        if not rows:
            continue
        topics = conn.execute(_SNAPSHOT_TOPICS, {"ids": [r[0] for r in rows]}).all()
        out += contributions(rows, ((t.post_id, t.topic) for t in topics))
    return out


def snapshot_where(conn: Connection, where: ColumnElement[bool], since: datetime,
                   until: datetime) -> Counter[Key]:
    """The contributions of the visible posts matching `where` created in [since, until)
    (the posts the mutes hide, to take them out of the rollup's counts)."""
    cond = and_(visible(), where, posts.c.created_at >= since, posts.c.created_at < until)
    rows = _rows(conn.execute(select(*_COLUMNS).where(cond)))
    topics = conn.execute(select(post_topics.c.post_id, post_topics.c.topic)
                          .join(posts, posts.c.id == post_topics.c.post_id)
                          .where(cond)).all()
    return contributions(rows, ((t.post_id, t.topic) for t in topics))


def _keyed(kind: str) -> list[str]:
    return ["day", _TABLES[kind][1], *(["author_id"] if kind == LINK else [])]


@cache
def _statements(dialect: str, kind: str) -> tuple[Any, Any]:
    """(add to a day's count, drop the rows that fell to nothing) of one kind, built once
    per dialect."""
    table, name = _TABLES[kind]
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    add = insert.on_conflict_do_update(index_elements=_keyed(kind),
                                       set_={"posts": table.c.posts + insert.excluded.posts})
    cond = [table.c.day == bindparam("d"), table.c[name] == bindparam("v"), table.c.posts <= 0]
    if kind == LINK:
        cond.append(table.c.author_id == bindparam("a"))
    return add, delete(table).where(*cond)


def apply(conn: Connection, before: Counter[Key], after: Counter[Key]) -> None:
    """Add `after - before` to the rollup (both may hold keys the other lacks)."""
    by_kind: dict[str, list[tuple[Key, int]]] = {}
    for key in before.keys() | after.keys():
        change = after.get(key, 0) - before.get(key, 0)
        if change:
            by_kind.setdefault(key[0], []).append((key, change))
    for kind in _TABLES:  # one order for every writer (PostgreSQL row locks)
        changes = by_kind.get(kind)
        if not changes:
            continue
        add, drop = _statements(conn.dialect.name, kind)
        keyed = _keyed(kind)
        changes.sort()
        conn.execute(add, [dict(zip(keyed, (day, value, author)[:len(keyed)], strict=True),
                                posts=n) for (_, day, value, author), n in changes])
        gone = [{"d": day, "v": value, **({"a": author} if kind == LINK else {})}
                for (_, day, value, author), n in changes if n < 0]
        if gone:  # a count that fell to nothing leaves no row
            conn.execute(drop, gone)
