"""Catch-up: what arrived since you last caught up, by voice or author, notable first.

*Since you last caught up*, exactly: the unread, visible, unmuted posts the archive first
stored (`first_seen`) after the **catch-up mark** and up to the moment the catch-up is
read. The mark is where your last finished catch-up ended: it moves when the reader marks
read the last unread group of a catch-up (or opens one with nothing left), never from
`rounds catchup`, which only reads. Without a mark, the last DEFAULT_HOURS hours; and a
mark older than MAX_DAYS days counts as MAX_DAYS days ago, so a catch-up stays a summary
of recent arrivals, not of the whole archive. `--since WHEN` (or `since`) replaces it.
Posts read elsewhere (the main list) are not in it: only unread ones are.

Groups: an author's posts, or a curated voice's across its identities (Mastodon, X,
Bluesky) when the author is one. Posts within a group: to you first, then by lift
(boosts + likes over the author's usual, see `aggregator.storage.catchup`), then newest.
Groups: those with posts to you first, then by their best lift, then by count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aggregator.clock import Clock
from aggregator.mutes import hidden_clause
from aggregator.settings import Settings
from aggregator.storage import catchup as stored
from aggregator.storage.catchup import AuthorWindow, CatchupPost
from aggregator.storage.db import Database
from aggregator.storage.repository import Repository

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

    from aggregator.query import Vocabulary

__all__ = ["DEFAULT_HOURS", "MAX_DAYS", "NOTABLE_LIFT", "STATE_MARK", "Catchup",
           "CatchupGroup", "CatchupPost", "StorageCatchup", "counts_text", "is_notable"]

STATE_MARK = "catchup.mark"  # app_state: ISO time the last finished catch-up reached
DEFAULT_HOURS = 24
MAX_DAYS = 30
NOTABLE_LIFT = 2.0  # twice the author's usual boosts + likes...
NOTABLE_MIN = 3  # ...and at least this many (2 likes against a usual of 0 is not news)
PER_GROUP = 20  # posts shown per group


def is_notable(post: CatchupPost) -> bool:
    engagement = post.engagement
    return (post.lift is not None and engagement is not None
            and post.lift >= NOTABLE_LIFT and engagement >= NOTABLE_MIN)


def counts_text(post: CatchupPost) -> str:
    """"↩2 ♻12 ♥40": the counts the network sent (empty when it sends none)."""
    return " ".join(f"{mark}{n}" for mark, n in (
        ("↩", post.reply_count), ("♻", post.boost_count), ("♥", post.like_count))
        if n is not None)


@dataclass(frozen=True, slots=True)
class CatchupGroup:
    """A voice's or an author's unread arrivals. `id`: "voice:ID" or "author:ID"."""

    id: str
    title: str  # the voice's name, else the author's display name (else handle)
    handles: tuple[str, ...]  # the accounts' handles, as stored
    networks: tuple[str, ...]
    author_ids: tuple[int, ...]
    count: int
    to_you: int
    newest: datetime
    posts: tuple[CatchupPost, ...]  # the first PER_GROUP, in notable order

    @property
    def best(self) -> float | None:
        lifts = [p.lift for p in self.posts if p.lift is not None]
        return max(lifts) if lifts else None

    @property
    def notable(self) -> int:
        return sum(1 for p in self.posts if is_notable(p))


@dataclass(frozen=True, slots=True)
class Catchup:
    since: datetime
    upto: datetime
    origin: str  # "mark" (your last catch-up), "default" (no mark yet) or "given"
    groups: tuple[CatchupGroup, ...]

    @property
    def total(self) -> int:
        return sum(g.count for g in self.groups)


def _post_order(p: CatchupPost) -> tuple[bool, float, datetime, int]:
    return (p.to_you, p.lift if p.lift is not None else -1.0, p.created_at, p.id)


def _group_order(g: CatchupGroup) -> tuple[bool, float, int, datetime]:
    best = g.best
    return (g.to_you > 0, best if best is not None else -1.0, g.count, g.newest)


def build_groups(windows: Sequence[AuthorWindow],
                 voices: dict[tuple[str, str], tuple[int, str]]) -> list[CatchupGroup]:
    """Authors merged into their voices, each group's posts and the groups in order."""
    merged: dict[str, list[AuthorWindow]] = {}
    names: dict[str, str] = {}
    for w in windows:
        voice = voices.get((w.network, w.key))
        gid = f"voice:{voice[0]}" if voice else f"author:{w.author_id}"
        merged.setdefault(gid, []).append(w)
        names[gid] = (voice[1] if voice else "") or w.name or w.handle
    groups = []
    for gid, parts in merged.items():
        posts = sorted((p for w in parts for p in w.posts), key=_post_order, reverse=True)
        groups.append(CatchupGroup(
            id=gid, title=names[gid], handles=tuple(w.handle for w in parts),
            networks=tuple(w.network for w in parts),
            author_ids=tuple(w.author_id for w in parts), count=sum(w.count for w in parts),
            to_you=sum(w.to_you for w in parts), newest=max(w.newest for w in parts),
            posts=tuple(posts[:PER_GROUP])))
    groups.sort(key=_group_order, reverse=True)
    return groups


