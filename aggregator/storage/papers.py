"""Works and who shared them: written with each page of posts and by the backfill, read
as a ranking by distinct voices (`rounds papers`, the reader's Papers view).

A *voice* is a curated voice (its Mastodon, X, Bluesky and feed identities together), else
the account. A work's voices are the authors of the posts that carry it and the accounts
that boosted those posts; a voice counts once however many posts, boosts or networks it
shared the work on. Deleted posts and posts fetched only as a conversation's context do not
count. The ranking reads `post_works` (its (created_at, work_id) index for `--since`), the
boosts of those posts, and the accounts and voices of the authors it found: its cost grows
with the shares in the period, never with the archive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    bindparam,
    false,
    func,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from aggregator.errors import CurationError
from aggregator.storage.base import UTCDateTime
from aggregator.storage.catchup import voices_of
from aggregator.storage.curation_schema import curated_lists, identities, memberships
from aggregator.storage.db import Database
from aggregator.storage.papers_schema import post_works, works
from aggregator.storage.rawjson import decode_raw
from aggregator.storage.schema import accounts, boosts, post_topics, posts

CHUNK = 500
WHO_SHOWN = 8  # names per work (the count says how many in all)


class WorkLike(Protocol):
    """A detected work as storage needs it (aggregator.papers.detect.WorkRef is one)."""

    @property
    def scheme(self) -> str: ...
    @property
    def ident(self) -> str: ...
    @property
    def title(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Shared:
    """One stored post and the works it carries."""

    post_id: int
    created_at: datetime
    author_id: int
    works: Sequence[WorkLike]


@dataclass(frozen=True, slots=True)
class RankedWork:
    id: int
    scheme: str
    ident: str
    title: str  # "" when no post carried one and enrich has not found one
    voices: int  # distinct voices who shared it (authors and boosters)
    posts: int  # posts carrying it
    first_seen: datetime  # the earliest of those posts (or boosts)
    last_seen: datetime
    who: tuple[str, ...]  # the first WHO_SHOWN voices' names, earliest first


@dataclass(frozen=True, slots=True)
class WorkInfo:
    id: int
    scheme: str
    ident: str
    title: str
    title_from: str


@cache
def _save_statements(dialect: str) -> tuple[Any, Any, Any]:
    """(insert works, their ids, insert the links) of `save_shared`, built once per
    dialect: a page with a work runs them every time."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (insert(works).on_conflict_do_nothing(index_elements=["scheme", "ident"]),
            select(works.c.id, works.c.scheme, works.c.ident, works.c.title)
            .where(tuple_(works.c.scheme, works.c.ident).in_(bindparam("refs", expanding=True))),
            insert(post_works).on_conflict_do_nothing())


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def save_shared(conn: Connection, shared: Sequence[Shared]) -> int:
    """Store the works of these posts and the links to them (idempotent); a work without
    a title takes the first one a post carries. -> links written (new or not)."""
    refs: dict[tuple[str, str], str] = {}
    for s in shared:
        for w in s.works:
            if not refs.get((w.scheme, w.ident)):
                refs[(w.scheme, w.ident)] = w.title
    if not refs:
        return 0
    add_works, work_ids, add_links = _save_statements(conn.dialect.name)
    conn.execute(add_works, [
        {"scheme": scheme, "ident": ident, "title": title or None,
         "title_from": "post" if title else None}
        for (scheme, ident), title in refs.items()])
    ids: dict[tuple[str, str], int] = {}
    untitled: list[int] = []
    for chunk in _chunks(list(refs)):
        for r in conn.execute(work_ids, {"refs": list(chunk)}):
            ids[(r.scheme, r.ident)] = r.id
            if r.title is None and refs[(r.scheme, r.ident)]:
                untitled.append(r.id)
    for work_id in untitled:  # seen before without a title: this post carries one
        key = next(k for k, v in ids.items() if v == work_id)
        conn.execute(update(works).where(works.c.id == work_id, works.c.title.is_(None))
                     .values(title=refs[key], title_from="post"))
    rows = [{"work_id": ids[(w.scheme, w.ident)], "post_id": s.post_id,
             "created_at": s.created_at, "author_id": s.author_id}
            for s in shared for w in s.works]
    unique = list({(r["work_id"], r["post_id"]): r for r in rows}.values())
    conn.execute(add_links, unique)
    return len(unique)


# ---------------------------------------------------------------------- backfill


@dataclass(frozen=True, slots=True)
class StoredPost:
    id: int
    network: str
    url: str
    created_at: datetime
    author_id: int
    text: str
    spoiler: str
    links: str  # JSON list
    raw: str  # the JSON text (decoded: storage.rawjson)
    visible: bool  # not deleted, not a conversation's context: only these share works


