"""Mastodon status JSON (plain dicts) -> `aggregator.models.Post`. Pure functions.

API reference: https://docs.joinmastodon.org/entities/Status/

Everything here treats the input as untrusted data from strangers: keys may be missing
(older servers, remote statuses, anonymous reads), values may be null, and the HTML in
`content` is only ever converted to plain text, never passed on as markup.

HTML to text (`aggregator.collectors.html`, shared with feeds) renders what Mastodon's
web UI shows; a status's ``.quote-inline`` is hidden when it carries a Mastodon 4.5 quote
(recorded in ``Post.quote_of`` instead).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

from aggregator.collectors.html import html_to_text as html_to_text  # re-exported
from aggregator.collectors.jsonval import as_str, opt_count, opt_str, time_from_snowflake
from aggregator.models import Author, Boost, Media, Post, parse_utc


def _time_from_id(remote_id: str) -> datetime:
    # Mastodon snowflake ids carry milliseconds since the Unix epoch above bit 16.
    return time_from_snowflake(remote_id, shift=16)


LocalDomain = Callable[[], "str | None"]  # the server's LOCAL_DOMAIN, asked only when needed


def account_identity(account: Any, local_domain: LocalDomain | None = None) -> str:
    """Our identity (``user@domain``) of an account as a Mastodon server returns it (an
    Account, a Mention, a list member). THE one place this is decided: the collector,
    curation sync and pull and voices all call it.

    Remote accounts come as ``acct: "jane@example.org"``. The server's own come bare
    (``acct: "jane"``): they belong to its LOCAL domain, which can differ from the host
    serving the API and their profile URL (LOCAL_DOMAIN example.org, WEB_DOMAIN
    social.example.org). `local_domain` is called only for a bare acct; when it is absent
    or the server would not say, the profile URL's host is the best guess.
    """
    if not isinstance(account, Mapping):
        return ""
    acct = as_str(account.get("acct")) or as_str(account.get("username"))
    if "@" in acct or not acct:
        return acct
    domain = local_domain() if local_domain is not None else None
    if not domain:
        url = as_str(account.get("url"))
        domain = urlsplit(url).hostname if url else None
    return f"{acct}@{domain}" if domain else acct


class AuthorCache:
    """Accounts already converted (their bio HTML rendered once), keyed by every field the
    conversion reads, so a changed name or bio is converted again. Bounded: cleared when
    full. One per collector (or per call of `normalize_statuses`), never shared globally."""

    __slots__ = ("_authors", "_size", "local_domain")

    def __init__(self, size: int = 8192, *, local_domain: LocalDomain | None = None) -> None:
        self._authors: dict[tuple[str | None, ...], Author] = {}
        self._size = size
        self.local_domain = local_domain  # see `account_identity`

    def identity(self, account: Any) -> str:
        return account_identity(account, self.local_domain)

    def author(self, account: Any) -> Author:
        if not isinstance(account, dict):
            return normalize_account(account, self.local_domain)
        key = (account.get("id"), account.get("acct"), account.get("username"),
               account.get("url"), account.get("display_name"), account.get("note"))
        for value in key:  # only plain strings: 1, 1.0 and True would be equal keys
            if value is not None and type(value) is not str:
                return normalize_account(account, self.local_domain)
        found = self._authors.get(key)
        if found is None:
            if len(self._authors) >= self._size:
                self._authors.clear()
            found = self._authors[key] = normalize_account(account, self.local_domain)
        return found


def normalize_account(account: Any, local_domain: LocalDomain | None = None) -> Author:
    """A Mastodon Account dict -> Author (key and handle = `account_identity`)."""
    if not isinstance(account, dict):
        account = {}
    url = as_str(account.get("url"))
    key = account_identity(account, local_domain)
    return Author(
        network="mastodon",
        key=key,
        handle=key,
        display_name=as_str(account.get("display_name")),
        url=url,
        bio=html_to_text(account.get("note")).text if account.get("note") else "",
        remote_id=as_str(account.get("id")),
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
    return opt_str(quoted.get("uri")) or opt_str(quoted.get("url"))


def _hashtags(status: dict[str, Any], written: list[str]) -> tuple[str, ...]:
    # tags[].name is lowercased by the server; prefer the author's spelling from content.
    spelled = {t.casefold(): t for t in written}
    names: list[str] = []
    seen: set[str] = set()
    tags = status.get("tags")
    for tag in tags if isinstance(tags, list) else ():
        name = as_str(tag.get("name")) if isinstance(tag, dict) else ""
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
        url = as_str(item.get("url")) or as_str(item.get("remote_url"))
        if url:
            media.append(
                Media(
                    kind=as_str(item.get("type")) or "unknown",
                    url=url,
                    alt_text=as_str(item.get("description")),
                )
            )
    return tuple(media)


def _post(status: dict[str, Any], raw: str, boosts: tuple[Boost, ...],
          authors: AuthorCache) -> Post:
    author = authors.author(status.get("account"))
    remote_id = as_str(status.get("id"))
    quote_of = _quoted_key(status.get("quote"))
    rendered = html_to_text(status.get("content"), hide_quote_inline=quote_of is not None)

    mentions: list[str] = []
    by_id: dict[str, str] = {}
    for m in status.get("mentions") or ():
        if isinstance(m, dict):
            acct = authors.identity(m)
            if acct:
                mentions.append(acct)
                by_id[as_str(m.get("id"))] = acct
    reply_to_account = opt_str(status.get("in_reply_to_account_id"))
    reply_to_author = None
    if reply_to_account is not None:
        reply_to_author = (
            author.key if reply_to_account == author.remote_id else by_id.get(reply_to_account)
        )

    created = parse_utc(status.get("created_at")) or _time_from_id(remote_id)
    return Post(
        network="mastodon",
        key=as_str(status.get("uri")) or as_str(status.get("url")) or remote_id,
        remote_id=remote_id,
        url=as_str(status.get("url")) or as_str(status.get("uri")),
        author=author,
        created_at=created,
        text=rendered.text,
        raw=raw,
        lang=opt_str(status.get("language")),
        spoiler=as_str(status.get("spoiler_text")),
        reply_to_id=opt_str(status.get("in_reply_to_id")),
        reply_to_author=reply_to_author,
        quote_of=quote_of,
        hashtags=_hashtags(status, rendered.hashtags),
        mentions=tuple(mentions),
        links=tuple(rendered.links),
        media=_media(status),
        boosts=boosts,
        edited_at=parse_utc(status.get("edited_at")),
        sensitive=status.get("sensitive") is True,
        reply_count=opt_count(status.get("replies_count")),
        boost_count=opt_count(status.get("reblogs_count"), status.get("quotes_count")),
        like_count=opt_count(status.get("favourites_count")),
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
            remote_id=as_str(status.get("id")),
            created_at=parse_utc(status.get("created_at"))
            or _time_from_id(as_str(status.get("id"))),
        )
        return _post(original, raw, (boost,), authors)
    return _post(status, raw, (), authors)


def normalize_statuses(statuses: list[dict[str, Any]],
                       authors: AuthorCache | None = None) -> list[Post]:
    authors = AuthorCache() if authors is None else authors
    return [normalize_status(s, authors) for s in statuses if isinstance(s, dict)]
