"""MastodonCollector: list, hashtag and account timelines as pages of normalized posts.

Paging (https://docs.joinmastodon.org/api/guidelines/#pagination):

* First run (no cursor): newest first with ``max_id`` until `backfill` posts. Pages go back
  in time, so they carry ``state=None`` and only the last one sets the cursor (to the
  newest id seen): an interrupted backfill stores posts but never skips any.
* Later runs: forward with ``min_id=cursor``. Mastodon answers with the OLDEST `limit`
  posts newer than min_id, so each page can commit its own cursor (its newest id). A page
  shorter than asked ends the pass: if the server held some back (filters), the next run
  resumes from the cursor. An unchanged source costs exactly one request.

Ids are compared with `id_order` (numeric for digit strings; Mastodon ids exceed 2^53).
Cursors come from the timeline entries' own ids: for a boost that is the wrapper's id,
which is what the server pages by, not the boosted original's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

from aggregator.clock import Clock
from aggregator.collectors.mastodon.api import MAX_LIMIT, MastodonApi, TimelinePage
from aggregator.collectors.mastodon.normalize import AuthorCache, normalize_status
from aggregator.collectors.paging import normalize_entries
from aggregator.collectors.retry import RateBudget, RetryPolicy
from aggregator.errors import CollectorError
from aggregator.models import Network, Page, Post, SourceState, Target, id_order
from aggregator.settings import AccountSettings

logger = logging.getLogger(__name__)

Fetch = Callable[..., TimelinePage]


def _entry_id(status: dict[str, Any]) -> str | None:
    value = status.get("id")
    return str(value) if value not in (None, "") else None


def _normalize(entries: list[dict[str, Any]], warnings: list[str],
               authors: AuthorCache) -> tuple[Post, ...]:
    return normalize_entries(entries, lambda status: normalize_status(status, authors),
                             warnings, kind="status", id_of=_entry_id)


class MastodonCollector:
    network: ClassVar[Network] = "mastodon"

    def __init__(
        self, api: MastodonApi, *, max_pages: int = 1000, page_size: int = MAX_LIMIT
    ) -> None:
        self.api = api
        self.max_pages = max_pages  # per pass, so a misbehaving server cannot loop us
        self.page_size = min(max(page_size, 1), MAX_LIMIT)
        # bios rendered once per account, not once per status; local accounts named after
        # the server's local domain, asked only when the first one is met
        self.authors = AuthorCache(local_domain=api.local_domain)

    @classmethod
    def from_account(
        cls,
        account: AccountSettings,
        environ: Mapping[str, str],
        clock: Clock,
        *,
        policy: RetryPolicy | None = None,
        budget: RateBudget | None = None,
        timeout: float = 30.0,
    ) -> MastodonCollector:
        return cls(
            MastodonApi.from_account(
                account, environ, clock, policy=policy, budget=budget, timeout=timeout
            )
        )

    def close(self) -> None:
        self.api.close()

    # ------------------------------------------------------------------ passes

    def fetch_posts(self, target: Target, state: SourceState, *, backfill: int) -> Iterator[Page]:
        before = self.api.requests
        fetch, resolved = self._fetcher(target, state)
        lookups = self.api.requests - before  # an account lookup counts with the first page
        if state.cursor is None:
            yield from self._backfill(fetch, resolved, max(backfill, 0), lookups)
        else:
            yield from self._forward(fetch, resolved, state.cursor, lookups)

    def _fetcher(self, target: Target, state: SourceState) -> tuple[Fetch, str | None]:
        api = self.api
        if target.kind == "list":
            return (lambda **kw: api.fetch_list_timeline(target.value, **kw)), state.resolved_id
        if target.kind == "hashtag":
            return (lambda **kw: api.fetch_hashtag_timeline(target.value, **kw)), state.resolved_id
        if target.kind == "user":
            # Looked up once; the id travels back in Page.state and is never looked up again.
            account_id = state.resolved_id or api.fetch_account_id(target.value)
            return (lambda **kw: api.fetch_account_statuses(account_id, **kw)), account_id
        raise CollectorError("mastodon", f"{target.kind} sources are not supported on Mastodon")

    def _backfill(
        self, fetch: Fetch, resolved: str | None, backfill: int, extra: int
    ) -> Iterator[Page]:
        if backfill == 0:
            # Start from now: remember the newest id, store nothing.
            page = fetch(limit=1)
            ids = [i for i in map(_entry_id, page.statuses) if i]
            start = max(ids, key=id_order) if ids else None
            yield Page((), SourceState(start, resolved), requests=page.requests + extra)
            return
        newest: str | None = None
        max_id: str | None = None
        remaining = backfill
        pending: Page | None = None  # held back until we know whether it is the last
        warnings: list[str] = []
        circled = False
        try:
            for _ in range(self.max_pages):
                limit = min(self.page_size, remaining)
                page = fetch(max_id=max_id, limit=limit)
                extra += page.requests
                entries = [s for s in page.statuses if _entry_id(s)]
                if max_id is not None:  # a server that repeats or goes forward: drop those
                    entries = [
                        s for s in entries if id_order(_entry_id(s) or "") < id_order(max_id)
                    ]
                entries.sort(key=lambda s: id_order(_entry_id(s) or ""), reverse=True)
                entries = entries[:remaining]
                if not entries:
                    if page.statuses and max_id is not None:
                        # A server that pages in circles: what lies further back was never
                        # read, so leave the cursor unset and let the next run start over.
                        circled = True
                        warnings.append("the server repeated a page instead of older posts; "
                                        "pass ended, the next run starts over")
                        logger.warning("%s", warnings[-1])
                    break
                if pending is not None:
                    yield pending
                if newest is None:
                    newest = _entry_id(entries[0])
                max_id = _entry_id(entries[-1])
                remaining -= len(entries)
                pending = Page(
                    _normalize(entries, warnings, self.authors), None, requests=extra,
                    warnings=tuple(warnings),
                )
                extra, warnings = 0, []
                if remaining <= 0 or (page.next_max_id is None and len(page.statuses) < limit):
                    break
            else:
                logger.warning("backfill stopped after %d pages", self.max_pages)
        except CollectorError:
            if pending is not None:  # store what we have; the cursor stays unset
                yield pending
            raise
        final = SourceState(None if circled else newest, resolved)
        if pending is None:
            yield Page((), final, requests=extra, warnings=tuple(warnings))
        else:
            yield Page(
                pending.posts,
                final,
                requests=pending.requests + extra,
                warnings=pending.warnings + tuple(warnings),
            )

    def _forward(
        self, fetch: Fetch, resolved: str | None, cursor: str, extra: int
    ) -> Iterator[Page]:
        start = cursor
        warnings: list[str] = []
        for _ in range(self.max_pages):
            page = fetch(min_id=cursor, limit=self.page_size)
            extra += page.requests
            entries = [
                s for s in page.statuses if (i := _entry_id(s)) and id_order(i) > id_order(cursor)
            ]
            if not entries:
                if page.statuses:
                    logger.warning("server answered min_id=%s with nothing newer; stopping", cursor)
                    if cursor != start:
                        # It ignores min_id: the pages it gave may have skipped older new
                        # posts, so move the cursor back to where this pass started.
                        warnings.append("the server ignored min_id; the cursor stays where "
                                        "this pass started")
                        cursor = start
                break
            entries.sort(key=lambda s: id_order(_entry_id(s) or ""), reverse=True)
            cursor = _entry_id(entries[0]) or cursor
            posts = _normalize(entries, warnings, self.authors)
            yield Page(
                posts, SourceState(cursor, resolved), requests=extra, warnings=tuple(warnings)
            )
            warnings, extra = [], 0
            if len(page.statuses) < self.page_size:
                return  # the newest page: nothing more right now
        else:
            logger.warning("forward pass stopped after %d pages", self.max_pages)
        yield Page((), SourceState(cursor, resolved), requests=extra, warnings=tuple(warnings))
