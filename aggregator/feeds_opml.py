"""OPML, the list of feeds every feed reader imports and exports, read and written.

Reading: an OPML file comes from elsewhere (another reader, a colleague, a journal's site),
so it is refused when it declares entities (`aggregator.xmlsafe`) or is larger than
`MAX_BYTES`, and only then parsed with ElementTree (which never fetches anything). Every
``<outline>`` with an ``xmlUrl`` is a feed, at any depth (folders are outlines without one);
the folder path is kept as the feed's category.

Writing: OPML 2.0 built with ElementTree, so titles and URLs are escaped, never spliced.
And `sources_toml` turns feeds into ``[[sources]]`` tables to paste into rounds.toml: the
config file is the user's and is never rewritten.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

from aggregator.errors import AggregatorError
from aggregator.xmlsafe import declares_entities

MAX_BYTES = 5 * 1024 * 1024


class OpmlError(AggregatorError):
    """An OPML file that cannot be read (not XML, not OPML, unsafe, too large)."""


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    title: str
    xml_url: str
    html_url: str = ""
    category: str = ""  # the folder path, "Journals/Cardiology"


def _attr(element: ET.Element, name: str) -> str:
    """An attribute, whatever its case (``xmlUrl``, ``xmlurl``, ``XMLURL`` all occur)."""
    for key, value in element.attrib.items():
        if key.lower() == name.lower():
            return " ".join(value.split())
    return ""


def read_opml(body: bytes, where: str = "OPML") -> list[OpmlFeed]:
    """The feeds of an OPML document, in document order, each URL once."""
    if len(body) > MAX_BYTES:
        raise OpmlError(f"{where}: larger than {MAX_BYTES // (1024 * 1024)} MB")
    if declares_entities(body):
        raise OpmlError(f"{where}: refused: the file declares XML entities")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise OpmlError(f"{where}: not well-formed XML ({exc})") from None
    if root.tag.lower() != "opml" or root.find("body") is None:
        raise OpmlError(f"{where}: not an OPML file (no <opml><body>)")
    feeds: list[OpmlFeed] = []
    seen: set[str] = set()

    def walk(element: ET.Element, path: tuple[str, ...]) -> None:
        for outline in element:
            if outline.tag.lower() != "outline":
                continue
            title = _attr(outline, "title") or _attr(outline, "text")
            url = _attr(outline, "xmlUrl")
            if url and urlsplit(url).scheme in ("http", "https") and url not in seen:
                seen.add(url)
                feeds.append(OpmlFeed(title or url, url, _attr(outline, "htmlUrl"),
                                      "/".join(path)))
            walk(outline, (*path, title) if not url and title else path)

    walk(root.find("body"), ())  # type: ignore[arg-type]  # checked above
    return feeds


def write_opml(feeds: Iterable[OpmlFeed], title: str, now: datetime) -> str:
    """An OPML 2.0 document of `feeds`, grouped in folders by category."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now, usegmt=True)
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for feed in feeds:
        parent = body
        if feed.category:
            parent = folders.get(feed.category) or ET.SubElement(
                body, "outline", text=feed.category, title=feed.category)
            folders[feed.category] = parent
        attrs = {"type": "rss", "text": feed.title, "title": feed.title,
                 "xmlUrl": feed.xml_url}
        if feed.html_url:
            attrs["htmlUrl"] = feed.html_url
        ET.SubElement(parent, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for ch in value:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def source_name(title: str, taken: set[str]) -> str:
    """A short source name from a feed's title, unique among `taken` (which it joins)."""
    base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40].strip("-") or "feed"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def _source_table(name: str, account: str, key: str, value: str) -> str:
    return "\n".join(["[[sources]]", f"name = {_toml_string(name)}",
                      f"account = {_toml_string(account)}",
                      f"{key} = {_toml_string(value)}"]) + "\n"


def sources_toml(feeds: Sequence[OpmlFeed], account: str, taken: set[str],
                 *, with_account: bool) -> str:
    """``[[sources]]`` tables (and the feed account's table when it is not configured)."""
    parts = []
    if with_account:
        parts.append(f"[accounts.{account}]\nnetwork = \"feed\"\n")
    for feed in feeds:
        shown = "".join(c for c in " ".join(feed.title.split()) if c.isprintable())[:80]
        comment = f"# {shown}\n" if shown else ""
        parts.append(comment + _source_table(source_name(feed.title, taken), account, "feed",
                                             feed.xml_url))
    return "\n".join(parts)


def curated_source_toml(list_name: str, account: str, *, with_account: bool) -> str:
    """The ``[[sources]]`` table that collects curated list `list_name`'s voices' feeds
    (and the feed account's table when it is not configured)."""
    head = f"[accounts.{account}]\nnetwork = \"feed\"\n\n" if with_account else ""
    return head + _source_table(f"{list_name} feeds", account, "curated", list_name)
