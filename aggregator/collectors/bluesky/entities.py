"""The XRPC response shapes we read, as small typed wrappers over the JSON dicts. Pure.

Lexicons: app.bsky.feed.defs (feedViewPost, postView, reasonRepost, reasonPin),
app.bsky.feed.getListFeed/getAuthorFeed/getFeed ({feed, cursor?}) and searchPosts/getPosts
({posts, cursor?}). Quirks handled here (tests/data/bluesky/PROVENANCE.md "Traps"):

* optional fields are missing, not null, and new ones appear over time: read permissively;
* the last page has no ``cursor`` key at all; the cursor is opaque (never parsed here);
* a repost's feed position is its ``reason.indexedAt`` (the repost time), not the post's;
* ``reasonPin`` puts an old pinned post on top of an author feed: not a position in time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aggregator.models import parse_utc

JsonDict = dict[str, Any]
REPOST = "app.bsky.feed.defs#reasonRepost"
PIN = "app.bsky.feed.defs#reasonPin"
NO_UNAUTHENTICATED = "!no-unauthenticated"


def obj(value: Any) -> JsonDict:
    return value if isinstance(value, dict) else {}


def objs(value: Any) -> list[JsonDict]:
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def label_values(labels: Any) -> set[str]:
    """Values of the labels in a view's ``labels`` array (a negation removes a label)."""
    found: set[str] = set()
    for label in objs(labels):
        val = text(label.get("val"))
        if val:
            (found.discard if label.get("neg") is True else found.add)(val)
    return found


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One feed item: ``{post, reply?, reason?}`` (search results are wrapped as ``{post}``)."""

    item: JsonDict

    @property
    def post(self) -> JsonDict:
        return obj(self.item.get("post"))

    @property
    def reason(self) -> JsonDict:
        return obj(self.item.get("reason"))

    @property
    def is_repost(self) -> bool:
        return self.reason.get("$type") == REPOST

    @property
    def is_pin(self) -> bool:
        return self.reason.get("$type") == PIN

    @property
    def uri(self) -> str:
        return text(self.post.get("uri"))

    @property
    def identity(self) -> str:
        """What makes this entry one position of the feed: the post, or who reposted it."""
        if self.is_repost:
            by = text(obj(self.reason.get("by")).get("did"))
            return f"repost:{text(self.reason.get('uri')) or by}:{self.uri}"
        return self.uri

    @property
    def indexed_at(self) -> datetime | None:
        """The AppView's time for this position (the repost time for a repost)."""
        if self.is_repost:
            return parse_utc(self.reason.get("indexedAt")) or parse_utc(
                self.post.get("indexedAt"))
        return parse_utc(self.post.get("indexedAt"))

    @property
    def hidden_from_logged_out(self) -> bool:
        """The author (or the reposter) asks apps not to show them to logged-out readers."""
        people = [obj(self.post.get("author"))]
        if self.is_repost:
            people.append(obj(self.reason.get("by")))
        return any(NO_UNAUTHENTICATED in label_values(p.get("labels")) for p in people)


@dataclass(frozen=True, slots=True)
class FeedPage:
    entries: list[FeedEntry]
    cursor: str | None  # absent on the last page

    @classmethod
    def from_json(cls, body: Any, key: str = "feed") -> FeedPage:
        """Raises ValueError when `body` is not a feed (``feed``) or posts (``posts``) page."""
        if not isinstance(body, dict):
            raise ValueError(f"expected a JSON object, got {type(body).__name__}")
        items = body.get(key, [])
        if not isinstance(items, list):
            raise ValueError(f"{key!r} is not an array")
        if key == "posts":
            entries = [FeedEntry({"post": p}) for p in objs(items)]
        else:
            entries = [FeedEntry(i) for i in objs(items)]
        cursor = body.get("cursor")
        return cls([e for e in entries if e.uri],
                   cursor if isinstance(cursor, str) and cursor else None)


@dataclass(frozen=True, slots=True)
class Mark:
    """The cursor we store: where the newest entry of the last pass sat, and which it was.

    Bluesky's own cursors are opaque and only page backwards, so our stored cursor is our
    own: ``<indexedAt>|<16 hex of the entry identity's sha256>`` (short: the column holds
    64 characters). A later pass stops at the first entry that is that same entry or that
    the AppView indexed earlier than it.
    """

    at: datetime
    digest: str

    @classmethod
    def of(cls, entry: FeedEntry) -> Mark | None:
        when = entry.indexed_at
        return None if when is None else cls(when, digest(entry.identity))

    @classmethod
    def parse(cls, value: str | None) -> Mark | None:
        if not value or "|" not in value:
            return None
        when, _, dig = value.rpartition("|")
        parsed = parse_utc(when)
        return None if parsed is None else cls(parsed, dig)

    def __str__(self) -> str:
        return f"{self.at.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}|{self.digest}"

    def covers(self, entry: FeedEntry) -> bool:
        """True when `entry` is this mark's entry or older than it (already collected)."""
        when = entry.indexed_at
        return digest(entry.identity) == self.digest or (when is not None and when < self.at)


def digest(identity: str) -> str:
    return hashlib.sha256(identity.encode()).hexdigest()[:16]
