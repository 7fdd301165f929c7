"""The demo's health news feeds: data/demo/feeds.toml served as RSS 2.0 and Atom 1.0.

GET ``/feeds/<id>.xml`` answers anonymously (feeds are public documents) with the whole feed
and a strong ``ETag`` (a digest of the body); the demo server answers a matching
``If-None-Match`` with ``304 Not Modified``, so the demo's second pass over a feed is one
empty answer, as on a well-behaved web server.

Documents are built with ElementTree, never by pasting text into markup: titles, summaries
and URLs are escaped by the serializer, and an entry's HTML is carried as escaped text (RSS
``description``, Atom ``content type="html"``), as real feeds carry it. Entry times are
`ago` minutes before the demo's "now" (the samples' clock, rounded to the minute like the
posts), so feed entries interleave with the Mastodon, X and Bluesky posts; the body is built
once per server, so every answer has the same ETag.
"""

from __future__ import annotations

import hashlib
import html
import tomllib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.etree import ElementTree as ET

from aggregator.demo.samples import DATA, Json
from aggregator.demo.server import Answer

PREFIX = "/feeds/"
ATOM = "http://www.w3.org/2005/Atom"
XML = "http://www.w3.org/XML/1998/namespace"
CONTENT_TYPES = {"rss": "application/rss+xml; charset=utf-8",
                 "atom": "application/atom+xml; charset=utf-8"}


def load_feeds() -> list[Json]:
    """feeds.toml: the hand-written feeds and their entries."""
    with (DATA / "feeds.toml").open("rb") as fh:
        return list(tomllib.load(fh)["feeds"])


def feed_path(feed: Json) -> str:
    return f"{PREFIX}{feed['id']}.xml"


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = text
    return element


def _serialize(root: ET.Element) -> bytes:
    """The document as UTF-8 with its XML declaration; the serializer escapes every text."""
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body


def _rfc3339(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _entries(feed: Json, now: datetime) -> list[tuple[datetime, Json]]:
    """(published, entry), newest first as feeds list them."""
    dated = [(now - timedelta(minutes=int(e["ago"])), e) for e in feed["entries"]]
    return sorted(dated, key=lambda pair: pair[0], reverse=True)


def _as_html(entry: Json) -> str:
    """The entry's body as HTML: its own HTML, or its plain summary escaped into a paragraph
    (an RSS description is always read as HTML, so plain text must be escaped once first)."""
    if "html" in entry:
        return str(entry["html"])
    return f"<p>{html.escape(str(entry['summary']), quote=False)}</p>"


def rss_document(feed: Json, now: datetime, self_url: str) -> bytes:
    # namespaces declared by the root itself (ElementTree's prefix registry is global)
    rss = ET.Element("rss", {"version": "2.0", "xmlns:atom": ATOM})
    channel = _sub(rss, "channel")
    _sub(channel, "title", feed["title"])
    _sub(channel, "link", feed["link"])
    _sub(channel, "description", feed["description"])
    _sub(channel, "language", "en")
    entries = _entries(feed, now)
    _sub(channel, "lastBuildDate", format_datetime(entries[0][0], usegmt=True))
    _sub(channel, "ttl", "60")
    _sub(channel, "atom:link", href=self_url, rel="self", type=CONTENT_TYPES["rss"])
    for published, entry in entries:
        item = _sub(channel, "item")
        _sub(item, "title", entry["title"])
        _sub(item, "link", entry["link"])
        _sub(item, "guid", entry["id"], isPermaLink="true")
        _sub(item, "pubDate", format_datetime(published, usegmt=True))
        _sub(item, "description", _as_html(entry))
        for category in entry.get("categories", ()):
            _sub(item, "category", category)
        if enclosure := entry.get("enclosure"):
            _sub(item, "enclosure", url=enclosure["url"], type=enclosure["type"],
                 length=str(enclosure["length"]))
    return _serialize(rss)


def atom_document(feed: Json, now: datetime, self_url: str) -> bytes:
    a = _sub  # Atom's elements are in the default namespace that the root declares
    root = ET.Element("feed", {"xmlns": ATOM, f"{{{XML}}}lang": "en"})
    entries = _entries(feed, now)
    a(root, "id", feed["link"])  # the site's address: the same whichever port serves it
    a(root, "title", feed["title"])
    a(root, "subtitle", feed["description"])
    a(root, "link", href=feed["link"], rel="alternate", type="text/html")
    a(root, "link", href=self_url, rel="self", type=CONTENT_TYPES["atom"])
    a(root, "updated", _rfc3339(entries[0][0]))
    a(a(root, "author"), "name", feed["author"])
    for published, entry in entries:
        item = a(root, "entry")
        a(item, "id", entry["id"])
        a(item, "title", entry["title"], type="text")
        a(item, "link", href=entry["link"], rel="alternate", type="text/html")
        a(item, "published", _rfc3339(published))
        a(item, "updated", _rfc3339(published))
        if "author" in entry:
            a(a(item, "author"), "name", entry["author"])
        for category in entry.get("categories", ()):
            a(item, "category", term=category)
        if enclosure := entry.get("enclosure"):
            a(item, "link", href=enclosure["url"], rel="enclosure", type=enclosure["type"],
              length=str(enclosure["length"]))
        if "html" in entry:
            a(item, "content", _as_html(entry), type="html")
        else:
            a(item, "summary", entry["summary"], type="text")
    return _serialize(root)


DOCUMENTS = {"rss": rss_document, "atom": atom_document}


class FeedSamples:
    """The demo's feeds at /feeds/<id>.xml, each with its ETag; nothing held back."""

    requires_token = False  # public documents: the feed account logs in nowhere

    def __init__(self, now: datetime) -> None:
        self.now = now.astimezone(UTC).replace(second=0, microsecond=0)
        self.feeds = {feed_path(f): f for f in load_feeds()}
        self._bodies: dict[str, bytes] = {}

    def handles(self, path: str) -> bool:
        return path.startswith(PREFIX)

    def answer(self, path: str, query: dict[str, str], base_url: str) -> Answer:
        feed = self.feeds.get(path)
        if feed is None:
            return Answer(404, b"Not Found\n", {"Content-Type": "text/plain; charset=utf-8"})
        body = self._bodies.get(path)
        if body is None:
            body = self._bodies[path] = DOCUMENTS[feed["format"]](feed, self.now,
                                                                  base_url + path)
        return Answer(200, body, {"Content-Type": CONTENT_TYPES[feed["format"]],
                                  "ETag": etag_of(body), "Cache-Control": "max-age=3600"})

    def publish_later(self) -> int:
        return 0
