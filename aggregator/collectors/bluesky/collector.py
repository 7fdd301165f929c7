"""BlueskyCollector: list, author, custom feed, hashtag and search feeds as pages of posts.

Every Bluesky feed pages newest first with an opaque cursor (never parsed, sent back as
received) and has no "since". So every pass pages backwards in time, like X's list pass:

* pages carry ``state=None`` until the pass's last page, which carries the new cursor: a
  pass interrupted in the middle stores what it read but leaves the cursor where it was;
  the next pass reads those posts again and storage keeps them once;
* the stored cursor is our own `entities.Mark` (indexedAt of the newest entry seen, and a
  digest of that entry's identity: the post, or who reposted it). A later pass stops at the
  first entry that is the marked one or that the AppView indexed before it. indexedAt is
  the AppView's clock and the feeds' order (a repost sits at its repost time), so a
  backdated or future ``createdAt`` cannot fool it. An unchanged source costs one request;
* a first pass (no cursor) takes at most `backfill` entries (``backfill = 0`` only sets
  the cursor: collect from now on);
* a pass ends on a missing cursor, on an empty page (the AppView's answer to a bad cursor),
  on a cursor or a page the server already gave in this pass (`paging.LoopGuard`; the
  cursor then stays), or after `max_pages`;
* pinned posts (``reasonPin``) sit on top of author feeds whatever their age: they never
  stop a pass or move the cursor, and are stored on first passes only;
* read anonymously, posts whose author (or reposter) carries the self-label
  ``!no-unauthenticated`` are skipped and counted in the page's warnings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from aggregator.clock import Clock
from aggregator.collectors.bluesky.api import MAX_LIMIT, NETWORK, BlueskyApi
from aggregator.collectors.bluesky.entities import FeedEntry, FeedPage, Mark
from aggregator.collectors.bluesky.normalize import normalize_entry
from aggregator.collectors.bluesky.uris import AtUri, is_did, parse_at_uri
from aggregator.collectors.paging import LoopGuard, normalize_entries
from aggregator.collectors.retry import RateBudget, RetryPolicy
from aggregator.errors import CollectorError
from aggregator.models import Network, Page, Post, SourceState, Target
from aggregator.settings import AccountSettings

logger = logging.getLogger(__name__)

MAX_PAGES = 40  # per pass: a server whose cursor never ends cannot loop us
Fetch = Callable[[int, str | None], FeedPage]


def _normalize(entries: list[FeedEntry], warnings: list[str]) -> tuple[Post, ...]:
    return normalize_entries(entries, normalize_entry, warnings, kind="post",
                             id_of=lambda entry: entry.uri)


def _newer(a: Mark | None, b: Mark | None) -> Mark | None:
    if a is None:
        return b
    return b if b is not None and b.at > a.at else a


@dataclass
class BlueskyCollector:
    """Reads Bluesky feeds through one `BlueskyApi` (anonymous or logged in)."""

    network: ClassVar[Network] = "bluesky"
    api: BlueskyApi
    max_pages: int = MAX_PAGES

    @classmethod
    def from_account(cls, account: AccountSettings, environ: Mapping[str, str], clock: Clock,
                     *, policy: RetryPolicy | None = None, budget: RateBudget | None = None,
                     timeout: float = 30.0, session_dir: Path | None = None
                     ) -> BlueskyCollector:
        return cls(BlueskyApi.from_account(account, environ, clock, policy=policy,
                                           budget=budget, timeout=timeout,
                                           session_dir=session_dir))

    def close(self) -> None:
        self.api.close()

    # ------------------------------------------------------------------ targets

    def _reader(self, target: Target, state: SourceState) -> tuple[Fetch, str | None]:
        """How to read one page of `target`, and the DID to remember for it."""
        api = self.api
        if target.kind in ("list", "feed"):
            uri, did = self._owned(target, state)
            if target.kind == "list":
                return (lambda n, c: api.get_list_feed(uri, limit=n, cursor=c)), did
            return (lambda n, c: api.get_feed(uri, limit=n, cursor=c)), did
        if target.kind == "user":
            actor = target.value.lstrip("@")
            did = actor if is_did(actor) else (state.resolved_id or api.resolve_handle(actor))
            return (lambda n, c: api.get_author_feed(did, limit=n, cursor=c)), did
        if target.kind in ("hashtag", "search"):
            query = f"#{target.value.lstrip('#')}" if target.kind == "hashtag" else target.value
            return (lambda n, c: api.search_posts(query, limit=n, cursor=c)), None
        raise CollectorError(NETWORK, f"cannot read a {target.kind!r} source on Bluesky")

    def _owned(self, target: Target, state: SourceState) -> tuple[str, str | None]:
        """A list's or feed's at:// URI with its owner's DID. Resolved and (for a list)
        checked once: getListFeed answers a missing list with an empty feed, so getList
        tells NotFound apart. The DID is remembered in the source state."""
        uri = parse_at_uri(target.value)
        if uri is None:
            raise CollectorError(NETWORK, f"{target.value!r} is not an at:// URI")
        remembered = state.resolved_id
        if remembered and (not uri.has_did or uri.authority == remembered):
            return str(AtUri(remembered, uri.collection, uri.rkey)), remembered
        did = uri.authority if uri.has_did else self.api.resolve_handle(uri.authority)
        full = str(AtUri(did, uri.collection, uri.rkey))
        if target.kind == "list":
            self.api.get_list(full)
        return full, did if len(did) <= 64 else None

    # ------------------------------------------------------------------ one pass

    def fetch_posts(self, target: Target, state: SourceState, *, backfill: int) -> Iterator[Page]:
        """See `aggregator.collectors.base.Collector.fetch_posts`."""
        before = self.api.requests
        fetch, resolved = self._reader(target, state)
        mark = Mark.parse(state.cursor)
        limit = max(backfill, 0) if mark is None else None
        newest, taken = mark, 0
        cursor: str | None = None
        guard = LoopGuard()
        while True:
            size = MAX_LIMIT if limit is None else max(1, min(MAX_LIMIT, limit - taken))
            page = fetch(size, cursor)
            repeated = guard.page(e.identity for e in page.entries)
            pages = guard.pages
            warnings: list[str] = []
            dated = [e for e in page.entries if not e.is_pin]
            fresh = [e for e in dated if mark is None or not mark.covers(e)]
            reached_known = len(fresh) < len(dated)
            for entry in fresh:
                newest = _newer(newest, Mark.of(entry))
            if limit is not None:
                fresh = fresh[: max(limit - taken, 0)]
                if mark is None and taken == 0:  # pins: stored once, on a first pass
                    fresh = [e for e in page.entries if e.is_pin][:limit] + fresh
            taken += len(fresh)
            if self.api.anonymous:
                hidden = [e for e in fresh if e.hidden_from_logged_out]
                if hidden:
                    fresh = [e for e in fresh if not e.hidden_from_logged_out]
                    warnings.append(f"skipped {len(hidden)} posts whose authors ask not to be "
                                    "shown to logged-out readers")
            circling = repeated or guard.token_seen(page.cursor)
            done = (page.cursor is None or not page.entries or reached_known or circling
                    or (limit is not None and taken >= limit))
            if circling:
                again = "a cursor" if guard.token_seen(page.cursor) else "an earlier page"
                warnings.append(f"Bluesky repeated {again} after {pages} pages; pass ended, "
                                "the cursor stays")
            elif not done and pages >= self.max_pages:
                warnings.append(f"stopped after {pages} pages (limit per pass); older new "
                                "posts of this pass were skipped")
                done = True
            for warning in warnings:
                logger.warning("Bluesky %s %s: %s", target.kind, target.value, warning)
            final = state.cursor if circling else (str(newest) if newest else None)
            yield Page(
                posts=_normalize(fresh, warnings),
                state=SourceState(cursor=final, resolved_id=resolved) if done else None,
                requests=self.api.requests - before,
                warnings=tuple(warnings),
            )
            if done:
                return
            before = self.api.requests
            assert page.cursor is not None
            guard.follow(page.cursor)
            cursor = page.cursor
