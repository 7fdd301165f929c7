"""The rows a page of posts becomes: one builder for both write paths.

`Repository` writes through SQLAlchemy Core on PostgreSQL and through plain DBAPI
statements on SQLite (`sqlite_pages`, for speed); both build their rows here, so the two
paths cannot drift apart (tests/storage/test_write_paths.py compares what they store).
Datetimes are passed in already as each path binds them: `datetime` for Core, the text
SQLAlchemy's SQLite `DateTime` stores for the fast path.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from aggregator.models import Post, TopicLike
from aggregator.storage.rawjson import encode_raw

POST_COLUMNS = (
    "network", "key", "remote_id", "url", "author_id", "created_at", "text", "spoiler",
    "lang", "reply_to_id", "reply_to_author", "quote_of", "hashtags", "mentions", "links",
    "media", "has_link", "has_media", "sensitive", "raw", "edited_at", "deleted_at",
    "first_seen", "is_read", "starred", "reply_count", "boost_count", "like_count",
)
# What an edit replaces (the rest of the row is the post's identity or our own state).
EDITED_COLUMNS = ("text", "spoiler", "lang", "hashtags", "mentions", "links", "media",
                  "has_link", "has_media", "sensitive", "raw", "edited_at")
# What a post seen again refreshes: its engagement counts, as the network now sends them.
COUNT_COLUMNS = ("reply_count", "boost_count", "like_count")
TOPIC_MATCHED_CHARS = 500


def dumps(value: Any) -> str:
    """JSON text as stored (compact, non-ASCII kept): orjson writes the same bytes as
    json.dumps for lists and dicts of strings; json.dumps for what orjson refuses (lone
    surrogates)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _json_list(values: Sequence[str]) -> str:
    return dumps(list(values)) if values else "[]"


def post_row(p: Post, author_id: int, created: Any, first_seen: Any, edited: Any
             ) -> tuple[Any, ...]:
    """The posts row of `p`, in POST_COLUMNS order (`dict(zip(...))` for Core)."""
    media = (dumps([{"kind": m.kind, "url": m.url, "alt_text": m.alt_text} for m in p.media])
             if p.media else "[]")
    return (p.network, p.key, p.remote_id, p.url, author_id, created, p.text, p.spoiler,
            p.lang, p.reply_to_id, p.reply_to_author, p.quote_of, _json_list(p.hashtags),
            _json_list(p.mentions), _json_list(p.links), media, bool(p.links), bool(p.media),
            p.sensitive, encode_raw(p.raw), edited, None, first_seen, False, False, p.reply_count,
            p.boost_count, p.like_count)


def count_rows(existing: dict[str, int], by_key: dict[str, Post]
               ) -> list[tuple[int | None, int | None, int | None, int]]:
    """(reply_count, boost_count, like_count, post id) of the stored posts seen again whose
    network sent counts (a post sent without counts keeps the stored ones)."""
    return [(p.reply_count, p.boost_count, p.like_count, pid)
            for k, pid in existing.items() for p in (by_key[k],)
            if p.reply_count is not None or p.boost_count is not None
            or p.like_count is not None]


def post_dict(p: Post, author_id: int, now: datetime) -> dict[str, Any]:
    return dict(zip(POST_COLUMNS, post_row(p, author_id, p.created_at, now, p.edited_at),
                    strict=True))


def topic_row(post_id: int, created: Any, m: TopicLike) -> tuple[Any, ...]:
    """A post_topics row: (post_id, topic, created_at, rule, matched, weight)."""
    return (post_id, m.topic, created, m.rule, m.matched[:TOPIC_MATCHED_CHARS], m.weight)


TOPIC_COLUMNS = ("post_id", "topic", "created_at", "rule", "matched", "weight")


def topic_dicts(post_id: int, created: datetime, matches: Sequence[TopicLike]
                ) -> list[dict[str, Any]]:
    return [dict(zip(TOPIC_COLUMNS, topic_row(post_id, created, m), strict=True))
            for m in matches]
