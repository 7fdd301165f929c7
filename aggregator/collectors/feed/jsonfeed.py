"""JSON Feed (https://www.jsonfeed.org/, versions 1.0 and 1.1) -> the shape feedparser gives
RSS and Atom, so that `normalize` and the collector read all three the same way. Pure
functions; the body is untrusted data.

* Recognised by its body (a JSON object once leading whitespace is skipped) or a JSON
  ``Content-Type``; read with orjson (which refuses nesting deeper than 1024 levels). The
  size limit is the fetcher's, counted while reading.
* Refused as a whole (`NotJsonFeed`): not JSON, not an object, no ``version`` starting with
  ``https://jsonfeed.org/version/``, ``items`` that is not a list.
* Field by field, a value of the wrong type is treated as absent; an item that is not an
  object is dropped with a warning.
* Mapping: ``title``, ``home_page_url`` (link), ``description`` (subtitle), ``language``;
  items: ``id``, ``url`` (else ``external_url``), ``title``, ``content_html`` (else
  ``content_text``) as content, ``summary``, ``date_published``/``date_modified`` (RFC 3339)
  as ``published``/``updated`` with their UTC ``*_parsed`` tuples, ``authors`` (1.1) or
  ``author`` (1.0), ``tags`` as categories, ``attachments`` as enclosures.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import orjson

VERSION_PREFIX = "https://jsonfeed.org/version/"
_JSON_TYPES = ("application/feed+json", "application/json")


class NotJsonFeed(ValueError):
    """The body is not a JSON Feed we can read; the message says why."""


def looks_like_json(body: bytes, content_type: str) -> bool:
    """True when the body is to be read as JSON: it starts with ``{`` (after whitespace and
    a UTF-8 byte order mark), or the server says JSON and it does not start like XML."""
    start = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start == b"{":
        return True
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind in _JSON_TYPES and start != b"<"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _when(value: Any) -> tuple[str, time.struct_time | None]:
    """An RFC 3339 date as (the text, its UTC time tuple); unreadable dates are absent."""
    text = _text(value).strip()
    if not text:
        return "", None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text, None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return text, moment.astimezone(UTC).timetuple()


def _authors(node: dict[str, Any]) -> list[dict[str, str]]:
    """1.1's ``authors`` list, else 1.0's single ``author``; only objects with a name or url."""
    raw = node.get("authors")
    if not isinstance(raw, list):
        raw = [node["author"]] if isinstance(node.get("author"), dict) else []
    out = []
    for person in raw:
        if isinstance(person, dict):
            entry = {k: v for k in ("name", "url") if (v := _text(person.get(k)).strip())}
            if entry:
                out.append({"name": entry.get("name", ""), "href": entry.get("url", "")})
    return out


def _item(item: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    ident = item.get("id")
    if isinstance(ident, str | int) and not isinstance(ident, bool):
        entry["id"] = str(ident)  # 1.0 allowed numbers; 1.1 says a string
    link = _text(item.get("url")) or _text(item.get("external_url"))
    if link:
        entry["link"] = link
    if title := _text(item.get("title")):
        entry["title"] = title
        entry["title_detail"] = {"type": "text/plain", "value": title}
    html, plain = _text(item.get("content_html")), _text(item.get("content_text"))
    if html or plain:
        entry["content"] = [{"value": html or plain, "type": "text/html" if html
                             else "text/plain"}]
    if summary := _text(item.get("summary")):
        entry["summary"] = summary
        entry["summary_detail"] = {"type": "text/plain", "value": summary}
    for ours, theirs in (("published", "date_published"), ("updated", "date_modified")):
        text, parsed = _when(item.get(theirs))
        if text:
            entry[ours] = text
            entry[ours + "_parsed"] = parsed
    if authors := _authors(item):
        entry["authors"] = authors
        entry["author"] = authors[0]["name"]
        entry["author_detail"] = authors[0]
    tags = item.get("tags")
    if isinstance(tags, list):
        entry["tags"] = [{"term": t} for t in tags if isinstance(t, str)]
    attachments = item.get("attachments")
    if isinstance(attachments, list):
        entry["enclosures"] = [
            {"href": _text(a.get("url")), "type": _text(a.get("mime_type"))}
            for a in attachments if isinstance(a, dict) and _text(a.get("url"))]
    return entry


def parse(body: bytes) -> tuple[dict[str, Any], list[str]]:
    """The document as feedparser would shape it (``version``, ``feed``, ``entries``), and
    warnings about what was dropped."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise NotJsonFeed(f"not valid JSON: {' '.join(str(exc).split())[:120]}") from exc
    if not isinstance(doc, dict):
        raise NotJsonFeed(f"a JSON {type(doc).__name__}, not a JSON Feed object")
    version = _text(doc.get("version"))
    if not version.startswith(VERSION_PREFIX):
        raise NotJsonFeed("JSON without a JSON Feed version")
    items = doc.get("items", [])
    if not isinstance(items, list):
        raise NotJsonFeed("its items are not a list")
    feed: dict[str, Any] = {}
    for ours, theirs in (("title", "title"), ("link", "home_page_url"),
                         ("subtitle", "description"), ("language", "language")):
        if value := _text(doc.get(theirs)):
            feed[ours] = value
    if authors := _authors(doc):
        feed["authors"] = authors
        feed["author"] = authors[0]["name"]
    entries = [_item(item) for item in items if isinstance(item, dict)]
    warnings = []
    if len(entries) < len(items):
        warnings.append(f"{len(items) - len(entries)} JSON Feed items were not objects; "
                        "skipped")
    name = "json" + version.removeprefix(VERSION_PREFIX).replace(".", "")[:8]
    return {"version": name, "feed": feed, "entries": entries, "bozo": False}, warnings
