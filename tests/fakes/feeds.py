"""A loopback feed server: real health feeds (tests/data/feeds, see PROVENANCE.md) and
synthetic documents, served the way real web servers do it.

Real servers differ from our assumptions, and so does this one: some documents answer
conditional requests by ETag (strong or weak), some only by Last-Modified, some ignore
them (always 200 with the same body); bodies may be gzipped, mislabelled (a wrong charset),
broken, hostile (entities), moved (301/308/302) or repeat guids.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from tests.fakes.server import Reply, Request, serve

DATA = Path(__file__).resolve().parents[1] / "data" / "feeds"
RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
JSON_FEED = "application/feed+json"
BASE_DATE = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)  # before ManualClock's start


def data(name: str) -> bytes:
    return (DATA / name).read_bytes()


@dataclass
class Doc:
    body: bytes
    content_type: str = RSS
    etag: str | None = None  # sent, and matched against If-None-Match
    last_modified: str | None = None  # sent, and matched against If-Modified-Since
    conditional: bool = True  # False: ignores conditional requests (always 200)
    gzip: bool = False


def rss(title: str, items: list[dict[str, str]], *, link: str = "https://example.org/") -> bytes:
    """A small RSS 2.0 document; item keys are element names (guid, title, link,
    pubDate, description, category, ...)."""
    parts = [f"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" "
             f"xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel><title>{escape(title)}"
             f"</title><link>{escape(link)}</link><description>test</description>"]
    for item in items:
        parts.append("<item>" + "".join(f"<{k}>{escape(v)}</{k.split(' ')[0]}>"
                                        for k, v in item.items()) + "</item>")
    parts.append("</channel></rss>\n")
    return "".join(parts).encode()


def rfc822(when: datetime) -> str:
    return format_datetime(when, usegmt=True)


class FeedsFake:
    """Documents by path, redirects by path; conditional GET as each document says."""

    def __init__(self) -> None:
        self.docs: dict[str, Doc] = {}
        self.redirects: dict[str, tuple[int, str]] = {}
        self.items: dict[str, list[dict[str, str]]] = {}

    def put(self, path: str, body: bytes, **kw: Any) -> Doc:
        """Serve `body` at `path`; a strong ETag from its hash unless told otherwise."""
        kw.setdefault("etag", '"' + hashlib.sha256(body).hexdigest()[:20] + '"')
        doc = Doc(body, **kw)
        self.docs[path] = doc
        return doc

    def add_items(self, path: str, n: int, *, title: str = "Synthetic health feed") -> set[str]:
        """`n` new entries on top of the synthetic RSS feed at `path`; their keys (guids,
        distinct between paths: two feeds never share an entry)."""
        items = self.items.setdefault(path, [])
        fresh = []
        for _ in range(n):
            i = len(items) + len(fresh)
            guid = f"https://example.org{path}/posts/{i}"
            fresh.append({"guid": guid, "title": f"Clinical note {i}",
                          "link": guid, "pubDate": rfc822(BASE_DATE + timedelta(minutes=i)),
                          "description": f"<p>Entry {i} about <b>hypertension</b>.</p>"})
        items[:0] = reversed(fresh)  # newest first, as feeds list them
        old = self.docs.get(path)
        self.put(path, rss(title, items), content_type=old.content_type if old else RSS)
        return {f["guid"] for f in fresh}

    def guids(self, path: str) -> set[str]:
        """The keys of every entry the synthetic feed at `path` holds now."""
        return {item["guid"] for item in self.items.get(path, [])}

    def __call__(self, req: Request) -> Reply:
        if req.path in self.redirects:
            status, target = self.redirects[req.path]
            return Reply(status, b"moved", {"Location": target})
        doc = self.docs.get(req.path)
        if doc is None:
            return Reply(404, b"<html><body>Not Found</body></html>",
                         {"Content-Type": "text/html"})
        headers = {"Content-Type": doc.content_type}
        if doc.etag:
            headers["ETag"] = doc.etag
        if doc.last_modified:
            headers["Last-Modified"] = doc.last_modified
        if doc.conditional:
            match = req.headers.get("if-none-match")
            since = req.headers.get("if-modified-since")
            if (match is not None and doc.etag and match == doc.etag) or (
                    match is None and since is not None and since == doc.last_modified):
                return Reply(304, b"", headers)
        body = doc.body
        if doc.gzip and "gzip" in req.headers.get("accept-encoding", ""):
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        return Reply(200, body, headers)


CONTRACT_PATH = "/feeds/contract.xml"


def contract_harness(clock: Any, make: Any) -> Iterator[Any]:
    """The contract suite's harness for feeds: `make` is its Harness class."""
    from aggregator.models import Target
    from aggregator.settings import AccountSettings

    fake = FeedsFake()
    fake.add_items(CONTRACT_PATH, 0)
    for server in serve(fake):
        yield make("feed", AccountSettings("feeds", "feed", ""), {}, clock, server,
                   Target("feed", server.base_url + CONTRACT_PATH),
                   Target("feed", server.base_url + "/feeds/missing.xml"),
                   lambda n: fake.add_items(CONTRACT_PATH, n), CONTRACT_PATH)
