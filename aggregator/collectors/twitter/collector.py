"""TwitterCollector: the `Collector` for X, composed of `api.TwitterApi` and `normalize`.

Every X timeline pages backwards in time (newest first, ``next_token`` to older posts), so
each pass yields ``Page(state=None)`` until its last page, and only that last page carries
the new cursor (the newest entry id seen in the pass). A pass interrupted in the middle
stores what it read but leaves the cursor where it was; the next pass reads those posts
again and storage keeps them once.

* user tweets and recent search send ``since_id=cursor``: X returns only newer posts, so an
  unchanged source costs one request and zero posts read;
* list tweets have no ``since_id``: the pass pages from the newest post and stops at the
  first entry whose id is <= the cursor. X only serves a list's newest 800 posts: when a
  pass runs into that horizon without meeting the cursor, the posts in between are gone,
  and the page says so in a warning. Trade-off: an incremental list pass asks for a small
  first page (`LIST_PROBE` posts) because X bills every post read, known or not; an
  unchanged list costs one request and `LIST_PROBE` reads, and a busy list costs one extra
  request before the following pages use the full 100;
* a first pass (no cursor) takes at most `backfill` entries, then sets the cursor to the
  newest entry it saw (``backfill = 0`` only sets the cursor: collect from now on).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import ClassVar

from aggregator.clock import Clock
from aggregator.collectors.paging import LoopGuard, normalize_entries
from aggregator.collectors.retry import RateBudget, RetryPolicy
from aggregator.collectors.twitter.api import NETWORK, TwitterApi
from aggregator.collectors.twitter.entities import (
    Includes,
    JsonDict,
    TweetPage,
    describe_error,
)
from aggregator.collectors.twitter.normalize import normalize_tweet
from aggregator.errors import AuthMissing, CollectorError, CursorTooOld
from aggregator.models import Network, Page, Post, SourceState, Target, id_order, newer_id
from aggregator.settings import AccountSettings

logger = logging.getLogger(__name__)

PAGE_MAX = 100  # max_results upper bound on every endpoint we read
LIST_PROBE = 10  # first page of an incremental list pass (see the module docstring)
LIST_HORIZON = 800  # X serves only the newest 800 posts of a list
MAX_PAGES = 40  # per pass: a safety stop for servers whose next_token never ends
_MIN_RESULTS = {"list": 1, "user": 5, "search": 10}  # max_results lower bounds per endpoint


def _normalize(entries: list[JsonDict], includes: Includes,
               warnings: list[str]) -> tuple[Post, ...]:
    return normalize_entries(entries, lambda tweet: normalize_tweet(tweet, includes),
                             warnings, kind="tweet", id_of=lambda tweet: tweet.get("id"))


class TwitterCollector:
    """Reads X lists, user timelines and recent searches (API v2, app-only bearer token)."""

    network: ClassVar[Network] = "twitter"

    def __init__(self, api: TwitterApi, *, max_pages: int = MAX_PAGES) -> None:
        self.api = api
        self.max_pages = max_pages

    @classmethod
    def from_account(cls, account: AccountSettings, environ: Mapping[str, str], clock: Clock, *,
                     policy: RetryPolicy | None = None, budget: RateBudget | None = None,
                     timeout: float = 30.0) -> TwitterCollector:
        """Build a collector for one configured X account.

        Raises:
            AuthMissing: no bearer token (the message names the environment variable to set).
        """
        token = account.token(environ)
        if not token:
            if account.bearer_token_env:
                hint = f"set the environment variable {account.bearer_token_env}"
            else:
                hint = (f'add bearer_token_env = "ROUNDS_X_BEARER" to accounts.{account.name} '
                        "and set that environment variable")
            raise AuthMissing(NETWORK, f"account {account.name!r} has no bearer token: {hint}")
        api = TwitterApi(token, clock=clock, base_url=account.base_url, policy=policy,
                         budget=budget, timeout=timeout,
                         credential=_bearer_source(account.bearer_token_env, account.token_file))
        return cls(api)

    def close(self) -> None:
        self.api.close()

    # ------------------------------------------------------------------ one pass

    def fetch_posts(self, target: Target, state: SourceState, *, backfill: int) -> Iterator[Page]:
        """See `aggregator.collectors.base.Collector.fetch_posts`."""
        kind = "search" if target.kind == "hashtag" else target.kind
        value = f"#{target.value.lstrip('#')}" if target.kind == "hashtag" else target.value
        if kind not in _MIN_RESULTS:
            raise CollectorError(NETWORK, f"cannot read a {target.kind!r} source on X")
        before = self.api.requests
        users_read = 0
        resolved_id = state.resolved_id
        if kind == "user" and not resolved_id:
            resolved_id = str(self.api.fetch_user_by_username(value.lstrip("@"))["id"])
            users_read = 1  # the looked-up user object is billed too
            logger.info("X user @%s has id %s", value.lstrip("@"), resolved_id)

        cursor = state.cursor
        limit = max(backfill, 0) if cursor is None else None
        taken = read = pages = 0
        newest = cursor
        token: str | None = None
        since = cursor  # sent as since_id by user tweets and search (lists have none)
        guard = LoopGuard()
        while True:
            size = self._page_size(kind, cursor, limit, taken, pages)
            try:
                page = self._fetch(kind, value if kind != "user" else str(resolved_id),
                                   size=size, cursor=since, token=token)
            except CursorTooOld:
                # Recent search only accepts a since_id from its 7-day window: after a long
                # pause, page back from the newest post and stop at the cursor instead.
                if since is None:
                    raise
                logger.warning("X %s: cursor %s is too old for since_id; reading back to it",
                               value, since)
                since = None
                continue
            pages += 1
            read += len(page.data)
            warnings = [describe_error(e) for e in page.errors]
            fresh = [t for t in page.data if t.get("id") not in (None, "")]
            ids = {str(t["id"]) for t in fresh}
            # a server going in circles (a page again, or a token again) ends the pass
            # without moving the cursor: what it never served is read next run
            circling = guard.page(ids)
            reached_known = False
            if cursor is not None:  # since_id already filtered user/search; lists need it
                entries = len(fresh)
                fresh = [t for t in fresh if id_order(str(t["id"])) > id_order(cursor)]
                reached_known = len(fresh) < entries
            for entry in fresh:
                newest = newer_id(newest, str(entry["id"]))
            if limit is not None:
                fresh = fresh[: max(limit - taken, 0)]
            taken += len(fresh)

            next_token = page.next_token
            done = (next_token is None or reached_known
                    or (limit is not None and taken >= limit)
                    or (kind == "list" and read >= LIST_HORIZON))
            if not done and circling:
                warnings.append(f"X repeated an earlier page after {pages} pages; pass "
                                "ended, the cursor stays")
                done = True
            elif not done and guard.token_seen(next_token):
                warnings.append(f"X repeated a page token after {pages} pages; pass ended, "
                                "the cursor stays")
                done = circling = True
            if not done and pages >= self.max_pages:
                warnings.append(f"stopped after {pages} pages (limit per pass); "
                                "the rest comes next pass")
                done = True
            if (done and kind == "list" and cursor is not None and not reached_known
                    and (next_token is None or read >= LIST_HORIZON)):
                warnings.append(f"list {value}: more new posts than the {LIST_HORIZON} X keeps "
                                "reachable; older new posts were missed (collect more often)")
            for w in warnings:
                logger.warning("X %s %s: %s", kind, value, w)

            yield Page(
                posts=_normalize(fresh, page.includes, warnings),
                state=SourceState(cursor=cursor if circling else newest,
                                  resolved_id=resolved_id) if done else None,
                requests=self.api.requests - before,
                users_read=users_read + len(page.includes.users),
                warnings=tuple(warnings),
                # X bills every entry and referenced tweet it sent, known to us or not
                items_read=len(page.data) + len(page.includes.tweets),
            )
            if done:
                return
            before, users_read = self.api.requests, 0
            assert next_token is not None
            guard.follow(next_token)
            token = next_token

    @staticmethod
    def _page_size(kind: str, cursor: str | None, limit: int | None, taken: int,
                   pages: int) -> int:
        low = _MIN_RESULTS[kind]
        if limit is not None:  # first pass: no more than the backfill still allows
            return max(low, min(PAGE_MAX, limit - taken))
        if kind == "list" and pages == 0:
            return max(low, LIST_PROBE)
        return PAGE_MAX

    def _fetch(self, kind: str, value: str, *, size: int, cursor: str | None,
               token: str | None) -> TweetPage:
        if kind == "list":
            return self.api.fetch_list_tweets(value, max_results=size, pagination_token=token)
        if kind == "user":
            return self.api.fetch_user_tweets(value, max_results=size, since_id=cursor,
                                              pagination_token=token)
        return self.api.fetch_search_recent(value, max_results=size, since_id=cursor,
                                            next_token=token)


def _bearer_source(env: str | None, token_file: str | None) -> str:
    """Where the bearer token comes from, for "check ..." in a rejected-token message."""
    if env:
        return f"the bearer token in {env}"
    return f"the bearer token in {token_file}" if token_file else "the bearer token"
