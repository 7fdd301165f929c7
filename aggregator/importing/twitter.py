"""X inputs -> the X collector's own normalizer (`collectors.twitter.normalize`).

There is one normalizer for X, written for API v2. The older shapes are adapted to v2
here, field by field, and then go through it, so an imported tweet reads exactly like a
collected one:

* twarc2 JSONL: one v2 response per line (``data`` + ``includes``), or "flattened" lines
  (``twarc2 flatten``): one tweet per line with its expansions inlined (``author``,
  ``referenced_tweets[].{...tweet}``, ``attachments.media``);
* twarc 1 JSONL: one v1.1 tweet per line (``id_str``, ``full_text``/``text``,
  ``extended_tweet`` on streamed tweets, ``user``, ``retweeted_status``, ``quoted_status``);
* X account archives: v1.1-shaped tweets in ``{"tweet": {...}}`` wrappers, without ``user``
  (the account is the archive's owner), counts as strings, long posts' text kept apart
  (see `xarchive`).

Reference: https://developer.x.com/en/docs/twitter-api/migrate/data-formats/standard-v1-1-to-v2

`raw` keeps what the input said: the v2 response's tweet with the includes it used, the
v1.1 tweet as read, or the archive item (plus the owner's account and the long text).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import orjson

from aggregator.collectors.jsonval import as_str
from aggregator.collectors.twitter.entities import Includes, JsonDict, TweetPage
from aggregator.collectors.twitter.normalize import normalize_tweet
from aggregator.models import Post

_V1_TIME = "%a %b %d %H:%M:%S %z %Y"  # "Wed Oct 10 20:19:24 +0000 2018"


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _obj(value: Any) -> JsonDict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def v1_time(value: Any) -> str | None:
    """A v1.1 ``created_at`` as the ISO 8601 text v2 sends; None if it does not parse."""
    try:
        parsed = datetime.strptime(as_str(value), _V1_TIME)
    except ValueError:
        return None
    return parsed.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _count(value: Any) -> Any:
    # archives write counts as strings ("3"): v2 sends numbers
    return int(value) if isinstance(value, str) and value.isdigit() else value


def _user_v2(user: JsonDict) -> JsonDict:
    out = {"id": as_str(user.get("id_str") or user.get("id")),
           "username": as_str(user.get("screen_name")), "name": as_str(user.get("name"))}
    if user.get("description"):
        out["description"] = as_str(user.get("description"))
    return out


def _media_key(media: JsonDict) -> str:
    return "3_" + as_str(media.get("id_str") or media.get("id") or media.get("media_url_https"))


def _ensure_v1_text(tweet: JsonDict) -> JsonDict:
    """A streamed tweet keeps its long text and entities in ``extended_tweet``."""
    extended = tweet.get("extended_tweet")
    if isinstance(extended, dict):
        tweet = {**tweet, "full_text": extended.get("full_text", ""),
                 "entities": extended.get("entities", tweet.get("entities")),
                 "extended_entities": extended.get("extended_entities",
                                                   tweet.get("extended_entities"))}
    return tweet


def v1_to_v2(tweet: JsonDict, includes: dict[str, list[JsonDict]]) -> JsonDict:
    """One v1.1 tweet as the v2 tweet object; its user, retweeted and quoted tweets and
    media go into `includes` (lists of v2 objects, as a response's ``includes``)."""
    tweet = _ensure_v1_text(tweet)
    ents = _obj(tweet.get("entities"))
    media = _list(_obj(tweet.get("extended_entities")).get("media")) or _list(ents.get("media"))
    urls = [{"url": as_str(u.get("url")), "expanded_url": as_str(u.get("expanded_url"))}
            for u in _list(ents.get("urls")) if isinstance(u, dict)]
    keys = []
    for m in media:
        if not isinstance(m, dict):
            continue
        key = _media_key(m)
        keys.append(key)
        includes.setdefault("media", []).append({
            "media_key": key, "type": as_str(m.get("type")),
            "url": as_str(m.get("media_url_https") or m.get("media_url")),
            "alt_text": as_str(m.get("ext_alt_text"))})
        short = as_str(m.get("url"))
        if short and all(u["url"] != short for u in urls):
            urls.append({"url": short, "expanded_url": as_str(m.get("expanded_url")),
                         "media_key": key})
    user = _obj(tweet.get("user"))
    if user:
        includes.setdefault("users", []).append(_user_v2(user))
    refs = []
    if tweet.get("in_reply_to_status_id_str") or tweet.get("in_reply_to_status_id"):
        refs.append({"type": "replied_to", "id": as_str(
            tweet.get("in_reply_to_status_id_str") or tweet.get("in_reply_to_status_id"))})
    quoted = tweet.get("quoted_status")
    quoted_id = as_str(tweet.get("quoted_status_id_str") or tweet.get("quoted_status_id")
                       or _obj(quoted).get("id_str"))
    if quoted_id:
        refs.append({"type": "quoted", "id": quoted_id})
        if isinstance(quoted, dict):
            includes.setdefault("tweets", []).append(v1_to_v2(quoted, includes))
    original = tweet.get("retweeted_status")
    if isinstance(original, dict):
        refs.append({"type": "retweeted", "id": as_str(original.get("id_str"))})
        includes.setdefault("tweets", []).append(v1_to_v2(original, includes))
    out: JsonDict = {
        "id": as_str(tweet.get("id_str") or tweet.get("id")),
        "text": as_str(tweet.get("full_text") or tweet.get("text")),
        "author_id": as_str(user.get("id_str") or user.get("id")),
        "entities": {
            "urls": urls,
            "hashtags": [{"tag": as_str(h.get("text"))} for h in _list(ents.get("hashtags"))
                         if isinstance(h, dict)],
            "mentions": [{"username": as_str(m.get("screen_name")),
                          "id": as_str(m.get("id_str"))}
                         for m in _list(ents.get("user_mentions")) if isinstance(m, dict)],
        },
        "public_metrics": {k2: _count(tweet.get(k1)) for k1, k2 in (
            ("retweet_count", "retweet_count"), ("reply_count", "reply_count"),
            ("favorite_count", "like_count"), ("quote_count", "quote_count"))
            if tweet.get(k1) is not None},
    }
    created = v1_time(tweet.get("created_at"))
    if created:
        out["created_at"] = created
    for key in ("lang", "possibly_sensitive"):
        if tweet.get(key) is not None:
            out[key] = tweet[key]
    if tweet.get("in_reply_to_user_id_str"):
        out["in_reply_to_user_id"] = as_str(tweet["in_reply_to_user_id_str"])
    if refs:
        out["referenced_tweets"] = refs
    if keys:
        out["attachments"] = {"media_keys": keys}
    return out


def normalize_v1(tweet: JsonDict, raw: str) -> Post:
    """A v1.1 tweet (twarc 1, or an archive's once its owner is set as ``user``) -> Post."""
    includes: dict[str, list[JsonDict]] = {}
    v2 = v1_to_v2(tweet, includes)
    if not v2["id"]:
        raise ValueError("a tweet without an id")
    return replace(normalize_tweet(v2, Includes.from_json(includes)), raw=raw)


def _flattened_includes(tweet: JsonDict) -> Includes:
    """`twarc2 flatten` inlines each expansion into the tweet: gather them back."""
    users: list[JsonDict] = []
    tweets: list[JsonDict] = []
    media: list[JsonDict] = []

    def gather(t: JsonDict) -> None:
        for key in ("author", "in_reply_to_user"):
            if isinstance(t.get(key), dict):
                users.append(t[key])
        media.extend(m for m in _list(_obj(t.get("attachments")).get("media"))
                     if isinstance(m, dict))
        for ref in _list(t.get("referenced_tweets")):
            if isinstance(ref, dict) and len(ref) > 2:  # more than {type, id}: inlined
                inner = {k: v for k, v in ref.items() if k != "type"}
                tweets.append(inner)
                gather(inner)

    gather(tweet)
    return Includes.from_json({"users": users, "tweets": tweets, "media": media})


def posts_from_line(value: Any) -> list[Post]:
    """The posts of one twarc line: a v2 response, a flattened v2 tweet or a v1.1 tweet.

    Raises ValueError for a line that is none of them."""
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    if isinstance(value.get("data"), dict):  # a single tweet's lookup, or our stored raw
        return [normalize_tweet(value["data"], Includes.from_json(value.get("includes")))]
    if "data" in value:
        page = TweetPage.from_json(value)
        return [normalize_tweet(t, page.includes) for t in page.data if t.get("id") is not None]
    if "id_str" in value:
        return [normalize_v1(value, dumps(value))]
    if "id" in value and ("text" in value or "author_id" in value):
        return [normalize_tweet(value, _flattened_includes(value))]
    raise ValueError("neither a twarc2 response (data) nor a tweet (id and text)")


def normalize_archive_tweet(item: JsonDict, owner: JsonDict) -> Post:
    """An archive item ``{"tweet": {...}, "noteTweet"?: {...}}`` -> Post. `owner` is the
    account (v1.1 user shape: id_str, screen_name, name, description); the item's long
    text, when the archive has one, replaces the 280-character one."""
    tweet = _obj(item.get("tweet"))
    if not tweet:
        raise ValueError("no 'tweet' object")
    tweet = {**tweet, "user": owner}
    note = _obj(_obj(item.get("noteTweet")).get("core"))
    if note.get("text"):
        tweet["full_text"] = as_str(note["text"])
        tweet["entities"] = {
            "urls": [{"url": as_str(u.get("shortUrl")), "expanded_url":
                      as_str(u.get("expandedUrl"))} for u in _list(note.get("urls"))
                     if isinstance(u, dict)],
            "hashtags": [{"text": as_str(h.get("text"))} for h in _list(note.get("hashtags"))
                         if isinstance(h, dict)],
            "user_mentions": [{"screen_name": as_str(m.get("screenName"))}
                              for m in _list(note.get("mentions")) if isinstance(m, dict)],
            "media": _list(_obj(tweet.get("entities")).get("media")),
        }
    return normalize_v1(tweet, dumps({**item, "account": owner}))


def normalize_raw(raw: Any) -> Post:
    """A stored X post's raw JSON (any of the shapes above) -> Post, for re-imports."""
    raw = _obj(raw)
    if "tweet" in raw:
        return normalize_archive_tweet(raw, _obj(raw.get("account")))
    posts = posts_from_line(raw)
    if len(posts) != 1:
        raise ValueError("not one tweet")
    return posts[0]
