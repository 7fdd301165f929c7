"""Mastodon status JSON (plain dicts) -> `aggregator.models.Post`. Pure functions.

API reference: https://docs.joinmastodon.org/entities/Status/

Everything here treats the input as untrusted data from strangers: keys may be missing
(older servers, remote statuses, anonymous reads), values may be null, and the HTML in
`content` is only ever converted to plain text, never passed on as markup.

HTML to text is a precompiled-regex tokenizer rather than html.parser: a timeline status is
converted in a few microseconds, which the storage benchmark (>= 20k posts/s end to end)
needs. It renders what Mastodon's web UI shows:

* ``<p>`` paragraphs are separated by a blank line, ``<br>`` is a newline;
* ``<span class="invisible">`` is dropped and ``<span class="ellipsis">`` gets a trailing
  "…", so a long link reads ``soundcloud.com/wakarangirl/pop…``;
* mentions and hashtags keep their visible text (``@user``, ``#Tag``);
* ``.quote-inline`` ("RE: <link>") is hidden when the status carries a Mastodon 4.5 quote,
  as the web UI does (the quote is recorded in ``Post.quote_of`` instead);
* ``<script>``/``<style>`` (never sent by Mastodon, possible from other servers) vanish.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import orjson

from aggregator.models import Author, Boost, Media, Post, parse_utc

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# One token per match: a comment, a tag (group 1: "/" for a closing tag, 2: name,
# 3: attributes), or a run of text (group 4). A stray "<" is text.
_TOKEN = re.compile(r"<!--.*?-->|<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>|([^<]+|<)", re.DOTALL)
_CLASS = re.compile(r"""\bclass\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_BLOCKS = frozenset(
    {"p", "blockquote", "pre", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "div"}
)
_DROP = frozenset({"script", "style", "template", "iframe", "object"})
_BLANKS = re.compile(r"\n{3,}")

# Kinds of open spans/links tracked on a stack while tokenizing.
_PLAIN, _HIDDEN, _ELLIPSIS = 0, 1, 2


def _attr(pattern: re.Pattern[str], attrs: str) -> str:
    m = pattern.search(attrs)
    if not m:
        return ""
    return unescape(m.group(1) or m.group(2) or m.group(3) or "")


class HtmlText:
    """Plain text of a Mastodon HTML fragment plus what the links in it were."""

    __slots__ = ("hashtags", "links", "text")

    def __init__(self, text: str, links: list[str], hashtags: list[str]) -> None:
        self.text = text
        self.links = links  # external hrefs (not mentions, not hashtags), in order
        self.hashtags = hashtags  # hashtag link texts as written, without '#'


def html_to_text(html: str | None, *, hide_quote_inline: bool = False) -> HtmlText:
    """Render Mastodon HTML as the plain text its web UI shows (see the module docstring)."""
    if not html:
        return HtmlText("", [], [])
    if "<" not in html:  # Pleroma/plain-text servers, bios without markup
        text = unescape(html) if "&" in html else html
        return HtmlText(text.strip(), [], [])
    out: list[str] = []
    links: list[str] = []
    hashtags: list[str] = []
    stack: list[tuple[str, int]] = []  # (tag, kind) of open span/a/p elements
    hidden = 0  # how many open elements hide their content
    drop: str | None = None  # inside <script>/<style>: skip until its closing tag
    tag_text: list[str] | None = None  # collecting a hashtag link's text
    for closing, name, attrs, text in _TOKEN.findall(html):  # tuples: no Match objects
        if text:
            if drop is None and not hidden:
                if "&" in text:
                    text = unescape(text)
                out.append(text)
                if tag_text is not None:
                    tag_text.append(text)
            continue
        if not name:  # comment
            continue
        name = name.lower()
        if drop is not None:
            if closing and name == drop:
                drop = None
            continue
        if name in _DROP:
            if not closing and not attrs.rstrip().endswith("/"):
                drop = name
            continue
        if name == "br":
            if not hidden:
                out.append("\n")
            continue
        if closing:
            # Pop to the matching open element (tolerates unclosed inner tags).
            for i in range(len(stack) - 1, -1, -1):
                if stack[i][0] == name:
                    for _tag, kind in stack[i:]:
                        if kind == _HIDDEN:
                            hidden -= 1
                        elif kind == _ELLIPSIS and not hidden:
                            out.append("…")
                    del stack[i:]
                    if name == "a" and tag_text is not None:
                        tag = "".join(tag_text).strip().lstrip("#")
                        if tag:
                            hashtags.append(tag)
                        tag_text = None
                    break
            continue
        # Opening tag.
        if (name in _BLOCKS or name == "li") and not hidden and out:
            out.append("\n\n" if name in _BLOCKS else "\n")
        if name not in ("span", "a", "p", "div"):
            continue
        classes = _attr(_CLASS, attrs).split() if "class" in attrs else ()
        kind = _PLAIN
        if "invisible" in classes or (hide_quote_inline and "quote-inline" in classes):
            kind = _HIDDEN
            hidden += 1
        elif "ellipsis" in classes:
            kind = _ELLIPSIS
        stack.append((name, kind))
        if name == "a" and not hidden:
            if "hashtag" in classes:
                tag_text = []
            elif "mention" not in classes:
                href = _attr(_HREF, attrs)
                if href and href not in links and urlsplit(href).scheme in ("http", "https"):
                    links.append(href)
    text = "".join(out).strip()
    if "\n\n\n" in text:
        text = _BLANKS.sub("\n\n", text)
    return HtmlText(text, links, hashtags)


