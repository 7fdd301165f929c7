"""Catch-up as SQL: the unread posts that arrived in a window, grouped by author.

What it reads: visible (not deleted), unread posts whose `first_seen` (when the archive
first stored them) falls in (since, upto], minus what `muted` hides. Per author: how
many, the newest arrival, and the author's *usual*: the median of boosts + likes over
their posts created in the BASELINE_DAYS before `upto` that carry counts (counts as the
network last sent them: a post stored an hour ago has had an hour to gather likes).

A post's *lift* is its boosts + likes over that usual (at least 1): 3.0 means three times
what the author usually gets. Within an author, posts go by: to you first (a reply to, or
a mention of, one of `yours`), then boosts + likes, then newest; the first `per_author`
of each come back (one window-function query), so the cost is bounded by the window,
never by the archive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    false,
    func,
    literal,
    or_,
    select,
    true,
    update,
)

from aggregator.storage.base import UTCDateTime
from aggregator.storage.db import Database
from aggregator.storage.mutes import unmuted
from aggregator.storage.queries import LIST_TEXT_CHARS
from aggregator.storage.schema import accounts, posts

BASELINE_DAYS = 30
CHUNK = 500  # author ids per IN (...)


@dataclass(frozen=True, slots=True)
class CatchupPost:
    id: int
    network: str
    created_at: datetime
    text: str  # the start only (LIST_TEXT_CHARS)
    reply_count: int | None
    boost_count: int | None
    like_count: int | None
    to_you: bool = False
    lift: float | None = None  # boosts + likes over the author's usual; None: no counts

    @property
    def engagement(self) -> int | None:
        if self.boost_count is None and self.like_count is None:
            return None
        return (self.boost_count or 0) + (self.like_count or 0)


@dataclass(frozen=True, slots=True)
class AuthorWindow:
    """One author's unread arrivals in the window."""

    author_id: int
    network: str
    key: str
    handle: str
    name: str
    count: int
    newest: datetime
    usual: float | None  # median boosts + likes (None: none of their posts has counts)
    to_you: int  # posts of the window that reply to or mention you
    posts: tuple[CatchupPost, ...]  # the first per_author, in notable order


def _window(since: datetime, upto: datetime,
            muted: ColumnElement[bool] | None) -> ColumnElement[bool]:
    clause = and_(posts.c.first_seen > literal(since, UTCDateTime()),
                  posts.c.first_seen <= literal(upto, UTCDateTime()),
                  posts.c.is_read == false(), posts.c.deleted_at.is_(None),
                  posts.c.context == false())  # a conversation's posts did not "arrive"
    return clause if muted is None else and_(clause, unmuted(muted))


def _like_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def to_you_clause(yours: Sequence[tuple[str, str]]) -> ColumnElement[bool]:
    """Posts that reply to or mention one of `yours` ((network, handle) of a configured
    account that names its handle): a mention is the handle among the post's mentions, a
    reply is to the stored account with that handle."""
    clauses: list[ColumnElement[bool]] = []
    for network, handle in yours:
        handle = handle.lstrip("@")
        own = select(accounts.c.key).where(accounts.c.network == network,
                                           func.lower(accounts.c.handle) == handle.lower())
        clauses.append(and_(posts.c.network == network, or_(
            posts.c.reply_to_author.in_(own.scalar_subquery()),
            func.lower(posts.c.mentions).like(f'%"{_like_text(handle.lower())}"%',
                                              escape="\\"))))
    return or_(*clauses) if clauses else false()


def catchup_window(db: Database, since: datetime, upto: datetime, *,
                   muted: ColumnElement[bool] | None = None,
                   yours: Sequence[tuple[str, str]] = (), per_author: int = 20,
                   ) -> list[AuthorWindow]:
    """Every author with unread arrivals in (since, upto], with their first `per_author`
    posts in notable order; unordered (the caller orders authors and voices)."""
    window = _window(since, upto, muted)
    to_you = case((to_you_clause(yours), 1), else_=0) if yours else literal(0)
    engagement = func.coalesce(posts.c.boost_count, 0) + func.coalesce(posts.c.like_count, 0)
    with db.engine.connect() as conn:
        groups = conn.execute(
            select(posts.c.author_id, func.count().label("n"),
                   func.max(posts.c.first_seen).label("newest"),
                   func.sum(to_you).label("to_you"))
            .where(window).group_by(posts.c.author_id)).all()
        if not groups:
            return []
        ids = [g.author_id for g in groups]
        people = _people(conn, ids)
        usual = _usual(conn, ids, upto)
        ranked = (select(posts.c.id, posts.c.author_id, posts.c.network, posts.c.created_at,
                         func.substr(posts.c.text, 1, LIST_TEXT_CHARS).label("text"),
                         posts.c.reply_count, posts.c.boost_count, posts.c.like_count,
                         to_you.label("to_you"),
                         func.row_number().over(
                             partition_by=posts.c.author_id,
                             order_by=(to_you.desc(), engagement.desc(),
                                       posts.c.created_at.desc(), posts.c.id.desc()),
                         ).label("rank"))
                  .where(window).subquery())
        rows = conn.execute(select(ranked).where(ranked.c.rank <= per_author)
                            .order_by(ranked.c.author_id, ranked.c.rank)).all()
    shown: dict[int, list[CatchupPost]] = {}
    for r in rows:
        base = usual.get(r.author_id)
        counted = r.boost_count is not None or r.like_count is not None
        lift = ((r.boost_count or 0) + (r.like_count or 0)) / max(base or 0.0, 1.0)
        shown.setdefault(r.author_id, []).append(CatchupPost(
            id=r.id, network=r.network, created_at=r.created_at, text=r.text or "",
            reply_count=r.reply_count, boost_count=r.boost_count, like_count=r.like_count,
            to_you=bool(r.to_you), lift=lift if counted else None))
    return [AuthorWindow(author_id=g.author_id, network=people[g.author_id][0],
                         key=people[g.author_id][1], handle=people[g.author_id][2],
                         name=people[g.author_id][3], count=int(g.n), newest=g.newest,
                         usual=usual.get(g.author_id), to_you=int(g.to_you or 0),
                         posts=tuple(shown.get(g.author_id, ())))
            for g in groups if g.author_id in people]


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]


