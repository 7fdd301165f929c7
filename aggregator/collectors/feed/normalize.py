"""Feed entries (feedparser's parsed dicts) -> `aggregator.models.Post`. Pure functions.

Everything here is untrusted data from strangers: any key may be missing, dates may be
absent, wrong or in the future, HTML is only ever converted to plain text (the same rules
as Mastodon posts: `aggregator.collectors.html`).

* **key**: the entry's id (RSS guid, Atom id), else its link, else a sha256 of its title
  and date. An id without a scheme (``<guid isPermaLink="false">42</guid>``) is only unique
  within its feed, so it is qualified with the feed's URL (``URL#42``); a key longer than
  the column is hashed.
* **author**: the entry's first author when it names one, else the feed itself (an `Author`
  keyed by the feed's URL, displayed with the feed's title). feedparser's ``author`` is the
  *last* ``<author>`` of an Atom entry (a paper's last author), so the ``authors`` list,
  in document order, comes first.
* **text**: the title, a blank line, then the content (or the summary) as plain text.
  Titles typed HTML (Atom ``type="html"``; feedparser keeps them as markup, entities
  escaped: ``&amp;``) are converted to plain text like the content; the feed's own title too.
* **created_at**: published, else updated, else the fetch time (first sight); never after
  the fetch time. **edited_at**: updated when it is later than published (Atom's
  ``updated``; RSS with ``atom:updated``), so a changed entry is stored as an edit with the
  earlier version kept; an entry changed without a new date cannot be told apart.
"""

from __future__ import annotations

import calendar
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from aggregator.collectors.html import html_to_text
from aggregator.models import Author, Media, Network, Post

NETWORK: Network = "feed"
MAX_KEY = 1024  # posts.key
MAX_AUTHOR_KEY = 512  # accounts.key
MAX_REMOTE_ID = 64  # posts.remote_id
_HTML = ("text/html", "application/xhtml+xml", "html", "xhtml")


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _hashed(text: str, limit: int) -> str:
    return text if len(text) <= limit else "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _own(entry: Mapping[str, Any], key: str) -> Any:
    """`entry[key]` as the document had it: feedparser's dict answers a missing
    ``updated_parsed`` with ``published_parsed`` (deprecated), which would hide edits."""
    return dict.get(entry, key) if isinstance(entry, dict) else entry.get(key)


def parsed_time(value: Any) -> datetime | None:
    """feedparser's ``*_parsed`` (a UTC `time.struct_time`) as an aware datetime."""
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC) if value else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """What every entry of one document shares: where it came from and who publishes it."""

    url: str  # the configured feed URL: identifies the feed
    author: Author
    lang: str | None

    @classmethod
    def of(cls, url: str, feed: Mapping[str, Any]) -> FeedInfo:
        title = _title(feed) or (urlsplit(url).hostname or url)
        site = _str(feed.get("link")) or url
        author = Author(NETWORK, _hashed(url, MAX_AUTHOR_KEY), _handle(url), title, url=site,
                        bio=html_to_text(_str(feed.get("subtitle"))).text)
        return cls(url, author, _str(feed.get("language"))[:16] or None)


def _title(node: Mapping[str, Any]) -> str:
    """The node's title as one line of plain text (HTML-typed titles converted)."""
    title = _str(node.get("title"))
    detail = node.get("title_detail")
    if isinstance(detail, Mapping) and _str(detail.get("type")).lower() in _HTML:
        title = html_to_text(title).text
    return " ".join(title.split())


def _handle(url: str) -> str:
    parts = urlsplit(url)
    return (parts.hostname or "") + parts.path.rstrip("/")


def entry_key(entry: Mapping[str, Any], feed_url: str) -> str:
    ident = _str(entry.get("id")) or _str(entry.get("link"))
    if not ident:
        when = _str(_own(entry, "published")) or _str(_own(entry, "updated"))
        seed = f"{feed_url}\n{_str(entry.get('title'))}\n{when}"
        return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()
    if ":" not in ident:  # "42", "post-17": unique within its feed only
        ident = f"{feed_url}#{ident}"
    return _hashed(ident, MAX_KEY)


