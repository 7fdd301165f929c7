"""SQLite write fast path for a page of posts: plain DBAPI statements, few per page.

`Repository.save_page` runs this on SQLite inside its own transaction (the SQLAlchemy
connection's); PostgreSQL keeps the Core path. The rows written are exactly the Core
path's, built by the same `rows` functions: datetimes in the text form SQLAlchemy's
SQLite `DateTime` stores (naive UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``, what `UTCDateTime`
hands it), booleans as 0/1, the same on-conflict rules, the same row order (so the same
ids); tests/storage/test_write_paths.py compares the two. Per page:
one select of known authors, one upsert of new or changed authors (the unchanged ones
only get `updated_at`), one select of known posts, one insert of the new ones (with the
full-text trigger deferred), one select of their ids, one insert of them into the FTS5
index, one executemany
refreshing the engagement counts of the posts seen again (a row is written only when a
count changed), then one executemany each for post_sources, boosts and post_topics.

Measured on 20,000 bench posts (bench/): ~135 µs per post through SQLAlchemy Core
(bind processors per value, statement compilation per execution) -> see the commit log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from aggregator.models import Author, Post, TopicLike
from aggregator.storage.rows import (
    POST_COLUMNS,
    TOPIC_COLUMNS,
    count_rows,
    post_row,
    topic_row,
)

CHUNK = 30_000  # bound parameters per IN (...): SQLite >= 3.32 allows 32,766


def sqlite_time(value: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores for `value` through UTCDateTime."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]


def _marks(n: int) -> str:
    return ",".join("?" * n)


_AUTHOR_FIELDS = ("handle", "display_name", "url", "bio", "remote_id")
_UPSERT_AUTHOR = (
    "INSERT INTO accounts (network, key, handle, display_name, url, bio, remote_id, "
    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (network, key) DO UPDATE SET "
    "handle = excluded.handle, display_name = excluded.display_name, url = excluded.url, "
    "bio = excluded.bio, remote_id = excluded.remote_id, updated_at = excluded.updated_at"
)
_INSERT_POST = (f"INSERT INTO posts ({', '.join(POST_COLUMNS)}) "
                f"VALUES ({_marks(len(POST_COLUMNS))}) ON CONFLICT (network, key) DO NOTHING")
# Numbered parameters: each count is bound once and compared (IS NOT: NULL-safe) so that an
# unchanged post is not rewritten.
_UPDATE_COUNTS = ("UPDATE posts SET reply_count = ?1, boost_count = ?2, like_count = ?3 "
                  "WHERE id = ?4 AND (reply_count IS NOT ?1 OR boost_count IS NOT ?2 "
                  "OR like_count IS NOT ?3)")
_INSERT_SOURCE = ("INSERT INTO post_sources (post_id, source_id, created_at, first_seen) "
                  "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING")
_INSERT_BOOST = ("INSERT INTO boosts (post_id, booster_id, remote_id, created_at) "
                 "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING")
_INSERT_TOPIC = (f"INSERT INTO post_topics ({', '.join(TOPIC_COLUMNS)}) "
                 f"VALUES ({_marks(len(TOPIC_COLUMNS))}) ON CONFLICT DO NOTHING")


# While this app_state row exists in the writing transaction, the full-text insert trigger
# skips rows (migration 0012); it is deleted again before the transaction ends.
DEFERRED_MARK = "fts.deferred"
DEFER_FTS = (f"INSERT INTO app_state (key, value) VALUES ('{DEFERRED_MARK}', '') "
              "ON CONFLICT (key) DO NOTHING")
_UNDEFER_FTS = f"DELETE FROM app_state WHERE key = '{DEFERRED_MARK}'"
_INDEX_RANGE = ("INSERT INTO posts_fts (rowid, text, spoiler) SELECT id, text, spoiler "
                "FROM posts WHERE id BETWEEN ? AND ?")


def index_new_posts(conn: Connection, ids: Iterable[int]) -> None:
    """Full-text index the posts just inserted (with ids `ids`) under the deferred mark,
    and lift the mark. New rows of one insert take the ids above every earlier one, so
    they are one range: one INSERT ... SELECT (4x faster than the trigger row by row)."""
    new = list(ids)
    if new:
        conn.exec_driver_sql(_INDEX_RANGE, (min(new), max(new)))
    conn.exec_driver_sql(_UNDEFER_FTS)


def upsert_authors(conn: Connection, people: Iterable[Author], now: str
                   ) -> dict[tuple[str, str], int]:
    """Insert new authors, update changed ones, touch `updated_at` of the rest; -> ids.

    The same end state as one ON CONFLICT DO UPDATE of every author (the last occurrence
    of an author in the page wins), with the same insertion order.
    """
    latest: dict[tuple[str, str], Author] = {}
    for a in people:
        latest[(a.network, a.key)] = a
    ids: dict[tuple[str, str], int] = {}
    stored: dict[tuple[str, str], tuple[Any, ...]] = {}
    for network in dict.fromkeys(n for n, _ in latest):
        keys = [k for n, k in latest if n == network]
        for chunk in _chunks(keys):
            for row in conn.exec_driver_sql(
                    "SELECT key, id, handle, display_name, url, bio, remote_id FROM accounts "
                    f"WHERE network = ? AND key IN ({_marks(len(chunk))})", (network, *chunk)):
                ids[(network, row[0])] = row[1]
                stored[(network, row[0])] = tuple(row[2:])
    upserts, touched = [], []
    for k, a in latest.items():
        values = (a.handle, a.display_name, a.url, a.bio, a.remote_id)
        if stored.get(k) == values:
            touched.append(ids[k])
        else:
            upserts.append((a.network, a.key, *values, now))
    if upserts:
        conn.exec_driver_sql(_UPSERT_AUTHOR, upserts)
    for chunk in _chunks(touched):
        conn.exec_driver_sql(
            f"UPDATE accounts SET updated_at = ? WHERE id IN ({_marks(len(chunk))})",
            (now, *chunk))
    missing = [k for k in latest if k not in ids]
    for network in dict.fromkeys(n for n, _ in missing):
        keys = [k for n, k in missing if n == network]
        ids.update(((network, key), pid) for key, pid in post_ids(conn, network, keys,
                                                                      table="accounts").items())
    return ids


def post_ids(conn: Connection, network: str, keys: Sequence[str], *, table: str = "posts"
             ) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(keys):
        for key, row_id in conn.exec_driver_sql(
                f"SELECT key, id FROM {table} WHERE network = ? AND key IN "
                f"({_marks(len(chunk))})", (network, *chunk)):
            found[key] = row_id
    return found


def save_posts(conn: Connection, source_id: int, batch: Sequence[Post],
               by_key: dict[str, Post], topics: Sequence[Sequence[TopicLike]],
               author_ids: dict[tuple[str, str], int], now: str,
               update_edits: Callable[[dict[str, int]], None]) -> tuple[int, dict[str, int]]:
    """Posts of one page (deduplicated in `by_key`) and their links; -> how many were new,
    and the ids of the page's posts by key.

    `update_edits(existing)` is called with the ids of posts already stored, in the same
    place of the sequence as on the Core path.
    """
    network = batch[0].network
    keys = list(by_key)
    existing = post_ids(conn, network, keys)
    created = {k: sqlite_time(p.created_at) for k, p in by_key.items()}
    fresh = [k for k in keys if k not in existing]
    if fresh:
        conn.exec_driver_sql(DEFER_FTS)
        conn.exec_driver_sql(_INSERT_POST, [
            post_row(p, author_ids[(p.network, p.author.key)], created[k], now,
                     None if p.edited_at is None else sqlite_time(p.edited_at))
            for k in fresh for p in (by_key[k],)])
    new_ids = post_ids(conn, network, fresh)
    if fresh:
        index_new_posts(conn, new_ids.values())
    ids = {**existing, **new_ids}
    update_edits(existing)
    counts = count_rows(existing, by_key)
    if counts:
        conn.exec_driver_sql(_UPDATE_COUNTS, counts)
    conn.exec_driver_sql(_INSERT_SOURCE, [(ids[k], source_id, created[k], now) for k in keys])
    boost_rows = [(ids[p.key], author_ids[(b.booster.network, b.booster.key)], b.remote_id,
                   sqlite_time(b.created_at)) for p in by_key.values() for b in p.boosts]
    if boost_rows:
        conn.exec_driver_sql(_INSERT_BOOST, boost_rows)
    topic_rows = []
    for post, matches in zip(batch, topics, strict=False):
        if matches:
            pid, when = ids[post.key], created[post.key]
            if by_key[post.key].created_at != post.created_at:  # a repeat that disagrees
                when = sqlite_time(post.created_at)
            topic_rows += [topic_row(pid, when, m) for m in matches]
    if topic_rows:
        conn.exec_driver_sql(_INSERT_TOPIC, topic_rows)
    return len(fresh), ids