def _people(conn: Any, ids: Sequence[int]) -> dict[int, tuple[str, str, str, str]]:
    found: dict[int, tuple[str, str, str, str]] = {}
    for chunk in _chunks(ids):
        for r in conn.execute(select(accounts.c.id, accounts.c.network, accounts.c.key,
                                     accounts.c.handle, accounts.c.display_name)
                              .where(accounts.c.id.in_(chunk))):
            found[r.id] = (r.network, r.key, r.handle, r.display_name or "")
    return found


def _usual(conn: Any, ids: Sequence[int], upto: datetime) -> dict[int, float]:
    """Median boosts + likes per author over their posts of the BASELINE_DAYS before
    `upto` that have counts (read through the (author_id, created_at) index). The median,
    not the mean: one viral post must not make every other post look below usual."""
    start = upto - timedelta(days=BASELINE_DAYS)
    engagement = func.coalesce(posts.c.boost_count, 0) + func.coalesce(posts.c.like_count, 0)
    values: dict[int, list[int]] = {}
    for chunk in _chunks(ids):
        for author_id, value in conn.execute(
                select(posts.c.author_id, engagement)
                .where(posts.c.author_id.in_(chunk),
                       posts.c.created_at >= literal(start, UTCDateTime()),
                       or_(posts.c.boost_count.is_not(None), posts.c.like_count.is_not(None)))):
            values.setdefault(author_id, []).append(int(value))
    return {author_id: float(median(v)) for author_id, v in values.items()}


def mark_read(db: Database, author_ids: Sequence[int], since: datetime, upto: datetime, *,
              muted: ColumnElement[bool] | None = None) -> int:
    """Mark read the unread arrivals in (since, upto] of these authors that the mutes
    leave (a muted post stays as it was); -> how many."""
    if not author_ids:
        return 0
    with db.engine.begin() as conn:
        result = conn.execute(update(posts).where(
            posts.c.author_id.in_(list(author_ids)), _window(since, upto, muted))
            .values(is_read=true()))
    return int(result.rowcount or 0)


def count_window(db: Database, since: datetime, upto: datetime, *,
                 muted: ColumnElement[bool] | None = None, cap: int = 1000) -> int:
    """Unread arrivals in (since, upto], counting stops at `cap`."""
    inner = select(posts.c.id).where(_window(since, upto, muted)).limit(cap).subquery()
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(inner)).scalar_one())


def unread_left(db: Database, since: datetime, upto: datetime, *,
                muted: ColumnElement[bool] | None = None) -> bool:
    """Whether any unread arrival of the window is left."""
    with db.engine.connect() as conn:
        return conn.execute(select(posts.c.id).where(_window(since, upto, muted))
                            .limit(1)).first() is not None


def voices_of(db: Database, authors: Sequence[tuple[str, str, str]]
              ) -> dict[tuple[str, str], tuple[int, str]]:
    """(network, account key) -> (voice id, voice name) for the `authors` ((network, key,
    handle)) that are an identity of a curated voice: by handle (case ignored), or on X by
    the user id once the curator resolved it."""
    from aggregator.storage.curation_schema import identities, voices  # curation's, read here

    found: dict[tuple[str, str], tuple[int, str]] = {}
    with db.engine.connect() as conn:
        for i in range(0, len(authors), CHUNK):
            chunk = authors[i:i + CHUNK]
            wanted = {(n, h.lstrip("@").lower()): (n, k) for n, k, h in chunk}
            x_ids = {k: (n, k) for n, k, _ in chunk if n == "twitter"}
            for r in conn.execute(
                    select(identities.c.network, identities.c.key, identities.c.remote_id,
                           voices.c.id, voices.c.name)
                    .join(voices, voices.c.id == identities.c.voice_id)
                    .where(or_(identities.c.key.in_(sorted({h for _, h in wanted})),
                               and_(identities.c.network == "twitter",
                                    identities.c.remote_id.in_(sorted(x_ids)))))):
                hit = wanted.get((r.network, r.key))
                if hit is None and r.network == "twitter":
                    hit = x_ids.get(r.remote_id)
                if hit is not None:
                    found[hit] = (r.id, r.name)
    return found
