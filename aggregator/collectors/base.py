"""The one interface every network's collector implements, and the one for fetching a
post's conversation (ThreadSource)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, Protocol

from aggregator.models import Network, Page, Post, SourceState, Target


class Collector(Protocol):
    network: ClassVar[Network]

    def fetch_posts(self, target: Target, state: SourceState, *, backfill: int) -> Iterator[Page]:
        """Posts of `target` newer than `state.cursor`, as pages to store in order.

        Args:
            target: what to read (list, hashtag, user, search).
            state: the saved cursor and resolved account id; empty on the first run.
            backfill: how many posts a first run (no cursor) may take at most.

        Yields:
            Pages. Each page's `state`, when not None, is committed in the same
            transaction as its posts; a pass that pages backwards in time yields
            `state=None` until its last page, so an interrupted pass never moves the
            cursor past posts it did not store.

        Raises:
            CollectorError: a subclass from `aggregator.errors`, never a library error.
        """
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ThreadRef:
    """The post whose conversation is wanted, as the archive knows it."""

    network: Network
    key: str  # federation URI (Mastodon), tweet id, at:// URI
    remote_id: str  # its id on the account's server
    url: str = ""
    raw: str = ""  # the JSON as stored (X: its conversation_id spares a lookup)
    replies: int | None = None  # its reply count as last sent (None: never sent)
    read_limit: int | None = None  # X: reads the fetch may spend at most (the daily budget)


@dataclass(frozen=True, slots=True)
class FetchedThread:
    """A conversation as a server showed it: its posts (ancestors and replies, maybe the
    post itself), normalized, and the posts it would not show as (ref, state): the parent
    was deleted, or is by an account blocked either way, or is simply unavailable."""

    posts: tuple[Post, ...]
    gaps: tuple[tuple[str, str], ...] = ()
    requests: int = 1
    items_read: int = 0  # posts billed (X: every post sent, entries and referenced ones)
    users_read: int = 0  # user objects billed (X)
    notes: tuple[str, ...] = ()  # what the person should know (X: search covers 7 days)


class ThreadSource(Protocol):
    """Fetches one post's conversation on demand (the reader's `T`). Like a Collector a
    pure producer: never sees a database.

    Raises:
        CollectorError: a subclass from `aggregator.errors`; NotFound when the post is gone.
    """

    network: ClassVar[Network]

    def fetch_thread(self, ref: ThreadRef) -> FetchedThread: ...

    def estimate_reads(self, ref: ThreadRef) -> int | None:
        """The billed reads fetching `ref`'s conversation will cost, about (None: the
        network does not bill reads, no need to ask first)."""
        ...

    def close(self) -> None: ...
