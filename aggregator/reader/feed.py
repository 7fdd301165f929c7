"""What the reader's main screen needs from the archive, as two small protocols
(FeedReader, Refresher), the dataclasses they answer with, and their implementations over
`aggregator.storage.queries`, the Repository and the CollectService.

Every method may block (database, network): the reader calls them from thread workers.
The post dataclasses (PostRow, PostKey, PostDetail, RelatedPost) are the storage read
side's own; they are re-exported here so the reader imports nothing from storage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from aggregator.clock import Clock
from aggregator.errors import QueryError
from aggregator.models import NETWORKS
from aggregator.mutes import all_mutes, hidden_clause
from aggregator.query import parse_query
from aggregator.reader import trends
from aggregator.reader.catchup import Catchup, StorageCatchup
from aggregator.reader.papers import RankedWork
from aggregator.reader.trends import Trends
from aggregator.settings import Settings, default_config_path
from aggregator.storage import mutes as stored_mutes
from aggregator.storage import papers, queries, threads
from aggregator.storage.db import Database
from aggregator.storage.import_sources import import_source_names
from aggregator.storage.mutes import Mute, muted_clause, unmuted
from aggregator.storage.queries import (
    COUNT_CAP,
    VIEW_COUNT_CAP,
    PostDetail,
    PostKey,
    PostRow,
    RelatedPost,
    ViewFilter,
)
from aggregator.storage.repository import Repository
from aggregator.storage.search import post_filter
from aggregator.storage.threads import StoredThread, ThreadPost

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

    from aggregator.query import Vocabulary
    from aggregator.service import CollectService, SourceResult

__all__ = ["COUNT_CAP", "NETWORK_NAMES", "VIEW_COUNT_CAP", "FeedReader", "Mute", "PostDetail",
           "PostKey", "PostRow", "Refresher", "RelatedPost", "ServiceRefresher", "Setup",
           "StorageFeedReader", "StoredThread", "ThreadPost", "View"]

logger = logging.getLogger(__name__)

TRENDS_VIEW = "trends"  # the sidebar's Trends: a screen of its own
NETWORK_NAMES = {"mastodon": "Mastodon", "twitter": "X", "bluesky": "Bluesky", "feed": "Feeds"}


@dataclass(frozen=True, slots=True)
class View:
    """A sidebar entry. `id`: all, unread, starred, catchup and papers (screens of their
    own, not lists), view:NAME, topic:ID, source:ID, network:NAME. `group` is the sidebar heading
    it sits under ("" for the first four)."""

    id: str
    label: str
    group: str = ""


@dataclass(frozen=True, slots=True)
class Setup:
    """What the reader was started with, so an empty screen can say what to do next."""

    config_path: str  # the settings file read (or the one `rounds init` would write)
    sources: int  # sources configured there


class FeedReader(Protocol):
    def now(self) -> datetime: ...

    def setup(self) -> Setup: ...

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
        """Unread posts per view id (muted ones left out), capped at VIEW_COUNT_CAP."""
        ...

    def count_hidden(self, view_id: str, query: str) -> int:
        """How many posts of a view (and filter) the mutes hide, capped at COUNT_CAP."""
        ...

    def mute_author(self, post_id: int) -> str:
        """Mute the post's author (network and account); one line saying what happened."""
        ...

    def mute_tag(self, tag: str) -> str:
        """Mute a hashtag (case ignored); one line saying what happened."""
        ...

    def list_mutes(self) -> list[Mute]:
        """Every mute: the configuration file's (id None), then the stored ones."""
        ...

    def remove_mute(self, mute_id: int) -> str:
        """Remove a stored mute. Raises StorageError if there is none with that id."""
        ...

    def newest_marker(self) -> int:
        """Grows whenever a post is added; 0 while the archive holds no post at all."""
        ...

    def set_flags(self, post_id: int, *, is_read: bool | None = None,
                  starred: bool | None = None) -> None: ...

    def get_state(self, key: str) -> str | None: ...

    def set_state(self, key: str, value: str) -> None: ...

    def topic_name(self, topic: str) -> str: ...

    def thread(self, post_id: int) -> StoredThread:
        """The stored conversation around a post (ancestors, the post, replies): read from
        the archive only, so it opens offline. Raises StorageError: no such post."""
        ...

    def catch_up(self) -> Catchup:
        """What arrived since the last finished catch-up (aggregator.reader.catchup)."""
        ...

    def mark_caught_up(self, catchup: Catchup, group_id: str | None) -> int:
        """Mark one group of `catchup` read (None: none); -> posts marked."""
        ...

    def trends(self) -> Trends:
        """Posts per topic per day, what is rising, the most shared links, now
        (aggregator.reader.trends)."""
        ...

    def list_papers(self, since: datetime | None, limit: int) -> list[RankedWork]:
        """Works shared since `since` (None: ever), by distinct voices (the Papers view)."""
        ...

    def paper_posts(self, work_id: int, limit: int) -> list[PostRow]:
        """The newest `limit` posts sharing a work (muted ones left out)."""
        ...