def posts_after(db: Database, after_id: int, limit: int) -> list[StoredPost]:
    """The next `limit` posts by id after `after_id` (the backfill's keyset)."""
    visible = and_(posts.c.deleted_at.is_(None), posts.c.context == false())
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(posts.c.id, posts.c.network, posts.c.url, posts.c.created_at,
                   posts.c.author_id, posts.c.text, posts.c.spoiler, posts.c.links, posts.c.raw,
                   visible.label("visible"))
            .where(posts.c.id > after_id).order_by(posts.c.id).limit(limit)).all()
    return [StoredPost(r.id, r.network, r.url, r.created_at, r.author_id, r.text, r.spoiler,
                       r.links, decode_raw(r.raw), bool(r.visible)) for r in rows]


def last_post_id(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(posts.c.id), 0))).scalar_one())


def save_backfill(db: Database, shared: Sequence[Shared], state_key: str, last_id: int) -> None:
    """One batch's works and how far the backfill got, in one transaction."""
    from aggregator.storage.repository import upsert_app_state

    with db.engine.begin() as conn:
        save_shared(conn, shared)
        upsert_app_state(conn, state_key, str(last_id))


# ---------------------------------------------------------------------- reading


def _shares(conn: Connection, since: datetime | None, topic: str | None
            ) -> list[tuple[int, int, datetime, datetime, int]]:
    """(work id, account id, first, last, posts) of every author and booster of a work,
    in the period. post_works holds visible posts only (see papers_schema), so this reads
    its covering (created_at, work_id, author_id) index and the boosts' time index, never
    the posts table."""
    shared = select(post_works.c.work_id, post_works.c.author_id, post_works.c.created_at)
    boosted = (select(post_works.c.work_id, boosts.c.booster_id,
                      func.min(boosts.c.created_at), func.max(boosts.c.created_at),
                      literal(0))
               .select_from(boosts.join(post_works, post_works.c.post_id == boosts.c.post_id)))
    if since is not None:
        shared = shared.where(post_works.c.created_at >= literal(since, UTCDateTime()))
        boosted = boosted.where(boosts.c.created_at >= literal(since, UTCDateTime()))
    if topic is not None:
        tagged = select(post_topics.c.post_id).where(post_topics.c.topic == topic)
        shared = shared.where(post_works.c.post_id.in_(tagged))
        boosted = boosted.where(post_works.c.post_id.in_(tagged))
    # Materialized first, grouped after: grouping post_works directly, SQLite walks the
    # whole primary key (to group without sorting) instead of the period's index range:
    # 0.53 s against 0.02 s for 30 days of a 1M-post archive.
    rows = shared.cte("shared").prefix_with("MATERIALIZED")
    authored = (select(rows.c.work_id, rows.c.author_id, func.min(rows.c.created_at),
                       func.max(rows.c.created_at), func.count())
                .group_by(rows.c.work_id, rows.c.author_id))
    boosted = boosted.group_by(post_works.c.work_id, boosts.c.booster_id)
    return [(r[0], r[1], r[2], r[3], int(r[4])) for stmt in (authored, boosted)
            for r in conn.execute(stmt)]


def _list_voices(conn: Connection, name: str) -> set[int]:
    list_id = conn.execute(select(curated_lists.c.id)
                           .where(curated_lists.c.name == name)).scalar()
    if list_id is None:
        known = conn.execute(select(curated_lists.c.name).order_by(curated_lists.c.name)
                             ).scalars().all()
        hint = f" (curated lists: {', '.join(known)})" if known else " (no curated lists yet)"
        raise CurationError(f"no curated list named {name!r}{hint}")
    return set(conn.execute(select(memberships.c.voice_id)
                            .where(memberships.c.list_id == list_id)).scalars())


def _maybe_voices(db: Database, people: dict[int, tuple[str, str, str, str]]
                  ) -> list[tuple[str, str, str]]:
    """The accounts that may be a curated voice's identity ((network, key, handle)), by
    one read of the identities (hundreds), so that voices_of looks up a few accounts, not
    the tens of thousands who shared something."""
    with db.engine.connect() as conn:
        known = {(r.network, r.key) for r in conn.execute(
            select(identities.c.network, identities.c.key))}
        x_ids = set(conn.execute(select(identities.c.remote_id).where(
            identities.c.network == "twitter", identities.c.remote_id != "")).scalars())
    return [(n, k, h) for n, k, h, _ in people.values()
            if (n, h.lstrip("@").lower()) in known or (n == "twitter" and k in x_ids)]


