"""X API v2 tweets (plain dicts + the page's `includes`) -> `aggregator.models.Post`. Pure.

Reference: https://docs.x.com/x-api/fundamentals/data-dictionary

Rules, each for a reason a reader would notice:
* A retweet (``referenced_tweets[].type == "retweeted"``) becomes the ORIGINAL tweet taken
  from ``includes.tweets``, with one `Boost` (retweeter, retweet id, retweet time): the
  retweet's own text is truncated ("RT @user: …") and says nothing new. When the original
  is missing (deleted, protected, expansion not granted), the retweet is kept as itself.
* ``text`` is HTML-escaped by X (``&amp;``, ``&lt;``): unescaped once. ``note_tweet.text``
  (long posts, with its own entities) wins over the 280-character ``text``.
* ``t.co`` links are replaced by their ``expanded_url``; links to the tweet's own media are
  dropped from the text when the media is attached (X shows the media, not the link).
  `Post.links` holds external links only: not the tweet's media, not the quoted tweet.
* Ids are strings and stay strings (they exceed 2^53).
* ``lang == "und"`` (undetermined) becomes None, like Mastodon's null language.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from html import unescape

from aggregator.collectors.jsonval import as_str, opt_count, opt_str, time_from_snowflake
from aggregator.collectors.twitter.entities import Includes, JsonDict, TweetPage
from aggregator.models import Author, Boost, Media, Post, parse_utc

_SNOWFLAKE_EPOCH_MS = 1288834974657  # X snowflake ids carry ms since this instant
_MEDIA_KINDS = {"photo": "image", "video": "video", "animated_gif": "gifv"}
# X links a tweet's own media as https://x.com/<user>/status/<id>/photo/1 (or twitter.com).
_STATUS_URL = re.compile(
    r"^https?://(?:www\.|mobile\.)?(?:twitter|x)\.com/(?:[^/]+|i/web)/status/(\d+)(/(?:photo|video)/\d+)?",
    re.IGNORECASE,
)
_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)


def time_from_id(tweet_id: str) -> datetime:
    """Creation time encoded in a snowflake id; used when `created_at` was not sent."""
    return time_from_snowflake(tweet_id, shift=22, epoch_ms=_SNOWFLAKE_EPOCH_MS)


def normalize_user(user: JsonDict | None, user_id: str = "") -> Author:
    """A v2 user object -> Author (key = user id, handle = username). A missing user
    (not expanded, suspended) gives an Author known only by its id."""
    user = user if isinstance(user, dict) else {}
    username = as_str(user.get("username"))
    key = as_str(user.get("id")) or user_id
    return Author(
        network="twitter",
        key=key,
        handle=username or key,
        display_name=as_str(user.get("name")),
        url=f"https://x.com/{username}" if username else "",
        bio=unescape(as_str(user.get("description"))),
        remote_id=key,
    )


def _referenced(tweet: JsonDict, kind: str) -> str | None:
    for ref in tweet.get("referenced_tweets") or ():
        if isinstance(ref, dict) and ref.get("type") == kind and ref.get("id") is not None:
            return str(ref["id"])
    return None


def _entities(tweet: JsonDict) -> tuple[str, JsonDict]:
    """The text to show and the entities that index it (note_tweet wins when present)."""
    note = tweet.get("note_tweet")
    if isinstance(note, dict) and isinstance(note.get("text"), str) and note["text"]:
        ents = note.get("entities")
        return note["text"], ents if isinstance(ents, dict) else {}
    ents = tweet.get("entities")
    return as_str(tweet.get("text")), ents if isinstance(ents, dict) else {}


def _media(tweet: JsonDict, includes: Includes) -> tuple[Media, ...]:
    attachments = tweet.get("attachments")
    keys = attachments.get("media_keys") if isinstance(attachments, dict) else None
    media = []
    for key in keys if isinstance(keys, list) else ():
        item = includes.media.get(str(key))
        if item is None:
            continue
        url = as_str(item.get("url")) or as_str(item.get("preview_image_url"))
        kind = _MEDIA_KINDS.get(as_str(item.get("type")), "unknown")
        media.append(Media(kind=kind, url=url, alt_text=as_str(item.get("alt_text"))))
    return tuple(media)


def _text_and_links(tweet: JsonDict, quote_of: str | None,
                    has_media: bool) -> tuple[str, tuple[str, ...]]:
    """Text with t.co links expanded, and the external links. Media links vanish from the
    text only when the media itself was received (`has_media`); otherwise the expanded
    link is the reader's only way to it."""
    text, ents = _entities(tweet)
    text = unescape(text)  # before expanding: expanded urls are not escaped
    tweet_id = as_str(tweet.get("id"))
    links: list[str] = []
    for item in ents.get("urls") or ():
        if not isinstance(item, dict):
            continue
        short = as_str(item.get("url"))
        expanded = as_str(item.get("expanded_url")) or short
        status = _STATUS_URL.match(expanded)
        own_media = item.get("media_key") is not None or bool(
            status and status.group(1) == tweet_id and status.group(2))
        if short:
            text = text.replace(short, "" if own_media and has_media else expanded)
        is_quote = bool(status and quote_of is not None and status.group(1) == quote_of)
        if expanded and not own_media and not is_quote and expanded not in links:
            links.append(expanded)
    if has_media:
        text = _TRAILING_SPACE.sub("", text)
    return text.strip(), tuple(links)


