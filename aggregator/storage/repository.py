"""Write side: sources, pages of posts with their cursor, runs, read/star state.

Every page is one transaction: authors, posts, which source brought them, boosts,
topics and the source's new cursor commit together or not at all, so a crash in the
middle of a pass neither loses nor duplicates a post.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    CursorResult,
    Integer,
    Table,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from aggregator.clock import Clock
from aggregator.models import Author, Page, Post, SourceState, TopicLike
from aggregator.settings import Settings
from aggregator.storage import sqlite_pages, trend_rollup
from aggregator.storage.archive_schema import post_versions
from aggregator.storage.db import Database
from aggregator.storage.papers import Shared, WorkLike, save_shared
from aggregator.storage.papers_schema import post_works
from aggregator.storage.rows import EDITED_COLUMNS, count_rows, post_dict, topic_dicts
from aggregator.storage.schema import (
    accounts,
    app_state,
    boosts,
    post_sources,
    post_topics,
    posts,
    runs,
    sources,
)
from aggregator.storage.thread_schema import thread_reads

BULK_COMMIT_POSTS = 5_000  # posts per transaction of `Repository.bulk`, at most
BULK_COMMIT_SECONDS = 1.0  # ... or what arrived in this long: a kill loses a second's work


@dataclass(frozen=True, slots=True)
class SaveResult:
    new: int
    existing: int


class BulkWriter:
    """`save_page` inside `Repository.bulk` (see there); the caller says where a
    transaction may end (`due`), so that it ends where the caller's own counts agree."""

    def __init__(self, repo: Repository, conn: Connection, commit_every: int,
                 commit_seconds: float) -> None:
        self._repo, self._conn = repo, conn
        self._every, self._seconds = commit_every, commit_seconds
        self._held = 0  # posts in the open transaction
        self._began = 0.0

    def save_page(self, source_id: int, page: Page,
                  topics: Sequence[Sequence[TopicLike]] = (),
                  works: Sequence[Sequence[WorkLike]] = ()) -> SaveResult:
        clock = self._repo.clock
        if not self._conn.in_transaction():
            self._conn.begin()
            self._began = clock.monotonic()
        result = self._repo._store_page(self._conn, source_id, page, topics, works)
        self._held += len(page.posts)
        return result

    def due(self) -> bool:
        """Commit if the open transaction holds `commit_every` posts or has been open
        `commit_seconds`; whether it did."""
        if not self._held or (self._held < self._every and self._repo.clock.monotonic()
                              - self._began < self._seconds):
            return False
        self.commit()
        return True

    def commit(self) -> None:
        """Commit what is held now (before writing through another connection: on SQLite
        it would wait for this one's write lock)."""
        if self._conn.in_transaction():
            self._conn.commit()
        self._held = 0


