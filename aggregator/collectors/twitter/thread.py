"""A tweet's conversation on X: recent search by ``conversation_id``, plus its missing
ancestors by id, normalized with the collector's code.

X has no conversation endpoint and bills every post and user it sends, so the fetch is
sized before it starts (`estimate_reads`: the reader asks first) and never spends more
than the reads it is allowed (`ThreadRef.read_limit`, what is left of the account's daily
budget). What it costs:

* the stored tweet (``raw``) carries its ``conversation_id`` (the collector asks for that
  field); a tweet stored without one is looked up by id first;
* ``GET /2/tweets/search/recent?query=conversation_id:ID``, `MAX_PAGES` pages at most:
  every reply of the last 7 days, each with the tweet it replies to in ``includes``
  (billed too, kept: that is how the root comes, search never returns it as an entry).
  X's recent search covers the last 7 days only: older replies are missing, and a
  conversation that started earlier says so in a note;
* the post's reply chain up to the root, where search did not bring it: ``GET /2/tweets``
  by id, `ANCESTOR_LOOKUPS` at most (each also brings its own parent in ``includes``).
  A parent X will not show becomes a gap (deleted when X says not found).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import ClassVar

from aggregator.clock import Clock
from aggregator.collectors.base import FetchedThread, ThreadRef
from aggregator.collectors.paging import LoopGuard
from aggregator.collectors.retry import RateBudget, RetryPolicy
from aggregator.collectors.twitter.api import NETWORK, TwitterApi
from aggregator.collectors.twitter.collector import TwitterCollector
from aggregator.collectors.twitter.entities import JsonDict, TweetPage, describe_error
from aggregator.collectors.twitter.normalize import normalize_tweet, time_from_id
from aggregator.errors import NotFound
from aggregator.models import Network, Post, parse_utc
from aggregator.settings import AccountSettings

PAGE_MAX = 100
PAGE_MIN = 10  # recent search's max_results lower bound
MAX_PAGES = 5  # of search: 500 replies at most, whatever the conversation holds
ANCESTOR_LOOKUPS = 3  # tweets looked up by id, up the reply chain
SEARCH_DAYS = 7
OLD_NOTE = "X's search covers the last 7 days only: older replies are not shown"


def stored_tweet(raw: str, tweet_id: str) -> JsonDict | None:
    """The tweet `tweet_id` in a stored raw body (``{"data": tweet, "includes": ...}``; a
    retweet's body holds the original in ``includes.tweets``), or None."""
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    includes = body.get("includes")
    candidates = [body.get("data")] + (
        list(includes.get("tweets") or []) if isinstance(includes, dict) else [])
    for tweet in candidates:
        if isinstance(tweet, dict) and str(tweet.get("id", "")) == tweet_id:
            return tweet
    return None


def _parent(tweet: JsonDict) -> str | None:
    for ref in tweet.get("referenced_tweets") or ():
        if isinstance(ref, dict) and ref.get("type") == "replied_to" and ref.get("id"):
            return str(ref["id"])
    return None


def _conversation(tweet: JsonDict | None) -> str:
    value = tweet.get("conversation_id") if tweet else None
    return str(value) if isinstance(value, str | int) and str(value).isdigit() else ""


class _Found:
    """What the fetch has gathered so far, and what it cost."""

    def __init__(self) -> None:
        self.tweets: dict[str, JsonDict] = {}
        self.posts: dict[str, Post] = {}
        self.gaps: dict[str, str] = {}
        self.items = self.users = 0

    @property
    def reads(self) -> int:
        return self.items + self.users

    def take(self, page: TweetPage) -> None:
        self.items += len(page.data) + len(page.includes.tweets)
        self.users += len(page.includes.users)
        parents = {p for t in page.data if (p := _parent(t))}
        wanted = [t for t in page.data] + [
            t for i, t in page.includes.tweets.items() if i in parents]
        for tweet in wanted:
            tweet_id = str(tweet.get("id") or "")
            if tweet_id and tweet_id not in self.posts:
                self.tweets[tweet_id] = tweet
                self.posts[tweet_id] = normalize_tweet(tweet, page.includes)
        for error in page.errors:
            value = str(error.get("value") or error.get("resource_id") or "")
            if value and value not in self.tweets and \
                    error.get("resource_type", "tweet") == "tweet":
                gone = str(error.get("type", "")).endswith("/resource-not-found")
                self.gaps.setdefault(value, "deleted" if gone else "unavailable")


class TwitterThreads:
    network: ClassVar[Network] = "twitter"

    def __init__(self, api: TwitterApi, clock: Clock, *, max_pages: int = MAX_PAGES) -> None:
        self.api = api
        self.clock = clock
        self.max_pages = max_pages

    @classmethod
    def from_account(cls, account: AccountSettings, environ: Mapping[str, str], clock: Clock,
                     *, policy: RetryPolicy | None = None, budget: RateBudget | None = None,
                     timeout: float = 30.0) -> TwitterThreads:
        """Raises AuthMissing: no bearer token (the message says where to set one)."""
        collector = TwitterCollector.from_account(account, environ, clock, policy=policy,
                                                  budget=budget, timeout=timeout)
        return cls(collector.api, clock)

    def close(self) -> None:
        self.api.close()

    def estimate_reads(self, ref: ThreadRef) -> int:
        """About what `fetch_thread` will read: each post with its author (at most one user
        per post), the replies X counted last (one page's worth when it never counted them,
        no more than the pages allowed), the post itself and, for a reply, its parents."""
        tweet = stored_tweet(ref.raw, ref.key)
        lookup = 0 if _conversation(tweet) else 2
        replies = PAGE_MAX if ref.replies is None else max(ref.replies, 0)
        posts = min(replies, self.max_pages * PAGE_MAX) + 1
        if tweet is None or _parent(tweet):
            posts += ANCESTOR_LOOKUPS
        return lookup + 2 * posts

    def fetch_thread(self, ref: ThreadRef) -> FetchedThread:
        before = self.api.requests
        found = _Found()
        notes: list[str] = []
        limit = ref.read_limit
        focus = stored_tweet(ref.raw, ref.key)
        if not _conversation(focus):
            page = self.api.fetch_tweets([ref.key])
            found.take(page)
            focus = found.tweets.get(ref.key)
            if focus is None:
                why = describe_error(page.errors[0]) if page.errors else "no such post"
                raise NotFound(NETWORK, f"post {ref.key}: {why}")
        assert focus is not None
        conversation = _conversation(focus) or ref.key
        found.tweets.setdefault(ref.key, focus)

        token: str | None = None
        guard = LoopGuard()
        for pages in range(1, self.max_pages + 1):
            left = None if limit is None else limit - found.reads
            if left is not None and left < 2 * PAGE_MIN:
                notes.append("stopped at the account's daily read budget")
                break
            size = PAGE_MAX if left is None else max(PAGE_MIN, min(PAGE_MAX, left // 2))
            page = self.api.fetch_search_recent(f"conversation_id:{conversation}",
                                                max_results=size, next_token=token)
            found.take(page)
            token = page.next_token
            if token is None or guard.token_seen(token):
                break
            guard.follow(token)
            if pages == self.max_pages:
                notes.append(f"stopped after {pages * PAGE_MAX} replies (the most one "
                             "fetch reads)")
        if self._started(found, focus, conversation) < \
                self.clock.now() - timedelta(days=SEARCH_DAYS):
            notes.append(OLD_NOTE)

        for _ in range(ANCESTOR_LOOKUPS):
            missing = self._missing_parent(found, focus)
            if missing is None or missing in found.gaps:
                break
            if limit is not None and found.reads + 4 > limit:
                notes.append("parents not looked up: the account's daily read budget")
                break
            found.take(self.api.fetch_tweets([missing]))
            if missing not in found.tweets:
                found.gaps.setdefault(missing, "unavailable")
                break

        posts = tuple(found.posts.values())
        shown = set(found.posts) | {ref.key}
        gaps = dict(found.gaps)
        for post in posts:
            if post.reply_to_id and post.reply_to_id not in shown:
                gaps.setdefault(post.reply_to_id, "unavailable")
        return FetchedThread(posts, tuple(gaps.items()), requests=self.api.requests - before,
                             items_read=found.items, users_read=found.users,
                             notes=tuple(notes))

    @staticmethod
    def _started(found: _Found, focus: JsonDict, conversation: str) -> datetime:
        """When the conversation started: its root's time, else the post's (a lower bound
        on its age), else the time in the conversation id."""
        for tweet in (found.tweets.get(conversation), focus):
            when = parse_utc(tweet.get("created_at")) if tweet else None
            if when is not None:
                return when
        return time_from_id(conversation)

    @staticmethod
    def _missing_parent(found: _Found, focus: JsonDict) -> str | None:
        """The first parent up the focus's reply chain that was not fetched yet."""
        tweet, seen = focus, set()
        while (parent := _parent(tweet)) is not None and parent not in seen:
            seen.add(parent)
            if parent not in found.tweets:
                return parent
            tweet = found.tweets[parent]
        return None


