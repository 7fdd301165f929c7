"""Bluesky feed items (plain JSON dicts) -> `aggregator.models.Post`. Pure functions.

Lexicons: app.bsky.feed.defs#postView/#feedViewPost, app.bsky.feed.post, app.bsky.richtext
.facet, app.bsky.embed.* (#view forms). Every value comes from strangers: keys may be
missing, types wrong, offsets hostile; nothing here raises on odd input.

* Identity: the author is keyed by DID (the handle is display data and can change); the
  post by its at:// URI, which is also its `remote_id` (what export shows as ``id``), a
  reply's `reply_to_id` is its parent's at:// URI and a repost's boost id the repost
  record's URI (storage finds a parent by key first). Migration 0004 made those columns
  long enough; an author's `remote_id` (the DID) still fits 64 characters or stays empty.
* Text is the record's ``text`` as Bluesky shows it: link facets keep their shortened text
  (``www.oldergeeks.com/downloads/fi...``) and the full URI goes to `links`. Facet offsets
  are UTF-8 *byte* offsets; they are only read (for a mention's shown handle), never used
  to cut or rewrite the text, so out-of-range, overlapping or mid-character offsets cannot
  lose a character. Text that looks like a mention without a facet stays plain text.
  Control characters (C0, DEL) are removed: PostgreSQL refuses NUL, terminals obey ESC.
* Embeds: images (fullsize URL, alt), video (thumbnail URL, alt), external cards (URL to
  `links`, title appended as its own paragraph unless the text already has it), quotes
  (`quote_of` = the quoted post's URI; a quoted post that is not found, blocked or detached
  is recorded as such in the text, never an error), recordWithMedia (both).
* Labels ``porn``, ``sexual``, ``nudity``, ``graphic-media`` (labeler or self-label, on the
  post or its author) mark the post sensitive, as Mastodon's flag does.
* `raw` is the feed item exactly as received (re-serialized compactly).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson

from aggregator.collectors.bluesky.entities import (
    FeedEntry,
    JsonDict,
    label_values,
    obj,
    objs,
    text,
)
from aggregator.collectors.bluesky.uris import (
    POST,
    did_of,
    is_handle,
    parse_at_uri,
    rkey_of,
    web_url,
)
from aggregator.collectors.jsonval import EPOCH, opt_count
from aggregator.models import Author, Boost, Media, Network, Post, parse_utc

NETWORK: Network = "bluesky"
SENSITIVE = frozenset({"porn", "sexual", "nudity", "graphic-media"})
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_QUOTE_STUBS = {
    "app.bsky.embed.record#viewNotFound": "(quoted post not found)",
    "app.bsky.embed.record#viewBlocked": "(quoted post blocked)",
    "app.bsky.embed.record#viewDetached": "(quoted post detached by its author)",
}


def clean(value: Any) -> str:
    return _CONTROLS.sub("", text(value).replace("\r\n", "\n"))


def _short(value: str, limit: int = 64) -> str:
    return value if len(value) <= limit else ""


def shown_handle(author: JsonDict) -> str:
    """The handle to show and link to; the DID when the handle is missing or invalid."""
    handle = text(author.get("handle"))
    if is_handle(handle) and handle != "handle.invalid":
        return handle
    return text(author.get("did"))


def normalize_author(view: JsonDict) -> Author:
    """A profileView(Basic) -> Author keyed by DID."""
    did = text(view.get("did"))
    handle = shown_handle(view)
    return Author(
        network=NETWORK, key=did, handle=handle or did,
        display_name=clean(view.get("displayName")).strip(),
        url=f"https://bsky.app/profile/{handle}" if handle else "",
        bio=clean(view.get("description")), remote_id=_short(did),
    )


def _byte_slice(data: bytes, index: JsonDict) -> str:
    start, end = index.get("byteStart"), index.get("byteEnd")
    if type(start) is not int or type(end) is not int or not 0 <= start < end <= len(data):
        return ""
    return data[start:end].decode("utf-8", errors="ignore")


def facets(record: JsonDict) -> tuple[list[str], list[str], list[str]]:
    """(links, mentions, tags) from the record's facets and ``tags``, in order, deduplicated.

    A mention is the handle its text shows (``@name``), or its DID when the bytes it points
    at do not hold one (hostile or stale offsets).
    """
    data = text(record.get("text")).encode("utf-8", errors="ignore")
    links: list[str] = []
    mentions: list[str] = []
    tags: list[str] = []
    for facet in objs(record.get("facets")):
        index = obj(facet.get("index"))
        for feature in objs(facet.get("features")):
            kind = text(feature.get("$type")).rpartition("#")[2]
            if kind == "link" and text(feature.get("uri")):
                links.append(text(feature.get("uri")))
            elif kind == "mention":
                shown = _byte_slice(data, index).strip()
                handle = shown[1:] if shown.startswith("@") and is_handle(shown[1:]) else ""
                if handle or text(feature.get("did")):
                    mentions.append(handle or text(feature.get("did")))
            elif kind == "tag" and text(feature.get("tag")).lstrip("#"):
                tags.append(clean(feature.get("tag")).lstrip("#"))
    tags += [clean(t).lstrip("#") for t in record.get("tags") or () if isinstance(t, str)]
    unique_tags: dict[str, str] = {}  # the author's case, once per tag
    for tag in tags:
        if tag:
            unique_tags.setdefault(tag.casefold(), tag)
    return (list(dict.fromkeys(links)), list(dict.fromkeys(mentions)),
            list(unique_tags.values()))


def _media_of(view: JsonDict) -> list[Media]:
    kind = text(view.get("$type"))
    if kind == "app.bsky.embed.images#view":
        return [Media("image", text(i.get("fullsize")) or text(i.get("thumb")),
                      clean(i.get("alt"))) for i in objs(view.get("images"))]
    if kind == "app.bsky.embed.video#view":
        return [Media("video", text(view.get("thumbnail")) or text(view.get("playlist")),
                      clean(view.get("alt")))]
    return []


class _Embed:
    """What a post's embed view adds: media, a link card, a quoted post."""

    def __init__(self, view: JsonDict) -> None:
        self.media: list[Media] = []
        self.card_uri = self.card_title = ""
        self.quote_of: str | None = None
        self.quote_note = ""
        kind = text(view.get("$type"))
        if kind == "app.bsky.embed.recordWithMedia#view":
            self._media(obj(view.get("media")))
            self._record(obj(obj(view.get("record")).get("record")))  # inner record: no $type
        elif kind == "app.bsky.embed.record#view":
            self._record(obj(view.get("record")))
        else:
            self._media(view)

    def _media(self, view: JsonDict) -> None:
        self.media += _media_of(view)
        if text(view.get("$type")) == "app.bsky.embed.external#view":
            card = obj(view.get("external"))
            self.card_uri, self.card_title = text(card.get("uri")), clean(card.get("title"))

    def _record(self, record: JsonDict) -> None:
        uri = text(record.get("uri"))
        parsed = parse_at_uri(uri)
        if parsed is None or parsed.collection != POST:
            return  # an embedded list, feed or starter pack: not a quote
        self.quote_of = uri
        self.quote_note = _QUOTE_STUBS.get(text(record.get("$type")), "")


