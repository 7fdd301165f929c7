"""Frozen dataclasses shared by every layer.

Collectors produce them, the collect service stores them, read-side queries return
their own row dataclasses. Nothing here knows about a database or a network library.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, Literal, Protocol, TypeVar

Network = Literal["mastodon", "twitter", "bluesky", "feed"]
NETWORKS: tuple[Network, ...] = ("mastodon", "twitter", "bluesky", "feed")
# curated: rounds lists; feed: a Bluesky custom feed (feed generator), or on a `feed`
# account an RSS/Atom document's URL
TargetKind = Literal["list", "hashtag", "user", "search", "curated", "feed"]


def id_order(remote_id: str) -> tuple[int, str]:
    """Sort key for remote ids: numerically for digit strings, never through float.

    Mastodon and X ids exceed 2^53; Mastodon only promises "a string", so non-numeric ids
    (Pleroma flake ids) still sort, by length then text, which keeps equal-length ids stable.
    """
    return (len(remote_id), remote_id)


def newer_id(a: str | None, b: str | None) -> str | None:
    """The newer of two remote ids (either may be None)."""
    if a is None:
        return b
    if b is None:
        return a
    return a if id_order(a) >= id_order(b) else b


def parse_utc(value: Any) -> datetime | None:
    """An ISO 8601 timestamp from an API ('2026-08-01T13:53:15.378Z', '...+00:00', a bare
    date) as aware UTC; None for anything else."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


_C = TypeVar("_C", bound=type)


def pickled_by_fields(cls: _C) -> _C:
    """Pickle a frozen slots dataclass as its constructor call with its fields.

    Posts cross from the worker process of a bulk import to the storing one by the
    million; the `__getstate__`/`__setstate__` that `dataclass(slots=True)` writes loop in
    Python over the fields: this takes half the time either way (bench/ingest.py)."""
    names = [f.name for f in fields(cls)]
    assert len(names) > 1 and all(f.init for f in fields(cls)), cls
    values = attrgetter(*names)

    def __reduce__(self: Any) -> tuple[type, tuple[Any, ...]]:
        return cls, values(self)

    cls.__reduce__ = __reduce__  # type: ignore[assignment]
    return cls


class TopicLike(Protocol):
    """A topic match as storage needs it (the classifier's TopicMatch is one)."""

    @property
    def topic(self) -> str: ...
    @property
    def rule(self) -> str: ...
    @property
    def matched(self) -> str: ...
    @property
    def weight(self) -> int: ...


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Author:
    """A posting account. `key` identifies it across sources on one network:
    the acct with its domain on Mastodon (``user@domain``), the numeric user id on X."""

    network: Network
    key: str
    handle: str  # user@domain on Mastodon, username on X
    display_name: str
    url: str = ""
    bio: str = ""  # plain text
    remote_id: str = ""  # id on the server it was read from


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Media:
    kind: str  # image, video, gifv, audio, unknown
    url: str
    alt_text: str = ""


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Boost:
    """Someone re-shared the post (a Mastodon reblog, an X retweet)."""

    booster: Author
    remote_id: str  # id of the boost itself
    created_at: datetime


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Post:
    """One post, normalized. Boosts arrive as the original post with `boosts` filled.

    `key` identifies the post on its network whichever server delivered it: the
    federation URI on Mastodon (local ids differ per server), the tweet id on X.
    `remote_id` is the id on the server it was read from, used for cursors.
    """

    network: Network
    key: str
    remote_id: str
    url: str
    author: Author
    created_at: datetime  # timezone-aware, UTC
    text: str  # plain text rendering: what people read and what is searched
    raw: str  # the JSON as received (the boost wrapper for boosts), for archival fidelity
    lang: str | None = None
    spoiler: str = ""
    reply_to_id: str | None = None  # remote id of the post this replies to
    reply_to_author: str | None = None  # its author's key, when known
    quote_of: str | None = None  # key of the quoted post
    hashtags: tuple[str, ...] = ()  # as written by the author, without '#'
    mentions: tuple[str, ...] = ()  # handles
    links: tuple[str, ...] = ()  # external links, expanded
    media: tuple[Media, ...] = ()
    boosts: tuple[Boost, ...] = ()
    edited_at: datetime | None = None
    sensitive: bool = False
    # Engagement as the network counts it when it sends the post (None: it sends none).
    # `boost_count` is re-shares: boosts, reposts, retweets, and quotes where counted apart.
    reply_count: int | None = None
    boost_count: int | None = None
    like_count: int | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """What one source reads: a remote list, a hashtag, an account or a search."""

    kind: TargetKind
    value: str


@dataclass(frozen=True, slots=True)
class SourceState:
    """What a collector needs to resume a source; saved with the posts it covers.

    `cursor`: newest remote id already stored. `resolved_id`: the remote id of a `user`
    source's account, looked up once and remembered.
    """

    cursor: str | None = None
    resolved_id: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """One response's worth of posts and the state to commit in the same transaction.

    `state` is None when this page must not move the cursor (a backwards pass that has
    not finished yet); the final page of such a pass carries the new state.
    """

    posts: tuple[Post, ...]
    state: SourceState | None
    requests: int = 1
    users_read: int = 0  # X bills user objects separately
    warnings: tuple[str, ...] = field(default=())
    # posts billed: X bills every entry read (known or not) and referenced tweets; None: len(posts)
    items_read: int | None = None
    # the posts are their current versions, and content may change without a new date (feed
    # entries): a stored post whose text differs is an edit, dated when the change was seen
    undated_edits: bool = False
