"""FeedCollector: an RSS or Atom document as one page of posts.

A feed has no pages and no "since": each fetch is the feed's whole recent window. So:

* one pass is one conditional GET (plus a hop per redirect) and yields one page;
* ``304 Not Modified``, or a body identical to the last one (servers that ignore conditional
  requests), yields no posts and keeps the state: an unchanged feed costs one request;
* a changed document yields every entry in it (newest first; a first pass at most
  `backfill`): storage keeps each post once by key, and an entry with a later ``updated``
  date, or whose text changed without one (``Page.undated_edits``), replaces the stored
  one as an edit, the earlier version kept;
* entries repeating an id already seen in the same document are dropped, with a warning;
* a permanent redirect is followed and reported in the page's warnings on every pass until
  the configured URL is updated (the config file is the user's: never rewritten).

The source state's `cursor` (64 characters in storage) is our own `Mark`: the first 16 hex
digits of the body's sha256, then the validator exactly as received (``E`` + ETag or
``M`` + Last-Modified; ``-`` when there is none or it does not fit). `resolved_id` is unused.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

from aggregator.clock import Clock
from aggregator.collectors.feed.api import NETWORK, FeedApi, Validator
from aggregator.collectors.feed.normalize import FeedInfo, entry_key, normalize_entry
from aggregator.collectors.paging import normalize_entries
from aggregator.collectors.retry import RateBudget, RetryPolicy
from aggregator.errors import CollectorError
from aggregator.models import Network, Page, Post, SourceState, Target
from aggregator.settings import AccountSettings

logger = logging.getLogger(__name__)

CURSOR_MAX = 64  # sources.cursor
_DIGEST = 16


@dataclass(frozen=True, slots=True)
class Mark:
    """What the last document was: a digest of its body and its validator."""

    digest: str
    validator: Validator | None

    def __str__(self) -> str:
        tail = "-"
        if self.validator is not None:
            tail = ("E" if self.validator.kind == "etag" else "M") + self.validator.value
        return (self.digest[:_DIGEST] + tail)[:CURSOR_MAX]

    @classmethod
    def parse(cls, cursor: str | None) -> Mark | None:
        if not cursor or len(cursor) <= _DIGEST:
            return None
        digest, tail = cursor[:_DIGEST], cursor[_DIGEST:]
        kinds = {"E": "etag", "M": "modified"}
        validator = Validator(kinds[tail[0]], tail[1:]) if tail[0] in kinds and tail[1:] \
            else None
        return cls(digest, validator)


class FeedCollector:
    """Reads RSS/Atom feeds for one `feed` account (the account only carries settings)."""

    network: ClassVar[Network] = "feed"

    def __init__(self, api: FeedApi) -> None:
        self.api = api

    @classmethod
    def from_account(cls, account: AccountSettings, environ: Mapping[str, str], clock: Clock,
                     *, policy: RetryPolicy | None = None, budget: RateBudget | None = None,
                     timeout: float = 30.0) -> FeedCollector:
        return cls(FeedApi(clock=clock, policy=policy, budget=budget, timeout=timeout,
                           allow_insecure=account.allow_insecure))

    def close(self) -> None:
        self.api.close()

    def fetch_posts(self, target: Target, state: SourceState, *, backfill: int) -> Iterator[Page]:
        """See `aggregator.collectors.base.Collector.fetch_posts`."""
        if target.kind != "feed":
            raise CollectorError(NETWORK, f"a feed account reads feeds only, not a "
                                          f"{target.kind!r} source")
        before = self.api.requests
        mark = Mark.parse(state.cursor)
        document = self.api.fetch(target.value, mark.validator if mark else None)
        warnings = list(document.warnings)
        if document.moved_to:
            warnings.append(f"the feed moved permanently to {document.moved_to}: update "
                            f"the source's feed URL (read from the new address meanwhile)")
        if document.parsed is None or (mark and document.digest[:_DIGEST] == mark.digest):
            posts: tuple[Post, ...] = ()
            new_state = state
        else:
            posts = self._posts(document.parsed, target.value,
                                limit=max(backfill, 0) if mark is None else None,
                                warnings=warnings)
            new_state = SourceState(cursor=str(Mark(document.digest, document.validator)))
        for warning in warnings:
            logger.warning("feed %s: %s", target.value, warning)
        yield Page(posts=posts, state=new_state, requests=self.api.requests - before,
                   warnings=tuple(warnings), undated_edits=True)

    def _posts(self, parsed: Any, url: str, *, limit: int | None,
               warnings: list[str]) -> tuple[Post, ...]:
        info = FeedInfo.of(url, parsed.get("feed") or {})
        seen_at = self.api.clock.now()
        entries, keys, repeated = [], set(), 0
        for entry in parsed.get("entries") or ():
            key = entry_key(entry, url)
            if key in keys:
                repeated += 1
                continue
            keys.add(key)
            entries.append(entry)
        if repeated:
            warnings.append(f"{repeated} entries repeated an id already in this feed; "
                            "kept the first of each")
        # entries without a date are stamped just before the fetch, in document order
        stamped = [(entry, seen_at - timedelta(microseconds=i))
                   for i, entry in enumerate(entries)]
        posts = normalize_entries(
            stamped, lambda pair: normalize_entry(pair[0], info, seen_at=pair[1]), warnings,
            kind="entry", id_of=lambda pair: entry_key(pair[0], url))
        ordered = sorted(posts, key=lambda p: p.created_at, reverse=True)
        return tuple(ordered if limit is None else ordered[:limit])
