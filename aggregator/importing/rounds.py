"""Our own `rounds export --raw` JSON Lines, back into an archive.

The record is what the archive showed; `raw` is what the network sent. The post is
rebuilt by the network's own normalizer from `raw` (author identity, boosts, counts,
sensitivity: what the record does not carry) and then takes the record's fields (text,
links, dates …), so that exporting the imported archive gives the same records byte for
byte. Feed entries' raw JSON cannot be normalized on its own (it needs its feed's
header): they are rebuilt from the record alone, their author keyed by its handle.

A record without `raw` (an export without ``--raw``) cannot be imported: too much of the
post is missing.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import orjson

from aggregator.collectors.bluesky.entities import FeedEntry
from aggregator.collectors.bluesky.normalize import normalize_entry, normalize_post_view
from aggregator.collectors.jsonval import as_str
from aggregator.collectors.mastodon.normalize import normalize_status
from aggregator.importing import mastodon, twitter
from aggregator.models import NETWORKS, Author, Media, Post, parse_utc

REQUIRED = ("network", "id", "key", "author", "created_at", "text")


def _dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # integers beyond 64 bits, lone surrogates
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _from_raw(network: str, raw: Any) -> Post | None:
    """The network's normalizer on a stored raw JSON; None when its shape is not one we
    know (the record alone is used then)."""
    if not isinstance(raw, dict):
        return None
    try:
        if network == "twitter":
            return twitter.normalize_raw(raw)
        if network == "mastodon":
            if "activity" in raw:  # imported from a Mastodon account archive
                actor = raw.get("actor")
                actor = actor if isinstance(actor, dict) else {}
                return mastodon.normalize_activity(raw["activity"], actor)
            return normalize_status(raw) if "content" in raw or "reblog" in raw else None
        if network == "bluesky":
            if isinstance(raw.get("post"), dict):
                return normalize_entry(FeedEntry(raw))
            if "uri" in raw and "author" in raw:
                return normalize_post_view(raw)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return None


def _strings(record: dict[str, Any], key: str) -> tuple[str, ...]:
    value = record.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"'{key}' is not a list of strings")
    return tuple(value)


def post_from_record(record: Any) -> tuple[Post, tuple[str, ...], tuple[str, ...]]:
    """One export record -> (post, its sources, its stored topics and facets).

    Raises ValueError for a record that is not one of ours."""
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    missing = [k for k in REQUIRED if not isinstance(record.get(k), str)]
    if missing:
        raise ValueError(f"not a rounds export record (no {', '.join(missing)})")
    network = record["network"]
    if network not in NETWORKS:
        raise ValueError(f"unknown network {network!r}")
    if "raw" not in record or record["raw"] is None:
        raise ValueError("no raw JSON: import an export made with --raw")
    created = parse_utc(record["created_at"])
    if created is None:
        raise ValueError(f"created_at {record['created_at']!r} is not a time")
    base = _from_raw(network, record["raw"])
    handle, name = record["author"], as_str(record.get("author_name"))
    if base is not None and network != "mastodon":
        author = replace(base.author, handle=handle, display_name=name)
    else:  # on Mastodon the handle (acct with its domain) is the key
        author = replace(base.author, key=handle, handle=handle, display_name=name) \
            if base is not None else Author(network, handle, handle, name)
    media = record.get("media") or []
    if not isinstance(media, list) or not all(isinstance(m, dict) for m in media):
        raise ValueError("'media' is not a list of objects")
    boosters = set(_strings(record, "boosted_by"))
    post = Post(
        network=network, key=record["key"], remote_id=record["id"],
        url=as_str(record.get("url")), author=author, created_at=created,
        text=record["text"], raw=_dumps(record["raw"]), lang=record.get("lang"),
        spoiler=as_str(record.get("spoiler")), reply_to_id=record.get("reply_to_id"),
        reply_to_author=base.reply_to_author if base is not None else None,
        quote_of=record.get("quote_of"), hashtags=_strings(record, "hashtags"),
        mentions=_strings(record, "mentions"), links=_strings(record, "links"),
        media=tuple(Media(as_str(m.get("kind")), as_str(m.get("url")),
                          as_str(m.get("alt_text"))) for m in media),
        boosts=tuple(b for b in base.boosts if b.booster.handle in boosters)
        if base is not None else (),
        edited_at=parse_utc(record.get("edited_at")),
        sensitive=base.sensitive if base is not None else False,
        reply_count=base.reply_count if base is not None else None,
        boost_count=base.boost_count if base is not None else None,
        like_count=base.like_count if base is not None else None,
    )
    labels = _strings(record, "topics") + _strings(record, "facets")
    return post, _strings(record, "sources"), labels