def _hashtags(tweet: JsonDict) -> tuple[str, ...]:
    _, ents = _entities(tweet)
    tags: list[str] = []
    seen: set[str] = set()
    for item in ents.get("hashtags") or ():
        tag = as_str(item.get("tag")) if isinstance(item, dict) else ""
        if tag and tag.casefold() not in seen:  # keep the author's case, once per tag
            seen.add(tag.casefold())
            tags.append(tag)
    return tuple(tags)


def _mentions(tweet: JsonDict) -> tuple[str, ...]:
    _, ents = _entities(tweet)
    names = [as_str(m.get("username")) for m in ents.get("mentions") or () if isinstance(m, dict)]
    return tuple(dict.fromkeys(n for n in names if n))


def dump_raw(tweet: JsonDict, includes: Includes, original: JsonDict | None = None) -> str:
    """The tweet plus exactly the `includes` objects it used, compact, in the API's shape."""
    used: dict[str, list[JsonDict]] = {}
    tweets = [original] if original is not None else []
    users = []
    for t in [tweet, *tweets]:
        user = includes.users.get(as_str(t.get("author_id")))
        if user is not None and user not in users:
            users.append(user)
    for t in [tweet, *tweets]:
        for ref in t.get("referenced_tweets") or ():
            ref_id = as_str(ref.get("id")) if isinstance(ref, dict) else ""
            ref_tweet = includes.tweets.get(ref_id) if ref_id else None
            if ref_tweet is not None and ref_tweet not in tweets:
                tweets.append(ref_tweet)
    media = [m for t in [tweet, *tweets]
             for k in ((t.get("attachments") or {}).get("media_keys") or ())
             if (m := includes.media.get(str(k))) is not None]
    for name, items in (("users", users), ("tweets", tweets), ("media", media)):
        if items:
            used[name] = items
    body: JsonDict = {"data": tweet, "includes": used} if used else {"data": tweet}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _post(tweet: JsonDict, includes: Includes, raw: str, boosts: tuple[Boost, ...]) -> Post:
    tweet_id = as_str(tweet.get("id"))
    author = normalize_user(includes.users.get(as_str(tweet.get("author_id"))),
                            as_str(tweet.get("author_id")))
    quote_of = _referenced(tweet, "quoted")
    media = _media(tweet, includes)
    text, links = _text_and_links(tweet, quote_of, bool(media))
    handle = author.handle if author.url else "i/web"  # x.com/i/web/status/<id> works for all
    lang = opt_str(tweet.get("lang"))
    metrics = tweet.get("public_metrics")
    metrics = metrics if isinstance(metrics, dict) else {}
    return Post(
        network="twitter",
        key=tweet_id,
        remote_id=tweet_id,
        url=f"https://x.com/{handle}/status/{tweet_id}",
        author=author,
        created_at=parse_utc(tweet.get("created_at")) or time_from_id(tweet_id),
        text=text,
        raw=raw,
        lang=None if lang == "und" else lang,
        reply_to_id=_referenced(tweet, "replied_to"),
        reply_to_author=opt_str(tweet.get("in_reply_to_user_id")),
        quote_of=quote_of,
        hashtags=_hashtags(tweet),
        mentions=_mentions(tweet),
        links=links,
        media=media,
        boosts=boosts,
        sensitive=tweet.get("possibly_sensitive") is True,
        reply_count=opt_count(metrics.get("reply_count")),
        boost_count=opt_count(metrics.get("retweet_count"), metrics.get("quote_count")),
        like_count=opt_count(metrics.get("like_count")),
    )


def normalize_tweet(tweet: JsonDict, includes: Includes) -> Post:
    """One timeline entry -> Post (a retweet becomes its original with a Boost)."""
    original_id = _referenced(tweet, "retweeted")
    original = includes.tweets.get(original_id) if original_id else None
    raw = dump_raw(tweet, includes, original)
    if original is None:
        return _post(tweet, includes, raw, ())
    retweet_id = as_str(tweet.get("id"))
    boost = Boost(
        booster=normalize_user(includes.users.get(as_str(tweet.get("author_id"))),
                               as_str(tweet.get("author_id"))),
        remote_id=retweet_id,
        created_at=parse_utc(tweet.get("created_at")) or time_from_id(retweet_id),
    )
    return _post(original, includes, raw, (boost,))


def normalize_page(page: TweetPage) -> list[Post]:
    """Every entry of one v2 response page, in the order received (newest first)."""
    return [normalize_tweet(t, page.includes) for t in page.data if t.get("id") is not None]
