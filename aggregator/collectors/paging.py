"""Paging pieces every collector shares: a guard against servers that go in circles, and
the page builder that turns raw entries into posts without losing a page to one bad entry.

A network's collector keeps only its own paging rules (which parameter, which order);
it asks `LoopGuard` whether a page or a token was served before, and builds each page's
posts with `normalize_entries`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TypeVar

from aggregator.models import Post

logger = logging.getLogger(__name__)
E = TypeVar("E")


class LoopGuard:
    """What one pass has been served: entry ids and next-page tokens.

    A server that answers a page again (same ids) or hands out a token again would page
    for ever; the collector ends the pass without moving its cursor, so what was never
    served is read next run. One guard per pass.
    """

    def __init__(self) -> None:
        self.pages = 0
        self._ids: set[str] = set()
        self._tokens: set[str] = set()

    def page(self, ids: Iterable[str]) -> bool:
        """Record one page's entry ids; True when it is a repeat: a later page whose ids
        were all served before in this pass."""
        ids = set(ids)
        self.pages += 1
        repeated = self.pages > 1 and bool(ids) and ids <= self._ids
        self._ids |= ids
        return repeated

    def token_seen(self, token: str | None) -> bool:
        """True when `token` was handed out before in this pass."""
        return token is not None and token in self._tokens

    def follow(self, token: str) -> None:
        """The pass goes on with `token`."""
        self._tokens.add(token)


def normalize_entries(entries: Iterable[E], convert: Callable[[E], Post], warnings: list[str],
                      *, kind: str, id_of: Callable[[E], object]) -> tuple[Post, ...]:
    """Posts of one page. An entry that `convert` cannot read becomes a warning
    ("skipped status 42: KeyError") appended to `warnings` instead of losing the page;
    `kind` names the entries in it ("status", "tweet")."""
    posts = []
    for entry in entries:
        try:
            posts.append(convert(entry))
        except Exception as exc:  # one odd entry from a stranger must not lose the page
            logger.warning("skipping %s %s that cannot be read: %r", kind, id_of(entry), exc)
            warnings.append(f"skipped {kind} {id_of(entry)}: {type(exc).__name__}")
    return tuple(posts)