def rank_works(db: Database, *, since: datetime | None = None, topic: str | None = None,
               list_name: str | None = None, limit: int = 50) -> list[RankedWork]:
    """Works by distinct voices, then posts, then the latest share; see the module doc.

    `list_name`: only the voices of that curated list count (raises CurationError when
    there is no such list)."""
    with db.engine.connect() as conn:
        members = _list_voices(conn, list_name) if list_name is not None else None
        shares = _shares(conn, since, topic)
        people: dict[int, tuple[str, str, str, str]] = {}
        for chunk in _chunks(sorted({s[1] for s in shares})):
            for r in conn.execute(select(accounts.c.id, accounts.c.network, accounts.c.key,
                                         accounts.c.handle, accounts.c.display_name)
                                  .where(accounts.c.id.in_(chunk))):
                people[r.id] = (r.network, r.key, r.handle, r.display_name or r.handle)
    voices = voices_of(db, _maybe_voices(db, people)) if people else {}
    tally: dict[int, dict[str, Any]] = {}
    for work_id, account_id, first, last, count in shares:
        person = people.get(account_id)
        if person is None:
            continue
        voice = voices.get((person[0], person[1]))
        if members is not None and (voice is None or voice[0] not in members):
            continue
        who = f"voice:{voice[0]}" if voice else f"account:{account_id}"
        name = (voice[1] if voice else "") or person[3]
        t = tally.setdefault(work_id, {"who": {}, "posts": 0, "first": first, "last": last})
        seen = t["who"].get(who)
        if seen is None or first < seen[0]:
            t["who"][who] = (first, name)
        t["posts"] += count
        t["first"], t["last"] = min(t["first"], first), max(t["last"], last)
    ranked = sorted(tally.items(), key=lambda kv: (-len(kv[1]["who"]), -kv[1]["posts"],
                                                   -kv[1]["last"].timestamp(), kv[0]))[:limit]
    info = work_infos(db, [work_id for work_id, _ in ranked])
    return [RankedWork(
        id=work_id, scheme=info[work_id].scheme, ident=info[work_id].ident,
        title=info[work_id].title, voices=len(t["who"]), posts=t["posts"],
        first_seen=t["first"], last_seen=t["last"],
        who=tuple(name for _, name in sorted(t["who"].values())[:WHO_SHOWN]))
        for work_id, t in ranked if work_id in info]


def work_infos(db: Database, ids: Sequence[int]) -> dict[int, WorkInfo]:
    found: dict[int, WorkInfo] = {}
    with db.engine.connect() as conn:
        for chunk in _chunks(list(ids)):
            for r in conn.execute(select(works.c.id, works.c.scheme, works.c.ident,
                                         works.c.title, works.c.title_from)
                                  .where(works.c.id.in_(chunk))):
                found[r.id] = WorkInfo(r.id, r.scheme, r.ident, r.title or "",
                                       r.title_from or "")
    return found


def works_of_posts(db: Database, post_ids: Sequence[int]) -> dict[int, list[WorkInfo]]:
    """post id -> the works it shares (tests and the backfill's report read it)."""
    found: dict[int, list[WorkInfo]] = {}
    with db.engine.connect() as conn:
        for chunk in _chunks(list(post_ids)):
            for r in conn.execute(
                    select(post_works.c.post_id, works.c.id, works.c.scheme, works.c.ident,
                           works.c.title, works.c.title_from)
                    .join(works, works.c.id == post_works.c.work_id)
                    .where(post_works.c.post_id.in_(chunk))
                    .order_by(post_works.c.post_id, works.c.id)):
                found.setdefault(r.post_id, []).append(
                    WorkInfo(r.id, r.scheme, r.ident, r.title or "", r.title_from or ""))
    return found


def sharing(work_id: int, also: ColumnElement[bool] | None = None) -> ColumnElement[bool]:
    """The posts that carry a work (and `also`), as a filter for `queries.list_posts`."""
    clause = posts.c.id.in_(select(post_works.c.post_id).where(post_works.c.work_id == work_id))
    return clause if also is None else and_(clause, also)


# ---------------------------------------------------------------------- enrich


def works_to_enrich(db: Database, schemes: Sequence[str], limit: int) -> list[WorkInfo]:
    """Works without a title that enrich has never asked about, most shared first."""
    shared = func.count(post_works.c.post_id)
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(works.c.id, works.c.scheme, works.c.ident)
            .join(post_works, post_works.c.work_id == works.c.id)
            .where(works.c.title.is_(None), works.c.enriched_at.is_(None),
                   works.c.scheme.in_(list(schemes)))
            .group_by(works.c.id, works.c.scheme, works.c.ident)
            .order_by(shared.desc(), works.c.id).limit(limit)).all()
    return [WorkInfo(r.id, r.scheme, r.ident, "", "") for r in rows]


def save_enriched(db: Database, work_id: int, at: datetime, *, title: str | None,
                  source: str, error: str | None = None) -> None:
    """What enrich learnt about one work: a title, or the error (asked either way)."""
    values: dict[str, Any] = {"enriched_at": at, "enrich_error": error}
    with db.engine.begin() as conn:
        if title:
            conn.execute(update(works).where(works.c.id == work_id, works.c.title.is_(None))
                         .values(title=title, title_from=source))
        conn.execute(update(works).where(works.c.id == work_id).values(**values))


def forget_failures(db: Database) -> int:
    """Forget enrich's failed answers so it asks again; -> how many."""
    with db.engine.begin() as conn:
        result = conn.execute(update(works).where(works.c.title.is_(None),
                                                  works.c.enrich_error.is_not(None))
                              .values(enriched_at=None, enrich_error=None))
    return int(result.rowcount or 0)


def count_works(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(works)).scalar_one())
