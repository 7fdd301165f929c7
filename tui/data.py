"""What the reader needs from the outside world, as two small protocols, and their
storage-backed implementations over `aggregator.storage.queries` and the Repository.

Every method may block (database, network): the app calls them from thread workers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import ColumnElement, and_, distinct, false, select, true

from aggregator.clock import Clock
from aggregator.errors import QueryError
from aggregator.models import NETWORKS
from aggregator.settings import Settings
from aggregator.storage import queries
from aggregator.storage.db import Database
from aggregator.storage.queries import PostDetail, PostKey, PostRow, ViewFilter
from aggregator.storage.repository import Repository
from aggregator.storage.schema import post_topics, posts

if TYPE_CHECKING:
    from aggregator.service import CollectService

logger = logging.getLogger(__name__)

NETWORK_NAMES = {"mastodon": "Mastodon", "twitter": "X"}


@dataclass(frozen=True, slots=True)
class View:
    """A sidebar entry. `id`: all, unread, starred, view:NAME, topic:ID, source:ID,
    network:NAME. `group` is the sidebar heading it sits under ("" for the first three)."""

    id: str
    label: str
    group: str = ""


class FeedReader(Protocol):
    def now(self) -> datetime: ...

    def list_views(self) -> list[View]:
        """Every sidebar view, in display order."""
        ...

    def check_query(self, text: str) -> None:
        """Raises QueryError (with .position) if `text` is not a valid filter."""
        ...

    def list_posts(self, view_id: str, query: str, *, before: PostKey | None,
                   limit: int) -> list[PostRow]:
        """The next `limit` posts of a view (and filter) older than `before`.

        Raises:
            QueryError: the filter or the saved view's query does not parse.
        """
        ...

    def list_newer(self, view_id: str, query: str, *, after: PostKey,
                   limit: int) -> list[PostRow]: ...

    def get_post(self, post_id: int) -> PostDetail: ...

    def count_views(self, views: Sequence[View]) -> dict[str, int]:
        """Unread posts per view id, capped at queries.COUNT_CAP."""
        ...

    def newest_marker(self) -> int: ...

    def set_flags(self, post_id: int, *, is_read: bool | None = None,
                  starred: bool | None = None) -> None: ...

    def get_state(self, key: str) -> str | None: ...

    def set_state(self, key: str, value: str) -> None: ...

    def topic_name(self, topic: str) -> str: ...


class Refresher(Protocol):
    def collect(self, progress: Callable[[str], None]) -> str:
        """Run one collection pass; report progress lines; return a one-line summary."""
        ...


class StorageFeedReader:
    def __init__(self, db: Database, repo: Repository, settings: Settings, clock: Clock,
                 topic_names: Mapping[str, str] | None = None) -> None:
        self.db = db
        self.repo = repo
        self.settings = settings
        self.clock = clock
        self.topic_names = dict(topic_names or {})
        self._source_ids: dict[str, int] = {}

    def now(self) -> datetime:
        return self.clock.now()

    def topic_name(self, topic: str) -> str:
        return self.topic_names.get(topic, topic)

    def list_views(self) -> list[View]:
        views = [View("all", "All"), View("unread", "Unread"), View("starred", "Starred")]
        views += [View(f"view:{v.name}", v.name, "Views") for v in self.settings.views]
        topics = list(self.topic_names)
        if not topics:  # no taxonomy given: the topics present in the archive
            with self.db.engine.connect() as conn:
                topics = sorted(conn.execute(select(distinct(post_topics.c.topic))).scalars())
        views += sorted((View(f"topic:{t}", self.topic_name(t), "Topics") for t in topics),
                        key=lambda v: v.label.casefold())
        for source_id, name, _network in queries.list_source_names(self.db):
            views.append(View(f"source:{source_id}", name, "Sources"))
        # networks the reader has a name for (Bluesky joins with its reader work)
        views += [View(f"network:{n}", NETWORK_NAMES[n], "Networks") for n in NETWORKS
                  if n in NETWORK_NAMES]
        return views

    def check_query(self, text: str) -> None:
        if text.strip():
            self._query_where(text)

    def _query_where(self, text: str) -> ColumnElement[bool]:
        try:
            from aggregator.query import parse_query
            from aggregator.storage.search import post_filter
        except ImportError:
            raise QueryError("filtering is not available in this build", 0, text) from None
        where: ColumnElement[bool] = post_filter(parse_query(text, now=self.clock.now()),
                                                 self.db.dialect)
        return where

    def _filter(self, view_id: str, query: str) -> ViewFilter:
        kind, _, arg = view_id.partition(":")
        where: ColumnElement[bool] | None = None
        topic: str | None = None
        source_id: int | None = None
        if view_id == "unread":
            where = posts.c.is_read == false()
        elif view_id == "starred":
            where = posts.c.starred == true()
        elif kind == "view":
            saved = {v.name: v.query for v in self.settings.views}
            where = self._query_where(saved.get(arg, ""))
        elif kind == "topic":
            topic = arg
        elif kind == "source" and arg.isdigit():
            source_id = int(arg)
        elif kind == "network":
            where = posts.c.network == arg
        if query.strip():
            extra = self._query_where(query)
            where = extra if where is None else and_(where, extra)
        return ViewFilter(view_id, where, topic, source_id)

    def list_posts(self, view_id: str, query: str, *, before: PostKey | None,
                   limit: int) -> list[PostRow]:
        f = self._filter(view_id, query)
        return queries.list_posts(self.db, f.where, before=before, limit=limit, topic=f.topic,
                                  source_id=f.source_id)

    def list_newer(self, view_id: str, query: str, *, after: PostKey,
                   limit: int) -> list[PostRow]:
        f = self._filter(view_id, query)
        return queries.list_newer(self.db, f.where, after=after, limit=limit, topic=f.topic,
                                  source_id=f.source_id)

    def get_post(self, post_id: int) -> PostDetail:
        return queries.get_post(self.db, post_id)

    def count_views(self, views: Sequence[View]) -> dict[str, int]:
        filters = []
        for v in views:
            try:
                filters.append(self._filter(v.id, ""))
            except QueryError as exc:
                logger.warning("view %s: %s", v.label, exc)
        return queries.count_views(self.db, filters)

    def newest_marker(self) -> int:
        return queries.newest_marker(self.db)

    def set_flags(self, post_id: int, *, is_read: bool | None = None,
                  starred: bool | None = None) -> None:
        self.repo.set_flags(post_id, is_read=is_read, starred=starred)

    def get_state(self, key: str) -> str | None:
        return self.repo.get_app_state(key)

    def set_state(self, key: str, value: str) -> None:
        self.repo.set_app_state(key, value)


class ServiceRefresher:
    """Runs a collect pass of every configured source through the CollectService."""

    def __init__(self, service: CollectService) -> None:
        self.service = service

    def collect(self, progress: Callable[[str], None]) -> str:
        def report(result: Any) -> None:
            state = f"failed: {result.error}" if result.error else f"{result.new} new"
            progress(f"{result.name}: {state}")

        results = self.service.collect(progress=report)
        new = sum(r.new for r in results)
        failed = [r for r in results if r.error]
        summary = f"collected {len(results)} sources: {new} new posts"
        if failed:
            summary += f", {len(failed)} failed ({failed[0].name}: {failed[0].error})"
        return summary
