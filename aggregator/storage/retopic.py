"""Storage side of re-applying the taxonomy to stored posts (`rounds topics reclassify`).

The job (`topics.reclassify`) owns the loop and the classifier; this module reads a batch
of posts as the classifier sees them, replaces their topic rows and advances the job's
mark, all in one transaction, with the same row and upsert the ingest path writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import delete, func, select

from aggregator.models import Author, Media, Post, TopicLike
from aggregator.storage import trend_rollup
from aggregator.storage.repository import Repository, upsert_app_state
from aggregator.storage.rows import topic_dicts
from aggregator.storage.schema import post_sources, post_topics, posts, sources

TopicsOf = Callable[[Post, Sequence[str]], Sequence[TopicLike]]  # post, its sources' names
_NOBODY = Author("mastodon", "", "", "")


def count_posts_after(repo: Repository, last_id: int) -> int:
    with repo.db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(posts)
                                .where(posts.c.id > last_id)).scalar_one())


def retopic_batch(repo: Repository, after_id: int, limit: int, topics_of: TopicsOf,
                  mark_key: str, mark: Callable[[int], str]) -> list[int]:
    """Re-topic up to `limit` posts with ids above `after_id`, then store
    `mark(last id)` under `mark_key`; returns the ids done (none: finished).

    Voice-topic rows come from curation at ingest: they are kept, the rest redone.
    """
    with repo.db.engine.begin() as conn:
        rows = conn.execute(
            select(posts.c.id, posts.c.network, posts.c.created_at, posts.c.text,
                   posts.c.spoiler, posts.c.lang, posts.c.hashtags, posts.c.links,
                   posts.c.media)
            .where(posts.c.id > after_id).order_by(posts.c.id).limit(limit)).all()
        if not rows:
            return []
        ids = [r.id for r in rows]
        before = trend_rollup.snapshot(conn, ids)
        names: dict[int, list[str]] = {}
        for pid, name in conn.execute(
                select(post_sources.c.post_id, sources.c.name)
                .join(sources, sources.c.id == post_sources.c.source_id)
                .where(post_sources.c.post_id.in_(ids))):
            names.setdefault(pid, []).append(name)
        conn.execute(delete(post_topics).where(
            post_topics.c.post_id.in_(ids), post_topics.c.rule != "voice"))
        voice = {(pid, topic) for pid, topic in conn.execute(
            select(post_topics.c.post_id, post_topics.c.topic)
            .where(post_topics.c.post_id.in_(ids)))}
        new_rows = []
        for r in rows:
            matches = [m for m in topics_of(_as_post(r), names.get(r.id, []))
                       if (r.id, m.topic) not in voice]
            new_rows += topic_dicts(r.id, r.created_at, matches)
        if new_rows:
            conn.execute(post_topics.insert(), new_rows)
        trend_rollup.apply(conn, before, trend_rollup.snapshot(conn, ids))
        upsert_app_state(conn, mark_key, mark(ids[-1]))
    return ids


def _as_post(row: Any) -> Post:  # a Row with the columns selected above
    media = tuple(Media(m.get("kind", ""), m.get("url", ""), m.get("alt_text", ""))
                  for m in json.loads(row.media))
    return Post(
        network=row.network, key="", remote_id="", url="",
        author=_NOBODY, created_at=row.created_at, raw="",
        text=row.text, spoiler=row.spoiler, lang=row.lang,
        hashtags=tuple(json.loads(row.hashtags)),
        links=tuple(json.loads(row.links)), media=media,
    )