def _time_from_id(remote_id: str) -> datetime:
    # Mastodon snowflake ids carry milliseconds since the epoch in their upper bits;
    # only used when a server leaves created_at out.
    if remote_id.isdigit() and len(remote_id) >= 15:
        try:
            return datetime.fromtimestamp((int(remote_id) >> 16) / 1000, UTC)
        except (OverflowError, ValueError, OSError):
            pass
    return _EPOCH


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _opt_id(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def acct_with_domain(acct: str, url: str) -> str:
    """Local accounts have a bare acct ('admin'): add the host of their profile URL."""
    if "@" in acct or not acct:
        return acct
    host = urlsplit(url).hostname if url else None
    return f"{acct}@{host}" if host else acct


class AuthorCache:
    """Accounts already converted (their bio HTML rendered once), keyed by every field the
    conversion reads, so a changed name or bio is converted again. Bounded: cleared when
    full. One per collector (or per call of `normalize_statuses`), never shared globally."""

    __slots__ = ("_authors", "_size")

    def __init__(self, size: int = 8192) -> None:
        self._authors: dict[tuple[str | None, ...], Author] = {}
        self._size = size

    def author(self, account: Any) -> Author:
        if not isinstance(account, dict):
            return normalize_account(account)
        key = (account.get("id"), account.get("acct"), account.get("username"),
               account.get("url"), account.get("display_name"), account.get("note"))
        for value in key:  # only plain strings: 1, 1.0 and True would be equal keys
            if value is not None and type(value) is not str:
                return normalize_account(account)
        found = self._authors.get(key)
        if found is None:
            if len(self._authors) >= self._size:
                self._authors.clear()
            found = self._authors[key] = normalize_account(account)
        return found


def normalize_account(account: Any) -> Author:
    """A Mastodon Account dict -> Author (key and handle = acct with domain)."""
    if not isinstance(account, dict):
        account = {}
    url = _str(account.get("url"))
    acct = _str(account.get("acct")) or _str(account.get("username"))
    key = acct_with_domain(acct, url)
    return Author(
        network="mastodon",
        key=key,
        handle=key,
        display_name=_str(account.get("display_name")),
        url=url,
        bio=html_to_text(account.get("note")).text if account.get("note") else "",
        remote_id=_str(account.get("id")),
    )


def _quoted_key(quote: Any) -> str | None:
    # Mastodon 4.5: {"state": "accepted", "quoted_status": {...}}; a ShallowQuote only has
    # "quoted_status_id" (no federation URI to key on). Fedibird/Pleroma-style servers put
    # the quoted status itself under "quote".
    if not isinstance(quote, dict):
        return None
    quoted = quote.get("quoted_status") if "state" in quote else quote
    if not isinstance(quoted, dict):
        return None
    return _opt_id(quoted.get("uri")) or _opt_id(quoted.get("url"))


def _hashtags(status: dict[str, Any], written: list[str]) -> tuple[str, ...]:
    # tags[].name is lowercased by the server; prefer the author's spelling from content.
    spelled = {t.casefold(): t for t in written}
    names: list[str] = []
    seen: set[str] = set()
    tags = status.get("tags")
    for tag in tags if isinstance(tags, list) else ():
        name = _str(tag.get("name")) if isinstance(tag, dict) else ""
        folded = name.casefold()
        if name and folded not in seen:
            seen.add(folded)
            names.append(spelled.get(folded, name))
    if not isinstance(tags, list):
        for t in written:
            if t.casefold() not in seen:
                seen.add(t.casefold())
                names.append(t)
    return tuple(names)


def _media(status: dict[str, Any]) -> tuple[Media, ...]:
    items = status.get("media_attachments")
    if not items or not isinstance(items, list):
        return ()
    media = []
    for item in items:
        if not isinstance(item, dict):
            continue
        url = _str(item.get("url")) or _str(item.get("remote_url"))
        if url:
            media.append(
                Media(
                    kind=_str(item.get("type")) or "unknown",
                    url=url,
                    alt_text=_str(item.get("description")),
                )
            )
    return tuple(media)


def _post(status: dict[str, Any], raw: str, boosts: tuple[Boost, ...],
          authors: AuthorCache) -> Post:
    author = authors.author(status.get("account"))
    remote_id = _str(status.get("id"))
    quote_of = _quoted_key(status.get("quote"))
    rendered = html_to_text(status.get("content"), hide_quote_inline=quote_of is not None)

    mentions: list[str] = []
    by_id: dict[str, str] = {}
    for m in status.get("mentions") or ():
        if isinstance(m, dict):
            acct = acct_with_domain(_str(m.get("acct")), _str(m.get("url")))
            if acct:
                mentions.append(acct)
                by_id[_str(m.get("id"))] = acct
    reply_to_account = _opt_id(status.get("in_reply_to_account_id"))
    reply_to_author = None
    if reply_to_account is not None:
        reply_to_author = (
            author.key if reply_to_account == author.remote_id else by_id.get(reply_to_account)
        )

    created = parse_utc(status.get("created_at")) or _time_from_id(remote_id)
    return Post(
        network="mastodon",
        key=_str(status.get("uri")) or _str(status.get("url")) or remote_id,
        remote_id=remote_id,
        url=_str(status.get("url")) or _str(status.get("uri")),
        author=author,
        created_at=created,
        text=rendered.text,
        raw=raw,
        lang=_opt_id(status.get("language")),
        spoiler=_str(status.get("spoiler_text")),
        reply_to_id=_opt_id(status.get("in_reply_to_id")),
        reply_to_author=reply_to_author,
        quote_of=quote_of,
        hashtags=_hashtags(status, rendered.hashtags),
        mentions=tuple(mentions),
        links=tuple(rendered.links),
        media=_media(status),
        boosts=boosts,
        edited_at=parse_utc(status.get("edited_at")),
        sensitive=status.get("sensitive") is True,
    )


def dump_raw(status: dict[str, Any]) -> str:
    """Compact JSON text, equal (json.loads) to what was received.

    orjson: ~1 µs instead of ~15 µs per status. What it refuses (integers beyond 64 bits,
    lone surrogates, non-string keys) goes through json.dumps instead.
    """
    try:
        return orjson.dumps(status).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(status, separators=(",", ":"), ensure_ascii=False)


def normalize_status(status: dict[str, Any], authors: AuthorCache | None = None) -> Post:
    """One timeline entry -> Post.

    A boost (reblog wrapper) becomes the ORIGINAL post with one `Boost` (the wrapper's
    account, id and time); `raw` is the wrapper JSON so nothing received is lost.
    `Post.remote_id` is the original's id on this server; cursors are computed by the
    collector from the timeline entries' own (wrapper) ids, which is what the server
    pages by.
    """
    raw = dump_raw(status)
    if authors is None:
        authors = AuthorCache()
    original = status.get("reblog")
    if isinstance(original, dict):
        boost = Boost(
            booster=authors.author(status.get("account")),
            remote_id=_str(status.get("id")),
            created_at=parse_utc(status.get("created_at"))
            or _time_from_id(_str(status.get("id"))),
        )
        return _post(original, raw, (boost,), authors)
    return _post(status, raw, (), authors)


def normalize_statuses(statuses: list[dict[str, Any]],
                       authors: AuthorCache | None = None) -> list[Post]:
    authors = AuthorCache() if authors is None else authors
    return [normalize_status(s, authors) for s in statuses if isinstance(s, dict)]