class StorageCatchup:
    """The catch-up over the archive. `catch_up` only reads; `mark_read` writes."""

    def __init__(self, db: Database, repo: Repository, settings: Settings, clock: Clock,
                 vocabulary: Callable[[], Vocabulary] | None = None) -> None:
        self.db = db
        self.repo = repo
        self.settings = settings
        self.clock = clock
        self._vocabulary = vocabulary or settings.query_vocabulary

    def yours(self) -> list[tuple[str, str]]:
        """(network, handle) of the configured accounts that name their handle."""
        return sorted({(a.network, a.handle) for a in self.settings.accounts.values()
                       if a.handle})

    def mark(self) -> datetime | None:
        value = self.repo.get_app_state(STATE_MARK)
        try:
            return datetime.fromisoformat(value) if value else None
        except ValueError:
            return None

    def window_start(self, now: datetime) -> tuple[datetime, str]:
        mark = self.mark()
        if mark is None:
            return now - timedelta(hours=DEFAULT_HOURS), "default"
        return max(mark, now - timedelta(days=MAX_DAYS)), "mark"

    def _muted(self, now: datetime) -> ColumnElement[bool] | None:
        return hidden_clause(self.db, self.settings, now, self._vocabulary())

    def catch_up(self, since: datetime | None = None) -> Catchup:
        now = self.clock.now()
        start, origin = (since, "given") if since is not None else self.window_start(now)
        windows = stored.catchup_window(self.db, start, now, muted=self._muted(now),
                                        yours=self.yours(), per_author=PER_GROUP)
        voices = stored.voices_of(self.db, [(w.network, w.key, w.handle) for w in windows])
        return Catchup(start, now, origin, tuple(build_groups(windows, voices)))

    def count(self) -> int:
        """Unread arrivals since the mark (the sidebar's number), capped like the others."""
        from aggregator.storage.queries import COUNT_CAP

        now = self.clock.now()
        start, _ = self.window_start(now)
        return stored.count_window(self.db, start, now, muted=self._muted(now), cap=COUNT_CAP)

    def mark_read(self, catchup: Catchup, group_id: str | None) -> int:
        """Mark a group's posts of this catch-up read (None: no group, only settle the
        mark); -> how many. When none of the catch-up is left unread, the mark moves to
        its end: the next catch-up starts there."""
        muted = self._muted(self.clock.now())
        marked = 0
        for group in catchup.groups:
            if group.id == group_id:
                marked = stored.mark_read(self.db, group.author_ids, catchup.since,
                                          catchup.upto, muted=muted)
        if catchup.origin != "given" and not stored.unread_left(
                self.db, catchup.since, catchup.upto, muted=muted):
            mark = self.mark()
            if mark is None or mark < catchup.upto:
                self.repo.set_app_state(STATE_MARK, catchup.upto.isoformat())
        return marked