def created_time(record: JsonDict, post: JsonDict) -> datetime:
    """When the post was written, as far as the AppView lets us trust it.

    ``createdAt`` is whatever the client wrote (no timezone: read as UTC). A createdAt
    later than the AppView's ``indexedAt`` is impossible for an honest client, so it is
    clamped to indexedAt: otherwise a post "created next year" would sit on top of the
    reader, newest-first, for a year. Backdated posts keep their claimed time (the reader
    sorts them where their author put them; collection order uses indexedAt, see
    entities.Mark).
    """
    created = parse_utc(record.get("createdAt"))
    indexed = parse_utc(post.get("indexedAt"))
    if created is None:
        return indexed or EPOCH
    if indexed is not None and created > indexed:
        return indexed
    return created


def _sensitive(post: JsonDict, record: JsonDict) -> bool:
    labels = label_values(post.get("labels")) | label_values(
        obj(post.get("author")).get("labels"))
    labels |= {text(v.get("val")) for v in objs(obj(record.get("labels")).get("values"))}
    return bool(labels & SENSITIVE)


def _post(post: JsonDict, reply: JsonDict, raw: str, boosts: tuple[Boost, ...]) -> Post:
    uri = text(post.get("uri"))
    record = obj(post.get("record"))
    author = normalize_author(obj(post.get("author")))
    rkey = rkey_of(uri)
    links, mentions, tags = facets(record)
    embed = _Embed(obj(post.get("embed")))
    body = clean(record.get("text"))
    if embed.card_uri and embed.card_uri not in links:
        links.append(embed.card_uri)
    extra = [embed.card_title if embed.card_title not in body else "", embed.quote_note]
    body = "\n\n".join(part for part in [body.strip(), *extra] if part)
    parent_uri = text(obj(obj(record.get("reply")).get("parent")).get("uri"))
    parent_author = text(obj(obj(reply.get("parent")).get("author")).get("did"))
    langs = [x for x in record.get("langs") or () if isinstance(x, str) and 0 < len(x) <= 16]
    return Post(
        network=NETWORK, key=uri, remote_id=uri, url=web_url(author.handle, rkey),
        author=author, created_at=created_time(record, post), text=body, raw=raw,
        lang=langs[0] if langs else None,
        reply_to_id=parent_uri or None,
        reply_to_author=(parent_author or did_of(parent_uri)) if parent_uri else None,
        quote_of=embed.quote_of, hashtags=tuple(tags), mentions=tuple(mentions),
        links=tuple(links), media=tuple(embed.media), boosts=boosts,
        sensitive=_sensitive(post, record),
        reply_count=opt_count(post.get("replyCount")),
        boost_count=opt_count(post.get("repostCount"), post.get("quoteCount")),
        like_count=opt_count(post.get("likeCount")),
    )


def normalize_post_view(post: JsonDict, parent: JsonDict | None = None) -> Post:
    """A bare postView (a thread's node) -> Post; `parent` is its parent's postView when
    known (its author becomes `reply_to_author`). `raw` is the postView as received."""
    reply = {"parent": parent} if parent else {}
    return _post(post, reply, orjson.dumps(post).decode(), ())


def normalize_entry(entry: FeedEntry) -> Post:
    """One feed item -> Post; a repost becomes the original post with a `Boost`."""
    raw = orjson.dumps(entry.item).decode()
    boosts: tuple[Boost, ...] = ()
    if entry.is_repost:
        reason = entry.reason
        boosts = (Boost(
            booster=normalize_author(obj(reason.get("by"))),
            remote_id=text(reason.get("uri")),
            created_at=entry.indexed_at or EPOCH,
        ),)
    return _post(entry.post, obj(entry.item.get("reply")), raw, boosts)
