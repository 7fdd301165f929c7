"""Mutes as stored (the `mutes` table) and as SQL: which posts they hide.

A mute hides posts from the reader and from `rounds search`; it never deletes one. What
it hides is one SQL clause over `posts` (`muted_clause`), added to the WHERE of the very
queries that list, count and search posts, so that a page of the reader is still one
indexed read however many posts the mutes hide:

* author: the account's network and key (a renamed handle stays muted);
* tag: a hashtag among the post's hashtags, case ignored (`search.hashtag_match`);
* query: a query-language expression (`search.post_filter`), parsed by the caller.

A mute whose `until` has passed hides nothing; it stays listed until removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    and_,
    delete,
    false,
    func,
    insert,
    not_,
    or_,
    select,
    update,
)

from aggregator.errors import StorageError
from aggregator.query import Query
from aggregator.storage.db import Database
from aggregator.storage.mute_schema import MUTE_KINDS, mutes
from aggregator.storage.queries import post_with_author
from aggregator.storage.schema import accounts, posts
from aggregator.storage.search import hashtag_match, post_filter

CONFIG = "config"  # the origin of a mute read from the configuration file


@dataclass(frozen=True, slots=True)
class Mute:
    """One mute. `id` is None for a mute of the configuration file (edit the file to
    remove it); `value` is the account key (author), the lower-case hashtag (tag) or the
    expression (query); `label` the author's handle as the reader showed it."""

    id: int | None
    kind: str
    value: str
    label: str = ""
    network: str | None = None
    created_at: datetime | None = None
    until: datetime | None = None
    origin: str = CONFIG

    def active(self, now: datetime) -> bool:
        return self.until is None or now < self.until

    @property
    def shown(self) -> str:
        """What it mutes, as a person would say it: @handle, #tag or the expression."""
        if self.kind == "author":
            return f"@{(self.label or self.value).lstrip('@')}"
        if self.kind == "tag":
            return f"#{self.value}"
        return self.value


def _row(r: object) -> Mute:
    m = r._mapping  # type: ignore[attr-defined]
    return Mute(id=m["id"], kind=m["kind"], value=m["value"], label=m["label"],
                network=m["network"], created_at=m["created_at"], until=m["until"],
                origin=m["origin"])


def list_mutes(db: Database, *, active_at: datetime | None = None) -> list[Mute]:
    """The stored mutes, oldest first; with `active_at`, only those still in force then."""
    stmt = select(mutes).order_by(mutes.c.id)
    if active_at is not None:
        stmt = stmt.where(or_(mutes.c.until.is_(None), mutes.c.until > active_at))
    with db.engine.connect() as conn:
        return [_row(r) for r in conn.execute(stmt)]


def add_mute(db: Database, kind: str, value: str, *, now: datetime, origin: str,
             network: str | None = None, label: str = "",
             until: datetime | None = None) -> tuple[Mute, bool]:
    """Store a mute: (the mute, True); or (the one in force, False) when the same mute
    already hides as long as asked. One that ends sooner, or has ended, is replaced."""
    if kind not in MUTE_KINDS:
        raise ValueError(f"unknown mute kind {kind!r}")
    same = and_(mutes.c.kind == kind, mutes.c.value == value,
                mutes.c.network.is_(None) if network is None else mutes.c.network == network)
    with db.engine.begin() as conn:
        for r in conn.execute(select(mutes).where(same).order_by(mutes.c.id)):
            old = _row(r)
            if old.active(now) and (old.until is None
                                    or (until is not None and until <= old.until)):
                return old, False  # already hides as long as asked
        values = {"label": label, "created_at": now, "until": until, "origin": origin}
        old_id = conn.execute(select(func.min(mutes.c.id)).where(same)).scalar()
        if old_id is not None:  # keep its id: `rounds mutes remove ID` still means it
            conn.execute(delete(mutes).where(same, mutes.c.id != old_id))
            conn.execute(update(mutes).where(mutes.c.id == old_id).values(**values))
            mute_id = int(old_id)
        else:
            result = conn.execute(insert(mutes).values(kind=kind, value=value,
                                                       network=network, **values))
            key = result.inserted_primary_key
            assert key is not None
            mute_id = int(key[0])
    return Mute(mute_id, kind, value, label, network, now, until, origin), True


def author_of(db: Database, post_id: int) -> tuple[str, str, str]:
    """(network, key, handle) of a post's author.

    Raises:
        StorageError: no such post.
    """
    with db.engine.connect() as conn:
        row = post_with_author(conn, post_id, accounts.c.network, accounts.c.key,
                               accounts.c.handle)
    return row.network, row.key, row.handle


def remove_mute(db: Database, mute_id: int) -> Mute:
    """Delete a stored mute; the posts it hid show again.

    Raises:
        StorageError: no stored mute has this id.
    """
    with db.engine.begin() as conn:
        row = conn.execute(select(mutes).where(mutes.c.id == mute_id)).first()
        if row is None:
            raise StorageError(f"no mute with id {mute_id} (`rounds mutes list` shows them)")
        conn.execute(delete(mutes).where(mutes.c.id == mute_id))
    return _row(row)


def muted_clause(stored: Sequence[Mute], queries: Sequence[Query],
                 dialect: str) -> ColumnElement[bool] | None:
    """The posts any of these mutes hides (None when there is nothing to hide). Expired
    mutes are the caller's to leave out; `queries` are the parsed query mutes."""
    authors = [(m.network or "", m.value) for m in stored if m.kind == "author"]
    tags = sorted({m.value for m in stored if m.kind == "tag"})
    clauses: list[ColumnElement[bool]] = []
    if authors:
        clauses.append(posts.c.author_id.in_(select(accounts.c.id).where(or_(
            *(and_(accounts.c.network == net, accounts.c.key == key)
              for net, key in sorted(set(authors)))))))
    if tags:
        clauses.append(hashtag_match(tags))
    clauses += [post_filter(q, dialect) for q in queries]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else or_(*clauses)


def unmuted(muted: ColumnElement[bool]) -> ColumnElement[bool]:
    """Posts `muted` does not hide. A comparison with NULL (a post without a language
    against `lang:xx`) is unknown, not true: the post shows."""
    return not_(func.coalesce(muted, false()))
