"""What every import format yields: one `Item` per post found (or per malformed one)."""

from __future__ import annotations

from dataclasses import dataclass

from aggregator.models import Post, pickled_by_fields

# The input formats of `rounds import`, and the network of those that hold one network.
FORMATS = ("twarc", "x-archive", "mastodon-jsonl", "mastodon-archive", "rounds",
           "bluesky-car")
NETWORK = {"twarc": "twitter", "x-archive": "twitter", "mastodon-jsonl": "mastodon",
           "mastodon-archive": "mastodon", "bluesky-car": "bluesky"}


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Item:
    """A post read from an input, or the reason the item at `position` is not one.

    `position` is where a person finds it: ``tweets.jsonl:17``, ``archive.zip:data/tweets.js
    item 3``. `sources` / `topics`: what a `rounds export` record says about the post (its
    sources and stored topics); empty for other formats.
    """

    position: str
    post: Post | None = None
    error: str | None = None
    sources: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    skipped: str | None = None  # not a post, not an error (a boost without its post)

    @classmethod
    def bad(cls, position: str, error: str) -> Item:
        return cls(position, None, error)