def _body(entry: Mapping[str, Any]) -> tuple[str, str]:
    """(value, type) of the entry's fullest text: content, else summary."""
    for item in entry.get("content") or ():
        if isinstance(item, Mapping) and _str(item.get("value")):
            return str(item["value"]), _str(item.get("type"))
    detail = entry.get("summary_detail")
    kind = _str(detail.get("type")) if isinstance(detail, Mapping) else "text/html"
    return _str(entry.get("summary")), kind


def _media(entry: Mapping[str, Any]) -> tuple[Media, ...]:
    out = []
    for enclosure in entry.get("enclosures") or ():
        if not isinstance(enclosure, Mapping):
            continue
        href = _str(enclosure.get("href")) or _str(enclosure.get("url"))
        if urlsplit(href).scheme not in ("http", "https"):
            continue
        mime = _str(enclosure.get("type")).lower()
        kind = next((k for k in ("image", "video", "audio") if mime.startswith(k + "/")),
                    "unknown")
        out.append(Media(kind, href))
    return tuple(out)


def _tags(entry: Mapping[str, Any]) -> tuple[str, ...]:
    tags: list[str] = []
    for tag in entry.get("tags") or ():
        if isinstance(tag, Mapping):
            term = " ".join((_str(tag.get("term")) or _str(tag.get("label"))).split())
            term = term.lstrip("#")
            if term and term not in tags:
                tags.append(term[:100])
    return tuple(tags)


def _author(entry: Mapping[str, Any], info: FeedInfo) -> Author:
    authors = entry.get("authors")
    first = next((a for a in authors if isinstance(a, Mapping) and _str(a.get("name"))),
                 None) if isinstance(authors, list) else None
    detail = first if first is not None else entry.get("author_detail")
    name = " ".join(_str(first.get("name") if first is not None else entry.get("author"))
                    .split())
    if not name or name == info.author.display_name:
        return info.author
    href = _str(detail.get("href")) if isinstance(detail, Mapping) else ""
    return Author(NETWORK, _hashed(f"{info.url}#author={name}", MAX_AUTHOR_KEY), name[:200],
                  name[:200], url=href or info.author.url)


def _raw(entry: Mapping[str, Any]) -> str:
    """The entry as feedparser read it (its ``*_parsed`` tuples left out), for the archive."""
    kept = {k: v for k, v in entry.items() if not k.endswith("_parsed")}
    return json.dumps(kept, ensure_ascii=False, default=str, sort_keys=True)


def normalize_entry(entry: Mapping[str, Any], info: FeedInfo, *, seen_at: datetime) -> Post:
    """One entry as a post. `seen_at` is when the document was fetched (or, for entries
    without a date, a moment just before it that keeps the document's order)."""
    key = entry_key(entry, info.url)
    published = parsed_time(_own(entry, "published_parsed"))
    updated = parsed_time(_own(entry, "updated_parsed"))
    created = min(published or updated or seen_at, seen_at)
    edited = updated if updated is not None and (published is None or updated > published) \
        else None
    if edited is not None:
        edited = min(edited, seen_at)
    title = _title(entry)
    value, kind = _body(entry)
    if kind.lower() in _HTML or kind == "":
        rendered = html_to_text(value)
        text, links = rendered.text, rendered.links
    else:
        text, links = value.strip(), []
    link = _str(entry.get("link"))
    content_lang = next((_str(c.get("language")) for c in entry.get("content") or ()
                         if isinstance(c, Mapping) and _str(c.get("language"))), "")
    return Post(
        network=NETWORK, key=key, remote_id=_hashed(key, MAX_REMOTE_ID)[:MAX_REMOTE_ID],
        url=link if urlsplit(link).scheme in ("http", "https") else "",
        author=_author(entry, info), created_at=created,
        text="\n\n".join(part for part in (title, text) if part),
        raw=_raw(entry), lang=content_lang[:16] or info.lang, hashtags=_tags(entry),
        links=tuple(u for u in links if u != link), media=_media(entry), edited_at=edited,
    )