class Repository:
    def __init__(self, db: Database, clock: Clock, *, sqlite_fast_path: bool = True) -> None:
        """`sqlite_fast_path=False` writes pages through Core on SQLite too: the test that
        proves both paths store the same rows uses it."""
        self.db = db
        self.clock = clock
        self._fast = sqlite_fast_path and db.dialect == "sqlite"
        self._insert = postgresql.insert if db.dialect == "postgresql" else sqlite.insert

    # ------------------------------------------------------------------ sources

    def sync_sources(self, settings: Settings) -> dict[str, int]:
        """Make the sources table match the configuration; returns name -> id.

        A source whose target changed (another list, hashtag or account) starts over:
        its cursor and resolved account id belong to the old target.
        """
        ids: dict[str, int] = {}
        with self.db.engine.begin() as conn:
            rows = {r.name: r for r in conn.execute(select(sources))}
            for s in settings.sources:
                network = settings.accounts[s.account].network
                values = {"network": network, "account": s.account,
                          "kind": s.target.kind, "value": s.target.value}
                row = rows.get(s.name)
                if row is None:  # another process may add it at the same moment
                    conn.execute(self._insert(sources).values(
                        name=s.name, consecutive_failures=0, **values,
                    ).on_conflict_do_nothing(index_elements=["name"]))
                    ids[s.name] = conn.execute(
                        select(sources.c.id).where(sources.c.name == s.name)).scalar_one()
                    continue
                ids[s.name] = row.id
                if any(getattr(row, k) != v for k, v in values.items()):
                    conn.execute(update(sources).where(sources.c.id == row.id).values(
                        cursor=None, resolved_id=None, **values))
        return ids

    def get_state(self, source_id: int) -> SourceState:
        with self.db.engine.connect() as conn:
            row = conn.execute(select(sources.c.cursor, sources.c.resolved_id)
                               .where(sources.c.id == source_id)).one()
        return SourceState(cursor=row.cursor, resolved_id=row.resolved_id)

    # ------------------------------------------------------------------ runs

    def start_run(self, source_id: int) -> int:
        now = self.clock.now()
        with self.db.engine.begin() as conn:
            conn.execute(update(sources).where(sources.c.id == source_id).values(last_run_at=now))
            run_id = _new_id(conn.execute(runs.insert().values(
                source_id=source_id, started_at=now, outcome="running", new=0, existing=0,
                requests=0, items_read=0, users_read=0)))
        return run_id

    def finish_run(self, run_id: int, source_id: int, *, outcome: str, new: int, existing: int,
                   requests: int, items_read: int, users_read: int,
                   error: str | None = None) -> None:
        now = self.clock.now()
        with self.db.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.id == run_id).values(
                finished_at=now, outcome=outcome, new=new, existing=existing, requests=requests,
                items_read=items_read, users_read=users_read, error=error))
            if outcome == "ok":
                values: dict[str, Any] = {"last_success_at": now, "last_error": None,
                                          "consecutive_failures": 0}
            else:
                values = {"last_error": error,
                          "consecutive_failures": sources.c.consecutive_failures + 1}
            conn.execute(update(sources).where(sources.c.id == source_id).values(**values))

    def reads_since(self, account: str, since: datetime) -> int:
        """Items (posts + users) read through one account since `since` (X billing): by its
        sources' runs and by the conversations fetched with it."""
        with self.db.engine.connect() as conn:
            total = conn.execute(
                select(func.coalesce(func.sum(runs.c.items_read + runs.c.users_read), 0))
                .select_from(runs.join(sources, runs.c.source_id == sources.c.id))
                .where(and_(sources.c.account == account, runs.c.started_at >= since))
            ).scalar_one()
            threads = conn.execute(
                select(func.coalesce(func.sum(thread_reads.c.items_read
                                              + thread_reads.c.users_read), 0))
                .where(and_(thread_reads.c.account == account,
                            thread_reads.c.read_at >= since))
            ).scalar_one()
        return int(total) + int(threads)

    # ------------------------------------------------------------------ posts

    def save_page(self, source_id: int, page: Page,
                  topics: Sequence[Sequence[TopicLike]] = (),
                  works: Sequence[Sequence[WorkLike]] = ()) -> SaveResult:
        """Store one page and, when the page carries one, the source's new state.

        `topics[i]` are the topic matches of `page.posts[i]`, `works[i]` the scholarly
        works it shares (aggregator.papers.detect), stored in the same transaction.
        """
        with self.db.engine.begin() as conn:
            return self._store_page(conn, source_id, page, topics, works)

    @contextmanager
    def bulk(self, commit_every: int = BULK_COMMIT_POSTS,
             commit_seconds: float = BULK_COMMIT_SECONDS) -> Iterator[BulkWriter]:
        """Pages stored on one connection, a transaction committing where the caller asks
        `writer.due()` once it holds `commit_every` posts or has been open
        `commit_seconds` (on the clock), and at the end: an import's many small pages pay
        one commit (and one WAL checkpoint's share) per transaction, not per page, and
        readers still see it progress. What commits is always a whole number of pages;
        an exception rolls back the pages since the last commit, as a kill does."""
        with self.db.engine.connect() as conn:
            writer = BulkWriter(self, conn, commit_every, commit_seconds)
            yield writer
            if conn.in_transaction():
                conn.commit()

    def _store_page(self, conn: Connection, source_id: int, page: Page,
                    topics: Sequence[Sequence[TopicLike]],
                    works: Sequence[Sequence[WorkLike]]) -> SaveResult:
        """A page's posts, their works and the source's new state, in `conn`'s transaction."""
        result = self._save_posts(conn, source_id, page.posts, topics,
                                  undated_edits=page.undated_edits)
        if any(works):
            self._save_works(conn, page.posts, works)
        if page.state is not None:
            conn.execute(_SET_STATE, {"sid": source_id, "cursor": page.state.cursor,
                                      "resolved_id": page.state.resolved_id})
        return result

    def _save_posts(self, conn: Connection, source_id: int, batch: Sequence[Post],
                    topics: Sequence[Sequence[TopicLike]], *,
                    undated_edits: bool = False) -> SaveResult:
        if not batch:
            return SaveResult(0, 0)
        now = self.clock.now()
        network = batch[0].network
        if self._fast:  # same rows, plain DBAPI statements (sqlite_pages)
            stamp = sqlite_pages.sqlite_time(now)
            author_ids = sqlite_pages.upsert_authors(conn, _authors_of(batch), stamp)
        else:
            author_ids = self._upsert_authors(conn, _authors_of(batch), now)
        by_key: dict[str, Post] = {}
        for post in batch:  # a page may repeat a post (boosted twice): merge its boosts
            prior = by_key.get(post.key)
            if prior is not None and (prior.boosts or post.boosts):
                post = _with_boosts(post, prior.boosts + post.boosts)
            by_key[post.key] = post
        keys = list(by_key)
        # The trend rollup follows: the posts already stored as they count before and after
        # this page (edits, topics added, context brought in), the new ones as written.
        before: Counter[trend_rollup.Key] = Counter()
        known: dict[str, int] = {}

        def update_existing(existing: dict[str, int]) -> None:
            known.update(existing)
            before.update(trend_rollup.snapshot(conn, list(existing.values())))
            self._update_existing(conn, existing, by_key, undated_edits, now)

        def follow_rollup(ids: dict[str, int]) -> None:
            topic_ids: dict[str, set[str]] = {}
            for p, matches in zip(batch, topics, strict=False):
                topic_ids.setdefault(p.key, set()).update(m.topic for m in matches)
            after = trend_rollup.snapshot(conn, list(known.values()))
            after += trend_rollup.fresh(
                (ids[k], author_ids[(p.network, p.author.key)], p, topic_ids.get(k, ()))
                for k in keys if k not in known for p in (by_key[k],))
            trend_rollup.apply(conn, before, after)

        if self._fast:  # same rows, plain DBAPI statements (sqlite_pages)
            new, all_ids = sqlite_pages.save_posts(
                conn, source_id, batch, by_key, topics, author_ids, stamp, update_existing)
            follow_rollup(all_ids)
            return SaveResult(new=new, existing=len(keys) - new)
        existing = self._post_ids(conn, network, keys)
        fresh = [by_key[k] for k in keys if k not in existing]
        if fresh:
            conn.execute(
                self._insert(posts).on_conflict_do_nothing(index_elements=["network", "key"]),
                [post_dict(p, author_ids[(p.network, p.author.key)], now) for p in fresh],
            )
        ids = {**existing, **self._post_ids(conn, network, [p.key for p in fresh])}
        update_existing(existing)
        _refresh_counts(conn, count_rows(existing, by_key))
        self._insert_ignore(conn, post_sources, [
            {"post_id": ids[k], "source_id": source_id, "created_at": by_key[k].created_at,
             "first_seen": now} for k in keys])
        self._insert_ignore(conn, boosts, [
            {"post_id": ids[p.key], "booster_id": author_ids[(b.booster.network, b.booster.key)],
             "remote_id": b.remote_id, "created_at": b.created_at}
            for p in by_key.values() for b in p.boosts])
        rows = []
        for post, matches in zip(batch, topics, strict=False):
            rows += topic_dicts(ids[post.key], post.created_at, matches)
        self._insert_ignore(conn, post_topics, rows)
        follow_rollup(ids)
        return SaveResult(new=len(fresh), existing=len(keys) - len(fresh))

    def _save_works(self, conn: Connection, batch: Sequence[Post],
                    works: Sequence[Sequence[WorkLike]]) -> None:
        """The works of a page's posts: one select of the posts' ids and authors (only
        pages with a work pay it), then `papers.save_shared`."""
        sharing = [(p, w) for p, w in zip(batch, works, strict=False) if w]
        keys = list(dict.fromkeys(p.key for p, _ in sharing))
        stored = {r.key: r for r in conn.execute(
            _SHARING_POSTS, {"network": sharing[0][0].network, "keys": keys})}
        save_shared(conn, [Shared(row.id, row.created_at, row.author_id, w)
                           for p, w in sharing if (row := stored.get(p.key)) is not None])

    def _insert_ignore(self, conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
        if rows:
            conn.execute(self._insert(table).on_conflict_do_nothing(), rows)

    def _post_ids(self, conn: Connection, network: str, keys: Sequence[str]) -> dict[str, int]:
        if not keys:
            return {}
        rows = conn.execute(select(posts.c.key, posts.c.id).where(
            and_(posts.c.network == network, posts.c.key.in_(keys))))
        return {r.key: r.id for r in rows}

    def _update_existing(self, conn: Connection, existing: dict[str, int],
                         by_key: dict[str, Post], undated_edits: bool, now: datetime) -> None:
        """Posts already stored: apply their edits, and a post stored as a conversation's
        context, now brought by a source, stops being context (it arrives now: it enters
        the views, the unread counts and the next archive)."""
        self._update_edits(conn, existing, by_key, undated_edits)
        if existing:
            conn.execute(update(posts).where(
                posts.c.id.in_(list(existing.values())), posts.c.context == true())
                .values(context=False, first_seen=now))

    def _update_edits(self, conn: Connection, existing: dict[str, int],
                      by_key: dict[str, Post], undated_edits: bool) -> None:
        edits = [(existing[k], by_key[k]) for k in existing
                 if undated_edits or by_key[k].edited_at is not None]
        if edits:
            self._apply_edits(conn, edits, undated=undated_edits)

    def save_edit(self, post_id: int, post: Post) -> bool:
        """Store `post` as the newer version of post `post_id`; False if it is not newer."""
        with self.db.engine.begin() as conn:
            before = trend_rollup.snapshot(conn, [post_id])
            edited = self._apply_edits(conn, [(post_id, post)]) > 0
            trend_rollup.apply(conn, before, trend_rollup.snapshot(conn, [post_id]))
            _refresh_counts(conn, count_rows({post.key: post_id}, {post.key: post}))
        return edited

    def _apply_edits(self, conn: Connection, edits: list[tuple[int, Post]], *,
                     undated: bool = False) -> int:
        """Replace edited posts' content, keeping each earlier version in post_versions.

        A post is newer when its `edited_at` is later than the stored one; with `undated`
        also when its text or spoiler differs from the stored one (stamped now: when the
        change was first seen)."""
        stored = {r.id: r for r in conn.execute(
            select(posts.c.id, posts.c.edited_at, posts.c.text, posts.c.spoiler)
            .where(posts.c.id.in_([pid for pid, _ in edits])))}
        now, changed = self.clock.now(), 0
        for pid, post in edits:
            before = stored.get(pid)
            if before is None:
                continue
            dated = post.edited_at is not None and (
                before.edited_at is None or post.edited_at > before.edited_at)
            if not dated:
                if not undated or (post.text, post.spoiler) == (before.text, before.spoiler):
                    continue
                post = replace(post, edited_at=max(now, before.edited_at or now))
            conn.execute(post_versions.insert().values(
                post_id=pid, edited_at=before.edited_at, text=before.text,
                spoiler=before.spoiler, replaced_at=now))
            row = post_dict(post, 0, now)
            conn.execute(update(posts).where(posts.c.id == pid).values(
                **{k: row[k] for k in EDITED_COLUMNS}))
            changed += 1
        return changed

    def _upsert_authors(self, conn: Connection, people: Iterable[Author],
                        now: datetime) -> dict[tuple[str, str], int]:
        rows = {(a.network, a.key): {
            "network": a.network, "key": a.key, "handle": a.handle,
            "display_name": a.display_name, "url": a.url, "bio": a.bio,
            "remote_id": a.remote_id, "updated_at": now} for a in people}
        stmt = self._insert(accounts)
        stmt = stmt.on_conflict_do_update(
            index_elements=["network", "key"],
            set_={c: stmt.excluded[c] for c in
                  ("handle", "display_name", "url", "bio", "remote_id", "updated_at")},
        )
        conn.execute(stmt, list(rows.values()))
        ids: dict[tuple[str, str], int] = {}
        for network in {n for n, _ in rows}:
            keys = [k for n, k in rows if n == network]
            for r in conn.execute(select(accounts.c.key, accounts.c.id).where(
                    and_(accounts.c.network == network, accounts.c.key.in_(keys)))):
                ids[(network, r.key)] = r.id
        return ids

    def recent_posts(self, network: str, since: datetime, after: int, limit: int,
                     account_names: Sequence[str]) -> list[tuple[int, str, str]]:
        """(post id, remote id, account) of up to `limit` posts of `network` created since
        `since`, not deleted, id above `after`, brought by a source of one of `account_names`;
        in id order, each post once (the recheck job's round-robin)."""
        via = (select(post_sources.c.post_id, sources.c.account)
               .join(sources, sources.c.id == post_sources.c.source_id)
               .where(sources.c.account.in_(account_names)).subquery())
        stmt = (select(posts.c.id, posts.c.remote_id, via.c.account)
                .join(via, via.c.post_id == posts.c.id)
                .where(and_(posts.c.network == network, posts.c.created_at >= since,
                            posts.c.deleted_at.is_(None), posts.c.id > after))
                .order_by(posts.c.id).limit(limit * 4))
        with self.db.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        found: dict[int, tuple[int, str, str]] = {}
        for r in rows:  # a post brought by several sources: once
            found.setdefault(r.id, (r.id, r.remote_id, r.account))
        return list(found.values())[:limit]

    def mark_deleted(self, post_id: int) -> None:
        """The server no longer has the post: hide it (export, reader) from now on."""
        with self.db.engine.begin() as conn:
            before = trend_rollup.snapshot(conn, [post_id])
            conn.execute(update(posts).where(posts.c.id == post_id)
                         .values(deleted_at=self.clock.now()))
            trend_rollup.apply(conn, before, Counter())
            # a deleted post shares nothing any more (the papers ranking reads post_works
            # alone, never joining posts: see storage.papers)
            conn.execute(delete(post_works).where(post_works.c.post_id == post_id))

    # ------------------------------------------------------------------ reader state

    def set_flags(self, post_id: int, *, is_read: bool | None = None,
                  starred: bool | None = None) -> None:
        values = {k: v for k, v in (("is_read", is_read), ("starred", starred)) if v is not None}
        if values:
            with self.db.engine.begin() as conn:
                conn.execute(update(posts).where(posts.c.id == post_id).values(**values))

    def set_app_state(self, key: str, value: str) -> None:
        with self.db.engine.begin() as conn:
            upsert_app_state(conn, key, value)

    def get_app_state(self, key: str) -> str | None:
        with self.db.engine.connect() as conn:
            value = conn.execute(select(app_state.c.value).where(app_state.c.key == key)).scalar()
        return value

    def start_of_day(self) -> datetime:
        now = self.clock.now()
        return now - timedelta(hours=now.hour, minutes=now.minute, seconds=now.second,
                               microseconds=now.microsecond)


def upsert_app_state(conn: Connection, key: str, value: str) -> None:
    """Set app_state `key` inside the caller's transaction (a job's resume mark)."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(app_state).values(key=key, value=value)
    conn.execute(stmt.on_conflict_do_update(index_elements=["key"],
                                            set_={"value": stmt.excluded.value}))


# Built once (a page's store runs them every time)
_SET_STATE = update(sources).where(sources.c.id == bindparam("sid")).values(
    cursor=bindparam("cursor"), resolved_id=bindparam("resolved_id"))
_SHARING_POSTS = select(posts.c.key, posts.c.id, posts.c.author_id, posts.c.created_at).where(
    posts.c.network == bindparam("network"), posts.c.key.in_(bindparam("keys", expanding=True)))

_COUNT_PARAMS = tuple(bindparam(name, type_=Integer) for name in ("r", "b", "l"))
# The counts of posts seen again, where they changed (IS DISTINCT FROM: NULL-safe; on
# PostgreSQL an unchanged row is not rewritten, nor its generated search column).
_UPDATE_COUNTS = (update(posts).where(
    posts.c.id == bindparam("pid"),
    or_(*(posts.c[c].is_distinct_from(v) for c, v in zip(
        ("reply_count", "boost_count", "like_count"), _COUNT_PARAMS, strict=True))))
    .values(reply_count=_COUNT_PARAMS[0], boost_count=_COUNT_PARAMS[1],
            like_count=_COUNT_PARAMS[2]))


def _refresh_counts(conn: Connection, rows: list[tuple[int | None, int | None, int | None, int]]
                    ) -> None:
    if rows:
        conn.execute(_UPDATE_COUNTS, [{"r": r, "b": b, "l": lk, "pid": pid}
                                      for r, b, lk, pid in rows])


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _authors_of(batch: Sequence[Post]) -> list[Author]:
    people = [p.author for p in batch]
    people += [b.booster for p in batch for b in p.boosts]
    return people


def _with_boosts(post: Post, all_boosts: tuple[Any, ...]) -> Post:
    seen, merged = set(), []
    for b in all_boosts:
        if b.booster.key not in seen:
            seen.add(b.booster.key)
            merged.append(b)
    return replace(post, boosts=tuple(merged))