class Refresher(Protocol):
    def collect(self, progress: Callable[[str], None]) -> str:
        """Run one collection pass; report progress lines; return a one-line summary."""
        ...


class _NothingMuted(Exception):
    """No mute is in force: nothing to count."""


class StorageFeedReader:
    def __init__(self, db: Database, repo: Repository, settings: Settings, clock: Clock,
                 topic_names: Mapping[str, str] | None = None) -> None:
        self.db = db
        self.repo = repo
        self.settings = settings
        self.clock = clock
        self.topic_names = dict(topic_names or {})
        self._vocabulary: Vocabulary | None = None
        self.catchups = StorageCatchup(db, repo, settings, clock, self._vocab)

    def now(self) -> datetime:
        return self.clock.now()

    def setup(self) -> Setup:
        path = self.settings.path or default_config_path()
        return Setup(str(path), len(self.settings.sources))

    def topic_name(self, topic: str) -> str:
        return self.topic_names.get(topic, topic)

    def list_views(self) -> list[View]:
        views = [View("all", "All"), View("unread", "Unread"), View("starred", "Starred"),
                 View("catchup", "Catch-up"), View(TRENDS_VIEW, "Trends"),
                 View("papers", "Papers")]
        views += [View(f"view:{v.name}", v.name, "Views") for v in self.settings.views]
        # no taxonomy given: the topics present in the archive
        topics = list(self.topic_names) or queries.list_topics(self.db)
        views += sorted((View(f"topic:{t}", self.topic_name(t), "Topics") for t in topics),
                        key=lambda v: v.label.casefold())
        for source_id, name, _network in queries.list_source_names(self.db):
            views.append(View(f"source:{source_id}", name, "Sources"))
        views += [View(f"network:{n}", NETWORK_NAMES[n], "Networks") for n in NETWORKS]
        return views

    def check_query(self, text: str) -> None:
        if text.strip():
            self._query_where(text)

    def _query_where(self, text: str) -> ColumnElement[bool]:
        parsed = parse_query(text, now=self.clock.now(), vocabulary=self._vocab())
        return post_filter(parsed, self.db.dialect)

    def _vocab(self) -> Vocabulary:
        if self._vocabulary is None:  # the taxonomy, read once: views refresh every poll
            self._vocabulary = self.settings.query_vocabulary(import_source_names(self.db))
        return self._vocabulary

    def _muted(self) -> ColumnElement[bool] | None:
        """What the mutes in force hide, read afresh each time: a mute added elsewhere
        (`rounds mutes add`) applies at the next page, an expired one stops hiding."""
        return hidden_clause(self.db, self.settings, self.clock.now(), self._vocab())

    def _filter(self, view_id: str, query: str, muted: ColumnElement[bool] | None, *,
                only_muted: bool = False) -> ViewFilter:
        """The view's WHERE: its posts the `muted` clause leaves (or, `only_muted`, those
        it hides)."""
        kind, _, arg = view_id.partition(":")
        extra = []
        if muted is not None:
            extra.append(muted if only_muted else unmuted(muted))
        elif only_muted:
            raise _NothingMuted
        if kind == "view":
            saved = {v.name: v.query for v in self.settings.views}
            extra.append(self._query_where(saved.get(arg, "")))
        if query.strip():
            extra.append(self._query_where(query))
        return queries.view_filter(
            view_id, unread=view_id == "unread", starred=view_id == "starred",
            network=arg if kind == "network" else None,
            topic=arg if kind == "topic" else None,
            source_id=int(arg) if kind == "source" and arg.isdigit() else None, extra=extra)

    def list_posts(self, view_id: str, query: str, *, before: PostKey | None,
                   limit: int) -> list[PostRow]:
        f = self._filter(view_id, query, self._muted())
        return queries.list_posts(self.db, f.where, before=before, limit=limit, topic=f.topic,
                                  source_id=f.source_id)

    def list_newer(self, view_id: str, query: str, *, after: PostKey,
                   limit: int) -> list[PostRow]:
        f = self._filter(view_id, query, self._muted())
        return queries.list_newer(self.db, f.where, after=after, limit=limit, topic=f.topic,
                                  source_id=f.source_id)

    def get_post(self, post_id: int) -> PostDetail:
        return queries.get_post(self.db, post_id)

    def count_hidden(self, view_id: str, query: str) -> int:
        try:
            f = self._filter(view_id, query, self._muted(), only_muted=True)
        except _NothingMuted:
            return 0
        return queries.count_posts(self.db, f.where, topic=f.topic, source_id=f.source_id)

    def _muted_now(self, mute: Mute, new: bool) -> str:
        if not new:
            return f"{mute.shown} was already muted"
        hidden = queries.count_posts(self.db, muted_clause([mute], [], self.db.dialect))
        more = "+" if hidden >= COUNT_CAP else ""
        return (f"muted {mute.shown}: {hidden}{more} post{'' if hidden == 1 else 's'} hidden "
                f"(undo: rounds mutes remove {mute.id})")

    def mute_author(self, post_id: int) -> str:
        network, key, handle = stored_mutes.author_of(self.db, post_id)
        mute, new = stored_mutes.add_mute(self.db, "author", key, network=network,
                                          label=handle, now=self.clock.now(), origin="reader")
        return self._muted_now(mute, new)

    def mute_tag(self, tag: str) -> str:
        value = tag.strip().lstrip("#").lower()
        if not value:
            raise QueryError("no hashtag to mute", 0, tag)
        mute, new = stored_mutes.add_mute(self.db, "tag", value, now=self.clock.now(),
                                          origin="reader")
        return self._muted_now(mute, new)

    def list_mutes(self) -> list[Mute]:
        return all_mutes(self.db, self.settings)

    def remove_mute(self, mute_id: int) -> str:
        return f"unmuted {stored_mutes.remove_mute(self.db, mute_id).shown}"

    def count_views(self, views: Sequence[View]) -> dict[str, int]:
        filters = []
        muted = self._muted()  # once for every view
        counts = {}
        for v in views:
            if v.id == "catchup":
                counts[v.id] = self.catchups.count()
                continue
            if v.id in (TRENDS_VIEW, "papers"):  # screens of their own, not lists of posts
                continue
            try:
                filters.append(self._filter(v.id, "", muted))
            except QueryError as exc:
                logger.warning("view %s: %s", v.label, exc)
        return {**queries.count_views(self.db, filters), **counts}

    def newest_marker(self) -> int:
        return queries.newest_marker(self.db)

    def set_flags(self, post_id: int, *, is_read: bool | None = None,
                  starred: bool | None = None) -> None:
        self.repo.set_flags(post_id, is_read=is_read, starred=starred)

    def get_state(self, key: str) -> str | None:
        return self.repo.get_app_state(key)

    def set_state(self, key: str, value: str) -> None:
        self.repo.set_app_state(key, value)

    def thread(self, post_id: int) -> StoredThread:
        return threads.thread_of(self.db, post_id)

    def catch_up(self) -> Catchup:
        return self.catchups.catch_up()

    def mark_caught_up(self, catchup: Catchup, group_id: str | None) -> int:
        return self.catchups.mark_read(catchup, group_id)

    def trends(self) -> Trends:
        return trends.trends(self.db, self.settings, self.clock,
                             topic_names=self.topic_names, vocabulary=self._vocab())

    def list_papers(self, since: datetime | None, limit: int) -> list[RankedWork]:
        return papers.rank_works(self.db, since=since, limit=limit)

    def paper_posts(self, work_id: int, limit: int) -> list[PostRow]:
        muted = self._muted()
        where = papers.sharing(work_id, None if muted is None else unmuted(muted))
        return queries.list_posts(self.db, where, before=None, limit=limit)


class ServiceRefresher:
    """Runs a collect pass of every configured source through the CollectService."""

    def __init__(self, service: CollectService) -> None:
        self.service = service

    def collect(self, progress: Callable[[str], None]) -> str:
        def report(result: SourceResult) -> None:
            state = f"failed: {result.error}" if result.error else f"{result.new} new"
            progress(f"{result.name}: {state}")

        results = self.service.collect(progress=report)
        new = sum(r.new for r in results)
        failed = [r for r in results if r.error]
        summary = f"collected {len(results)} sources: {new} new posts"
        if failed:
            summary += f", {len(failed)} failed ({failed[0].name}: {failed[0].error})"
        return summary
