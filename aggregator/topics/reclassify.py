"""Re-apply the taxonomy to stored posts after it changed.

Batched by post id; each batch replaces its posts' topic rows and advances a mark in one
transaction, so an interrupted run resumes where it stopped, and a finished run under an
unchanged taxonomy has nothing left to do. Starting over happens by itself when the
taxonomy (or a source's default topics) changed since the mark was written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from aggregator.models import Author, Media, Post
from aggregator.service import Classify
from aggregator.storage.db import Database
from aggregator.storage.repository import Repository
from aggregator.storage.schema import app_state, post_sources, post_topics, posts, sources

MARK = "topics.reclassify"
_NOBODY = Author("mastodon", "", "", "")


@dataclass(frozen=True, slots=True)
class ReclassifyResult:
    done: int
    total: int
    resumed_from: int


def fingerprint(taxonomy_text: str, source_topics: Mapping[str, Sequence[str]]) -> str:
    blob = json.dumps([taxonomy_text, sorted((k, list(v)) for k, v in source_topics.items())])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def reclassify(db: Database, repo: Repository, classify: Classify,
               source_topics: Mapping[str, Sequence[str]], taxonomy_text: str, *,
               batch: int = 2000, restart: bool = False,
               progress: Callable[[int, int], None] | None = None) -> ReclassifyResult:
    """Reclassify every stored post; returns how many were done this run."""
    mark = fingerprint(taxonomy_text, source_topics)
    saved = None if restart else repo.get_app_state(MARK)
    last_id = 0
    if saved and saved.split(":")[0] == mark:
        last_id = int(saved.split(":")[1])
    resumed_from = last_id
    with db.engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(posts)
                                 .where(posts.c.id > last_id)).scalar_one())
    done = 0
    while True:
        with db.engine.begin() as conn:
            rows = conn.execute(
                select(posts.c.id, posts.c.network, posts.c.created_at, posts.c.text,
                       posts.c.spoiler, posts.c.lang, posts.c.hashtags, posts.c.links,
                       posts.c.media)
                .where(posts.c.id > last_id).order_by(posts.c.id).limit(batch)).all()
            if not rows:
                break
            ids = [r.id for r in rows]
            names: dict[int, list[str]] = {}
            for pid, name in conn.execute(
                    select(post_sources.c.post_id, sources.c.name)
                    .join(sources, sources.c.id == post_sources.c.source_id)
                    .where(post_sources.c.post_id.in_(ids))):
                names.setdefault(pid, []).append(name)
            # Voice-topic rows come from curation at ingest; keep them, redo the rest.
            conn.execute(delete(post_topics).where(
                post_topics.c.post_id.in_(ids), post_topics.c.rule != "voice"))
            voice = {(pid, topic) for pid, topic in conn.execute(
                select(post_topics.c.post_id, post_topics.c.topic)
                .where(post_topics.c.post_id.in_(ids)))}
            new_rows = []
            for r in rows:
                defaults = list(dict.fromkeys(
                    t for n in names.get(r.id, []) for t in source_topics.get(n, ())))
                for m in classify(_as_post(r), defaults):
                    if (r.id, m.topic) not in voice:
                        new_rows.append({"post_id": r.id, "topic": m.topic,
                                         "created_at": r.created_at, "rule": m.rule,
                                         "matched": m.matched[:500], "weight": m.weight})
            if new_rows:
                conn.execute(post_topics.insert(), new_rows)
            last_id = ids[-1]
            _save_mark(conn, f"{mark}:{last_id}")
        done += len(rows)
        if progress:
            progress(done, total)
    return ReclassifyResult(done, total, resumed_from)


def _save_mark(conn: Connection, value: str) -> None:
    changed = conn.execute(update(app_state).where(app_state.c.key == MARK).values(value=value))
    if changed.rowcount == 0:
        conn.execute(app_state.insert().values(key=MARK, value=value))


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
