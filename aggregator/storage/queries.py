"""Read side for the reader: frozen dataclasses, never ORM rows.

Lists are paged with a keyset on (created_at DESC, id DESC): a page is "the next `limit`
posts older than this key", so page 10,000 costs what page 1 costs and nothing is ever
held in memory beyond the page. Topic and source views are read through their own
indexes (post_topics / post_sources on (x, created_at, post_id)) rather than by scanning
posts. Counts are capped: the sidebar shows "99+" instead of counting a million rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    exists,
    false,
    func,
    literal,
    select,
    true,
    tuple_,
)
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

from aggregator.errors import StorageError
from aggregator.storage.base import UTCDateTime
from aggregator.storage.db import Database
from aggregator.storage.schema import (
    accounts,
    boosts,
    post_sources,
    post_topics,
    posts,
    sources,
)
from aggregator.storage.search import FTS_FLOOR

LIST_TEXT_CHARS = 300  # the list shows one line; never pull a 100 KB post for it
COUNT_CAP = 1000
# The sidebar's unread count per view stops here ("99+"): each view's count reads up to
# this many posts, and with a few dozen views a higher cap made the sidebar's cost grow with
# the archive until every view reached it (27 topics x 1,000 lookups on the 1M bench).
VIEW_COUNT_CAP = 100


@dataclass(frozen=True, slots=True, order=True)
class PostKey:
    """Position in the (created_at DESC, id DESC) order."""

    created_at: datetime
    id: int


@dataclass(frozen=True, slots=True)
class PostRow:
    """One line of the post list."""

    id: int
    network: str
    created_at: datetime
    author_name: str
    author_handle: str
    text: str  # the start of the text only (LIST_TEXT_CHARS)
    is_read: bool
    starred: bool
    topics: tuple[str, ...] = ()
    boosted_by: str | None = None
    has_link: bool = False
    has_media: bool = False

    @property
    def key(self) -> PostKey:
        return PostKey(self.created_at, self.id)


@dataclass(frozen=True, slots=True)
class AuthorInfo:
    name: str
    handle: str
    bio: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class MediaInfo:
    kind: str
    url: str
    alt_text: str = ""


@dataclass(frozen=True, slots=True)
class TopicReason:
    topic: str
    rule: str
    matched: str
    weight: int = 1


@dataclass(frozen=True, slots=True)
class RelatedPost:
    """What a post replies to or quotes. `post_id` is set when we have it stored."""

    ref: str  # remote id (reply) or key (quote)
    author: str | None = None
    post_id: int | None = None
    author_name: str = ""
    text: str = ""


@dataclass(frozen=True, slots=True)
class PostDetail:
    id: int
    network: str
    key: str
    url: str
    created_at: datetime
    text: str
    author: AuthorInfo
    is_read: bool
    starred: bool
    spoiler: str = ""
    lang: str | None = None
    edited_at: datetime | None = None
    sensitive: bool = False
    hashtags: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    media: tuple[MediaInfo, ...] = ()
    boosted_by: tuple[AuthorInfo, ...] = ()
    reply_to: RelatedPost | None = None
    quote_of: RelatedPost | None = None
    sources: tuple[str, ...] = ()
    topics: tuple[TopicReason, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class ViewFilter:
    """A sidebar view: a WHERE clause over posts, optionally driven by a topic or source
    index. `id` is what count_views keys its answer by."""

    id: str
    where: ColumnElement[bool] | None = None
    topic: str | None = None
    source_id: int | None = None


def _visible(where: ColumnElement[bool] | None) -> ColumnElement[bool]:
    # context posts (fetched for a conversation) are in no view and no unread count
    clause = and_(posts.c.deleted_at.is_(None), posts.c.context == false())
    return clause if where is None else and_(clause, where)


def _ordered_ids(where: ColumnElement[bool] | None, before: PostKey | None,
                 topic: str | None, source_id: int | None) -> tuple[Select[Any], Any, Any]:
    """SELECT of post ids in list order, driven by the narrowest index available."""
    if topic is not None:
        driver: Any = post_topics
        cond: ColumnElement[bool] = post_topics.c.topic == topic
    elif source_id is not None:
        driver = post_sources
        cond = post_sources.c.source_id == source_id
    else:
        driver = None
        cond = true()
    if driver is None:
        created, pid = posts.c.created_at, posts.c.id
        stmt = select(posts.c.id).where(_visible(where))
    else:
        created, pid = driver.c.created_at, driver.c.post_id
        stmt = (select(posts.c.id).select_from(driver.join(posts, posts.c.id == pid))
                .where(cond, _visible(where)))
    if before is not None:
        stmt = stmt.where(tuple_(created, pid) < tuple_(
            literal(before.created_at, UTCDateTime()), literal(before.id)))
    return stmt, created, pid


def list_posts(db: Database, where: ColumnElement[bool] | None, *,
               before: PostKey | None = None, limit: int = 50, topic: str | None = None,
               source_id: int | None = None) -> list[PostRow]:
    """The next `limit` visible posts older than `before` (newest first)."""
    stmt, created, pid = _ordered_ids(where, before, topic, source_id)
    stmt = stmt.order_by(created.desc(), pid.desc()).limit(limit)
    with db.engine.connect() as conn:
        if db.dialect == "sqlite" and _reads_full_text(where):
            ids = _newest_hits(conn, stmt.add_columns(created), limit, before, topic,
                               source_id)
        else:
            ids = [r[0] for r in conn.execute(stmt)]
        return _rows(conn, ids)


# Full-text pages are looked for among the newest-arrived 2,000 posts, then 50,000, then
# all (see `_newest_hits`). Measured on the 100k bench archive: the first 50 hits of a word
# in 78% of the posts took 332 ms collecting all its matches.
FTS_WINDOWS = (2_000, 50_000)


def _reads_full_text(where: ColumnElement[bool] | None) -> bool:
    """Whether `where` holds a full-text clause (one reading FTS_FLOOR)."""
    return where is not None and any(
        isinstance(e, BindParameter) and e.key == FTS_FLOOR for e in visitors.iterate(where))


def _newest_hits(conn: Connection, stmt: Select[Any], limit: int, before: PostKey | None,
                 topic: str | None, source_id: int | None) -> list[int]:
    """The ids `stmt` (id, created_at; full-text clauses reading rowids >= FTS_FLOOR)
    selects, found first among the posts that arrived last.

    A window's page is the answer when it is full and no post that arrived before the
    window (a smaller id) sorts above its last row: ids follow arrival, and in an archive
    collected as posts appear arrival follows time, so that check reads only the few
    index entries newer than the page. An import of older posts, a rare word or a deep
    page fall through to the next window and at last to the whole archive: the result is
    always exactly what the plain statement returns."""
    top = conn.execute(select(func.max(posts.c.id))).scalar() or 0
    for window in FTS_WINDOWS:
        floor = top - window
        if floor <= 1:
            break
        rows = conn.execute(stmt.where(posts.c.id >= floor), {FTS_FLOOR: floor}).all()
        if len(rows) < limit:
            continue
        last_id, last_created = rows[-1]
        earlier, created, pid = _ordered_ids(None, before, topic, source_id)
        # ordered: read from the (created_at, id) index upwards from the page's last row
        # (unordered, SQLite scanned the rowids below the floor: 97 ms instead of 1 ms)
        displaced = conn.execute(earlier.where(pid < floor, tuple_(created, pid) > tuple_(
            literal(last_created, UTCDateTime()), literal(last_id)))
            .order_by(created, pid).limit(1)).first()
        if displaced is None:
            return [r[0] for r in rows]
    return [r[0] for r in conn.execute(stmt)]


def list_newer(db: Database, where: ColumnElement[bool] | None, *, after: PostKey,
               limit: int = 200, topic: str | None = None,
               source_id: int | None = None) -> list[PostRow]:
    """Visible posts newer than `after`, newest first (at most `limit`, the oldest of them)."""
    stmt, created, pid = _ordered_ids(where, None, topic, source_id)
    stmt = stmt.where(tuple_(created, pid) > tuple_(
        literal(after.created_at, UTCDateTime()), literal(after.id)))
    stmt = stmt.order_by(created.asc(), pid.asc()).limit(limit)
    with db.engine.connect() as conn:
        ids = [r[0] for r in conn.execute(stmt)]
        ids.reverse()
        return _rows(conn, ids)


def _rows(conn: Connection, ids: list[int]) -> list[PostRow]:
    if not ids:
        return []
    booster = accounts.alias("booster")
    first_booster = (select(booster.c.display_name)
                     .select_from(boosts.join(booster, booster.c.id == boosts.c.booster_id))
                     .where(boosts.c.post_id == posts.c.id)
                     .order_by(boosts.c.created_at).limit(1).scalar_subquery())
    stmt = (select(posts.c.id, posts.c.network, posts.c.created_at,
                   func.substr(posts.c.text, 1, LIST_TEXT_CHARS).label("text"),
                   posts.c.is_read, posts.c.starred, posts.c.has_link, posts.c.has_media,
                   accounts.c.display_name, accounts.c.handle,
                   first_booster.label("booster"))
            .select_from(posts.join(accounts, accounts.c.id == posts.c.author_id))
            .where(posts.c.id.in_(ids)))
    topics: dict[int, list[str]] = {}
    for pid, topic in conn.execute(select(post_topics.c.post_id, post_topics.c.topic)
                                   .where(post_topics.c.post_id.in_(ids))
                                   .order_by(post_topics.c.weight.desc(), post_topics.c.topic)):
        topics.setdefault(pid, []).append(topic)
    by_id = {r.id: PostRow(
        id=r.id, network=r.network, created_at=r.created_at, author_name=r.display_name or "",
        author_handle=r.handle, text=r.text or "", is_read=bool(r.is_read),
        starred=bool(r.starred), topics=tuple(topics.get(r.id, ())), boosted_by=r.booster,
        has_link=bool(r.has_link), has_media=bool(r.has_media))
        for r in conn.execute(stmt)}
    return [by_id[i] for i in ids if i in by_id]


def post_with_author(conn: Connection, post_id: int, *columns: Any) -> Any:
    """One row of `columns` of a post joined with its author.

    Raises:
        StorageError: no such post.
    """
    row = conn.execute(select(*columns)
                       .select_from(posts.join(accounts, accounts.c.id == posts.c.author_id))
                       .where(posts.c.id == post_id)).first()
    if row is None:
        raise StorageError(f"no post with id {post_id}")
    return row


def get_post(db: Database, post_id: int) -> PostDetail:
    """Everything the reading pane shows about one post.

    Raises:
        StorageError: no such post.
    """
    with db.engine.connect() as conn:
        r = post_with_author(conn, post_id, posts, accounts.c.display_name, accounts.c.handle,
                             accounts.c.bio, accounts.c.url.label("author_url"))
        boosters = tuple(AuthorInfo(b.display_name, b.handle, b.bio, b.url) for b in conn.execute(
            select(accounts.c.display_name, accounts.c.handle, accounts.c.bio, accounts.c.url)
            .select_from(boosts.join(accounts, accounts.c.id == boosts.c.booster_id))
            .where(boosts.c.post_id == post_id).order_by(boosts.c.created_at)))
        source_names = tuple(conn.execute(
            select(sources.c.name).select_from(
                post_sources.join(sources, sources.c.id == post_sources.c.source_id))
            .where(post_sources.c.post_id == post_id).order_by(sources.c.name)).scalars())
        reasons = tuple(TopicReason(t.topic, t.rule, t.matched, t.weight) for t in conn.execute(
            select(post_topics).where(post_topics.c.post_id == post_id)
            .order_by(post_topics.c.weight.desc(), post_topics.c.topic)))
        reply = _reply_target(conn, r.network, r.reply_to_id, r.reply_to_author)
        quote = _quote_target(conn, r.network, r.quote_of)
    return PostDetail(
        id=r.id, network=r.network, key=r.key, url=r.url, created_at=r.created_at,
        text=r.text, author=AuthorInfo(r.display_name, r.handle, r.bio, r.author_url),
        is_read=bool(r.is_read), starred=bool(r.starred), spoiler=r.spoiler, lang=r.lang,
        edited_at=r.edited_at, sensitive=bool(r.sensitive),
        hashtags=tuple(_json_list(r.hashtags)), links=tuple(_json_list(r.links)),
        media=tuple(MediaInfo(str(m.get("kind", "")), str(m.get("url", "")),
                              str(m.get("alt_text", "") or ""))
                    for m in _json_list(r.media) if isinstance(m, dict)),
        boosted_by=boosters, reply_to=reply, quote_of=quote, sources=source_names,
        topics=reasons,
    )


def _json_list(value: str | None) -> list[Any]:
    try:
        data = json.loads(value or "[]")
    except ValueError:
        return []
    return data if isinstance(data, list) else []


def _related(conn: Connection, cond: ColumnElement[bool]) -> Any:
    return conn.execute(
        select(posts.c.id, func.substr(posts.c.text, 1, 500).label("text"),
               accounts.c.display_name)
        .select_from(posts.join(accounts, accounts.c.id == posts.c.author_id))
        .where(cond).limit(1)).first()


def _reply_target(conn: Connection, network: str, remote_id: str | None,
                  author_key: str | None) -> RelatedPost | None:
    if not remote_id:
        return None
    # X: a tweet's key is its id. Mastodon: remote ids are per server and not indexed,
    # so look among the replied-to author's posts (indexed by author) instead.
    row = _related(conn, and_(posts.c.network == network, posts.c.key == remote_id))
    if row is None and author_key:
        author_id = select(accounts.c.id).where(
            accounts.c.network == network, accounts.c.key == author_key).scalar_subquery()
        row = _related(conn, and_(posts.c.author_id == author_id,
                                  posts.c.remote_id == remote_id))
    if row is None:
        return RelatedPost(ref=remote_id, author=author_key)
    return RelatedPost(ref=remote_id, author=author_key, post_id=row.id,
                       author_name=row.display_name, text=row.text)


def _quote_target(conn: Connection, network: str, key: str | None) -> RelatedPost | None:
    if not key:
        return None
    row = _related(conn, and_(posts.c.network == network, posts.c.key == key))
    if row is None:
        return RelatedPost(ref=key)
    return RelatedPost(ref=key, post_id=row.id, author_name=row.display_name, text=row.text)


def count_views(db: Database, views: Sequence[ViewFilter], *,
                cap: int = VIEW_COUNT_CAP) -> dict[str, int]:
    """Unread posts per view, each count stopping at `cap` (show it as "99+")."""
    unread = posts.c.is_read == false()
    counts: dict[str, int] = {}
    with db.engine.connect() as conn:
        for view in views:
            where = unread if view.where is None else and_(unread, view.where)
            inner, _, _ = _ordered_ids(where, None, view.topic, view.source_id)
            counts[view.id] = int(conn.execute(
                select(func.count()).select_from(inner.limit(cap).subquery())).scalar_one())
    return counts


def count_posts(db: Database, where: ColumnElement[bool] | None, *, topic: str | None = None,
                source_id: int | None = None, cap: int = COUNT_CAP) -> int:
    """Visible posts matching `where` (in a topic's or a source's view), stopping at `cap`."""
    inner, _, _ = _ordered_ids(where, None, topic, source_id)
    with db.engine.connect() as conn:
        return int(conn.execute(
            select(func.count()).select_from(inner.limit(cap).subquery())).scalar_one())


def newest_marker(db: Database) -> int:
    """A number that grows whenever a post is added (the largest post id): cheap to poll."""
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(posts.c.id), 0))).scalar_one())


def list_source_names(db: Database) -> list[tuple[int, str, str]]:
    """(id, name, network) of every source, by name."""
    with db.engine.connect() as conn:
        return [(r.id, r.name, r.network) for r in conn.execute(
            select(sources.c.id, sources.c.name, sources.c.network).order_by(sources.c.name))]


def topic_filter(topic: str) -> ColumnElement[bool]:
    """Posts tagged with `topic` (for combining with other clauses)."""
    return exists().where(post_topics.c.post_id == posts.c.id, post_topics.c.topic == topic)


def source_filter(source_id: int) -> ColumnElement[bool]:
    return exists().where(post_sources.c.post_id == posts.c.id,
                          post_sources.c.source_id == source_id)


# ---------------------------------------------------------------- the reader's read API
# Added for `aggregator.reader`: the reader's views and the curator's sync status, so that
# no layer above storage builds SQL on the schema tables.


def list_topics(db: Database) -> list[str]:
    """The topic ids present in the archive, sorted (the sidebar when no taxonomy is given)."""
    with db.engine.connect() as conn:
        return sorted(conn.execute(select(post_topics.c.topic).distinct()).scalars())


def view_filter(view_id: str, *, unread: bool = False, starred: bool = False,
                network: str | None = None, topic: str | None = None,
                source_id: int | None = None,
                extra: Sequence[ColumnElement[bool]] = ()) -> ViewFilter:
    """A ViewFilter from what a sidebar view and its filter ask for; `extra` are clauses
    built elsewhere in storage (`search.post_filter` of a saved view or a typed filter)."""
    clauses = list(extra)
    if unread:
        clauses.insert(0, posts.c.is_read == false())
    if starred:
        clauses.insert(0, posts.c.starred == true())
    if network is not None:
        clauses.insert(0, posts.c.network == network)
    where = None if not clauses else clauses[0] if len(clauses) == 1 else and_(*clauses)
    return ViewFilter(view_id, where, topic, source_id)


def sync_trouble(db: Database, list_id: int, network: str,
                 since: datetime | None) -> list[tuple[str, str]]:
    """(action, detail) of the sync log entries of one linked list that did not succeed
    since `since` (the last complete sync; None: ever), oldest first."""
    from aggregator.storage.curation_schema import sync_log  # curation's table, read here only

    query = select(sync_log.c.action, sync_log.c.detail).where(
        sync_log.c.list_id == list_id, sync_log.c.network == network,
        sync_log.c.outcome != "done")
    if since is not None:
        query = query.where(sync_log.c.at > since)
    with db.engine.connect() as conn:
        return [(r.action, r.detail) for r in conn.execute(query.order_by(sync_log.c.id))]
