"""Conversations in the archive: storing a fetched thread as context, reading a stored one.

A thread is assembled from stored columns only, so it opens offline: ancestors by
following `reply_to_id` upwards (a parent is found by key first: a tweet id or a Bluesky
at:// URI is both; on Mastodon, where `reply_to_id` is the parent's id on the server it
was read from, among the parent author's posts), replies by `reply_to_id` downwards
(`ix_posts_reply_to`). Posts fetched only for a conversation are stored with
`posts.context` set: no source brought them, so they are in no view and no unread count
(`queries._visible`); a source that later brings one makes it an ordinary post
(`Repository._update_existing`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from aggregator.errors import StorageError
from aggregator.models import Post
from aggregator.storage import trend_rollup
from aggregator.storage.curation_schema import identities
from aggregator.storage.db import Database
from aggregator.storage.rawjson import decode_raw
from aggregator.storage.repository import Repository
from aggregator.storage.rows import EDITED_COLUMNS, dumps, post_dict
from aggregator.storage.schema import accounts, post_sources, posts, sources
from aggregator.storage.thread_schema import thread_fetches, thread_reads

GapState = Literal["deleted", "blocked", "unavailable"]
MAX_ANCESTORS = 100
MAX_REPLIES = 500
TEXT_CHARS = 2000  # of one post in a thread; the reading pane shows it whole


@dataclass(frozen=True, slots=True)
class ThreadPost:
    """One line of a conversation. `post_id` None: a post the archive does not hold
    (`state` says why: deleted, blocked, unavailable)."""

    depth: int
    post_id: int | None
    network: str
    author_name: str = ""
    author_handle: str = ""
    created_at: datetime | None = None
    text: str = ""
    focus: bool = False  # the post the thread was opened on
    voice: bool = False  # its author is a curated voice
    context: bool = False  # fetched for a conversation, not brought by a source
    state: str = ""  # "" or a GapState


@dataclass(frozen=True, slots=True)
class StoredThread:
    posts: tuple[ThreadPost, ...]
    fetched_at: datetime | None  # None: never fetched, only what sources brought

    @property
    def replies(self) -> int:
        focus = next((p for p in self.posts if p.focus), None)
        return sum(1 for p in self.posts if focus and p.depth > focus.depth and p.post_id)


@dataclass(frozen=True, slots=True)
class PostOrigin:
    """What fetching a post's conversation needs: where the post is, and the accounts of
    the sources that brought it (their servers know its remote id)."""

    post_id: int
    network: str
    key: str
    remote_id: str
    url: str
    accounts: tuple[str, ...]
    reply_count: int | None = None  # as the network last counted them
    raw: str = ""  # the JSON as received (X's conversation_id is in it)


def post_origin(db: Database, post_id: int) -> PostOrigin:
    """Raises StorageError: no such post."""
    with db.engine.connect() as conn:
        row = conn.execute(select(posts.c.network, posts.c.key, posts.c.remote_id, posts.c.url,
                                  posts.c.reply_count, posts.c.raw)
                           .where(posts.c.id == post_id)).first()
        if row is None:
            raise StorageError(f"no post with id {post_id}")
        names = tuple(conn.execute(
            select(sources.c.account).distinct()
            .select_from(post_sources.join(sources, sources.c.id == post_sources.c.source_id))
            .where(post_sources.c.post_id == post_id).order_by(sources.c.account)).scalars())
    return PostOrigin(post_id, row.network, row.key, row.remote_id, row.url, names,
                      row.reply_count, decode_raw(row.raw))


@dataclass(frozen=True, slots=True)
class ThreadCost:
    """What one conversation fetch read through `account` (X bills posts and users)."""

    account: str
    items_read: int
    users_read: int = 0
    requests: int = 0


def save_context(repo: Repository, post_id: int, batch: Sequence[Post],
                 gaps: Sequence[tuple[str, str]], cost: ThreadCost | None = None) -> int:
    """Store a fetched conversation around post `post_id`: posts not yet stored are
    inserted as context, stored ones take their edits; the fetch is remembered with the
    posts the server would not show (`gaps`: (ref, state)), and what it read (`cost`,
    counted by `Repository.reads_since`). Returns how many were new."""
    now = repo.clock.now()
    insert = postgresql.insert if repo.db.dialect == "postgresql" else sqlite.insert
    by_key = {p.key: p for p in batch}
    with repo.db.engine.begin() as conn:
        if cost is not None and (cost.items_read or cost.users_read or cost.requests):
            conn.execute(thread_reads.insert().values(
                account=cost.account, read_at=now, items_read=cost.items_read,
                users_read=cost.users_read, requests=cost.requests))
        new = 0
        if by_key:
            author_ids = repo._upsert_authors(conn, [p.author for p in by_key.values()], now)
            networks = {p.network for p in by_key.values()}
            existing: dict[tuple[str, str], int] = {}
            for network in networks:
                keys = [k for k, p in by_key.items() if p.network == network]
                existing.update({(network, k): i for k, i in
                                 repo._post_ids(conn, network, keys).items()})
            fresh = [p for p in by_key.values() if (p.network, p.key) not in existing]
            if fresh:
                rows = []
                for p in fresh:
                    row = post_dict(p, author_ids[(p.network, p.author.key)], now)
                    row["context"] = True
                    rows.append(row)
                conn.execute(insert(posts).on_conflict_do_nothing(
                    index_elements=["network", "key"]), rows)
                new = len(fresh)
            edited = [(pid, by_key[key]) for (_network, key), pid in existing.items()
                      if by_key[key].edited_at is not None]
            before = trend_rollup.snapshot(conn, [pid for pid, _ in edited])
            for pid, post in edited:
                _edit(conn, pid, post, now)
            trend_rollup.apply(conn, before,  # an edit may change a post's hashtags
                               trend_rollup.snapshot(conn, [pid for pid, _ in edited]))
        stmt = insert(thread_fetches).values(
            post_id=post_id, fetched_at=now,
            gaps=dumps([{"ref": ref, "state": state} for ref, state in gaps]))
        conn.execute(stmt.on_conflict_do_update(
            index_elements=["post_id"],
            set_={"fetched_at": stmt.excluded.fetched_at, "gaps": stmt.excluded.gaps}))
    return new


def _edit(conn: Connection, post_id: int, post: Post, now: datetime) -> None:
    """A newer version of a stored post (later edited_at) replaces its content."""
    stored = conn.execute(select(posts.c.edited_at).where(posts.c.id == post_id)).first()
    if stored is None or post.edited_at is None or (
            stored.edited_at is not None and post.edited_at <= stored.edited_at):
        return
    row = post_dict(post, 0, now)
    conn.execute(update(posts).where(posts.c.id == post_id)
                 .values(**{k: row[k] for k in EDITED_COLUMNS}))


# ---------------------------------------------------------------- reading

_COLUMNS = (posts.c.id, posts.c.network, posts.c.key, posts.c.remote_id, posts.c.created_at,
            func.substr(posts.c.text, 1, TEXT_CHARS).label("text"), posts.c.reply_to_id,
            posts.c.reply_to_author, posts.c.deleted_at, posts.c.context, posts.c.author_id,
            accounts.c.display_name, accounts.c.handle, accounts.c.key.label("author_key"))


def _select(cond: Any) -> Any:
    return (select(*_COLUMNS)
            .select_from(posts.join(accounts, accounts.c.id == posts.c.author_id))
            .where(cond))


def _parent(conn: Connection, network: str, ref: str, author_key: str | None) -> Any:
    row = conn.execute(_select(and_(posts.c.network == network, posts.c.key == ref))
                       .limit(1)).first()
    if row is None and author_key:
        author_id = select(accounts.c.id).where(
            accounts.c.network == network, accounts.c.key == author_key).scalar_subquery()
        row = conn.execute(_select(and_(posts.c.author_id == author_id,
                                        posts.c.remote_id == ref)).limit(1)).first()
    return row


def _voices(conn: Connection, rows: Sequence[Any]) -> set[int]:
    """Author ids (of `rows`) that are curated voices: an identity with their handle."""
    wanted = {(r.network, str(r.handle).lower()): r.author_id for r in rows}
    wanted.update({(r.network, str(r.author_key).lower()): r.author_id for r in rows})
    if not wanted:
        return set()
    found = conn.execute(select(identities.c.network, identities.c.key).where(
        identities.c.key.in_([k for _, k in wanted]))).all()
    return {wanted[(n, k)] for n, k in found if (n, k) in wanted}


def _gaps(conn: Connection, post_id: int) -> tuple[datetime | None, dict[str, str]]:
    row = conn.execute(select(thread_fetches.c.fetched_at, thread_fetches.c.gaps)
                       .where(thread_fetches.c.post_id == post_id)).first()
    if row is None:
        return None, {}
    try:
        data = json.loads(row.gaps or "[]")
    except ValueError:
        data = []
    gaps = {str(g.get("ref")): str(g.get("state")) for g in data if isinstance(g, dict)}
    return row.fetched_at, gaps


def thread_of(db: Database, post_id: int) -> StoredThread:
    """The stored conversation around post `post_id`: its ancestors root first, the post,
    then the replies depth first, oldest first at each level.

    Raises:
        StorageError: no such post.
    """
    with db.engine.connect() as conn:
        focus = conn.execute(_select(posts.c.id == post_id)).first()
        if focus is None:
            raise StorageError(f"no post with id {post_id}")
        fetched_at, gaps = _gaps(conn, post_id)
        up: list[Any] = []  # rows, or (ref, state) for a parent not stored
        row, seen = focus, {focus.id}
        while row.reply_to_id and len(up) < MAX_ANCESTORS:
            parent = _parent(conn, row.network, row.reply_to_id, row.reply_to_author)
            if parent is None or parent.id in seen:
                up.append((row.reply_to_id, gaps.get(row.reply_to_id, "unavailable")))
                break
            seen.add(parent.id)
            up.append(parent)
            row = parent
        up.reverse()
        children = _replies(conn, focus, seen)
        rows = [r for r in up if not isinstance(r, tuple)] + [focus] + \
            [r for _, r in children]
        voices = _voices(conn, rows)
    out: list[ThreadPost] = []
    for depth, item in enumerate(up):
        if isinstance(item, tuple):
            out.append(ThreadPost(depth, None, focus.network, state=item[1]))
        else:
            out.append(_line(item, depth, voices))
    base = len(up)
    out.append(_line(focus, base, voices, focus=True))
    out += [_line(r, base + d, voices) for d, r in children]
    return StoredThread(tuple(out), fetched_at)


def _replies(conn: Connection, focus: Any, seen: set[int]) -> list[tuple[int, Any]]:
    """(depth below the focus, row) of its replies, depth first, oldest first per level."""
    kids: dict[int, list[Any]] = {}
    level, total = [focus], 0
    while level and total < MAX_REPLIES:
        refs = {r.remote_id: r for r in level} | {r.key: r for r in level}
        found = conn.execute(_select(and_(posts.c.network == focus.network,
                                          posts.c.reply_to_id.in_(list(refs))))
                             .order_by(posts.c.created_at, posts.c.id)
                             .limit(MAX_REPLIES - total)).all()
        level = []
        for r in found:
            parent = refs.get(r.reply_to_id)
            if r.id in seen or parent is None:
                continue
            if parent.key != r.reply_to_id and parent.network == "mastodon" \
                    and r.reply_to_author and r.reply_to_author != parent.author_key:
                continue  # same remote id on another server: another post
            seen.add(r.id)
            kids.setdefault(parent.id, []).append(r)
            level.append(r)
            total += 1
    ordered: list[tuple[int, Any]] = []

    def walk(row: Any, depth: int) -> None:
        for child in kids.get(row.id, ()):
            ordered.append((depth, child))
            walk(child, depth + 1)

    walk(focus, 1)
    return ordered


def _line(r: Any, depth: int, voices: set[int], *, focus: bool = False) -> ThreadPost:
    return ThreadPost(depth, r.id, r.network, r.display_name or "", r.handle or "",
                      r.created_at, r.text or "", focus=focus, voice=r.author_id in voices,
                      context=bool(r.context),
                      state="deleted" if r.deleted_at is not None else "")


__all__ = ["GapState", "PostOrigin", "StoredThread", "ThreadCost", "ThreadPost", "post_origin",
           "save_context", "thread_of"]
