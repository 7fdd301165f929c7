"""The one interface every network's collector implements."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Protocol

from aggregator.models import Network, Page, SourceState, Target


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
