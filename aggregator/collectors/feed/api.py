"""Fetching and parsing RSS/Atom (and JSON Feed) documents politely and safely; the only
module that imports `feedparser` (and `requests`, for feeds).

* **Conditional GET.** The validator of the last document (`Validator`) is sent back as
  ``If-None-Match`` (an ETag) or ``If-Modified-Since`` (a Last-Modified), exactly as
  received; a ``304`` is one request and nothing else.
* **Redirects** are followed here, not by requests (at most `MAX_HOPS`), so that every hop
  is counted, paced and retried like any request, and an https feed cannot be sent to plain
  http. A permanent one (301, 308) is reported (`Document.moved_to`) so the user can update
  the configured URL; temporary ones (302, 303, 307) are followed silently.
* **Rate limits.** ``429`` and ``503`` with ``Retry-After`` (seconds or an HTTP date) become
  `RateLimited(retry_at)`, waited out by the shared retry on the injected clock, bounded.
* **Untrusted XML.** The body is read up to `MAX_BYTES` (after gzip: a small compressed bomb
  stops there); a document declaring entities (``<!ENTITY``: billion laughs, XXE) is refused
  before any XML parser sees it (`UnsafeFeed`); feedparser only ever gets a stream of bytes
  (given a string it would fetch URLs or open files). A document that is neither RSS nor
  Atom, or XML too broken for feedparser's lenient pass, is `MalformedFeed`.
* **JSON Feed.** A body that is JSON (`jsonfeed.looks_like_json`) is read by `jsonfeed`
  into the same shape feedparser gives, or refused as `MalformedFeed` when it is not a
  JSON Feed; no XML parser sees it.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import requests

from aggregator.clock import Clock
from aggregator.collectors.feed import jsonfeed
from aggregator.collectors.http import HttpApi, host_of
from aggregator.collectors.retry import RateBudget, RetryPolicy
from aggregator.errors import CollectorError, RateLimited
from aggregator.textutil import size_text
from aggregator.xmlsafe import declares_entities

logger = logging.getLogger(__name__)

NETWORK = "feed"
MAX_BYTES = 5 * 1024 * 1024  # a feed larger than this (after decompression) is refused
MAX_HOPS = 5
VALIDATOR_MAX = 47  # the source's cursor keeps 64 characters: 17 are ours (collector.Mark)
USER_AGENT = "grandrounds feed reader (+https://github.com/grandrounds)"
ACCEPT = ("application/atom+xml, application/rss+xml, application/feed+json;q=0.9, "
          "application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1")
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
_REDIRECTS = (301, 302, 303, 307, 308)
# feedparser's "bozo" exceptions that still leave a well-read document behind
_HARMLESS = ("CharacterEncodingOverride", "NonXMLContentType")


class MalformedFeed(CollectorError):
    """The answer is not a feed we can read (not RSS, Atom or JSON Feed; too large)."""


class UnsafeFeed(MalformedFeed):
    """The document declares XML entities (entity expansion, external entities): refused."""


@dataclass(frozen=True, slots=True)
class Validator:
    """What the server said identifies the document, stored exactly as received. Only one
    is kept: a server that sends an ETag judges If-None-Match and ignores If-Modified-Since
    when both come (RFC 9110, 13.2.2), so the ETag wins and Last-Modified is the fallback."""

    kind: str  # "etag" or "modified"
    value: str

    def headers(self) -> dict[str, str]:
        name = "If-None-Match" if self.kind == "etag" else "If-Modified-Since"
        return {name: self.value}


@dataclass
class Document:
    """One fetch: `parsed` is None when the server answered 304 Not Modified."""

    url: str  # where the document was finally read
    parsed: Any | None  # feedparser's result (a dict subclass), or None on a 304
    digest: str = ""  # sha256 of the body (hex), to notice an unchanged document
    validator: Validator | None = None
    moved_to: str | None = None  # a permanent redirect's target
    warnings: list[str] = field(default_factory=list)


def refuse_entities(body: bytes, url: str) -> None:
    """Refuse a document that declares entities (`aggregator.xmlsafe`)."""
    if declares_entities(body):
        raise UnsafeFeed(NETWORK, f"{url}: refused: the document declares XML entities "
                                  "(entity expansion or external entities are never read)")


def _retry_at(response: requests.Response, now: datetime) -> datetime | None:
    """``Retry-After``: delta-seconds or an HTTP date."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return now + timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


class FeedApi(HttpApi):
    """Fetches feed documents for one `feed` account (no credentials)."""

    network = NETWORK

    def __init__(self, *, clock: Clock, policy: RetryPolicy | None = None,
                 budget: RateBudget | None = None, timeout: float | None = 30.0,
                 allow_insecure: bool = False, max_bytes: int = MAX_BYTES) -> None:
        super().__init__(clock=clock, base_url="", policy=policy, budget=budget,
                         timeout=timeout)
        self.allow_insecure = allow_insecure
        self.max_bytes = max_bytes
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": ACCEPT})

    def close(self) -> None:
        self.session.close()

    # ------------------------------------------------------------------ hooks

    def rate_limit(self, response: requests.Response) -> tuple[int | None, datetime | None]:
        if response.status_code in (429, 503):
            return None, _retry_at(response, self.clock.now())
        return None, None

    def special_error(self, what: str, status: int, response: requests.Response, detail: str,
                      endpoint: str | None) -> CollectorError | None:
        if status == 503 and (at := _retry_at(response, self.clock.now())) is not None:
            return RateLimited(NETWORK, f"{what}: {self.host} is busy (HTTP 503), asked to "
                                        "come back later", at, status=status,
                               endpoint=endpoint)
        return None

    # ------------------------------------------------------------------ fetching

    def fetch(self, url: str, validator: Validator | None) -> Document:
        """The document at `url` (following redirects), or a 304's empty `Document`."""
        moved_to: str | None = None
        self._check_target(url, url, "")  # a curated voice's feed is not checked by settings
        for _hop in range(MAX_HOPS + 1):
            self.host = host_of(url)
            response, body = self._hop(url, validator)
            status = response.status_code
            if status in _REDIRECTS:
                target = urljoin(url, response.headers.get("Location", ""))
                self._check_target(url, target, "redirected to ")
                if status in (301, 308):
                    moved_to = target
                url = target
                continue
            if body is None:  # 304
                return Document(url, None, validator=validator, moved_to=moved_to)
            document = self._parse(body, url, response.headers)
            document.moved_to = moved_to
            document.validator = _validator_of(response.headers)
            return document
        raise CollectorError(NETWORK, f"{url}: more than {MAX_HOPS} redirects")

    def _hop(self, url: str,
             validator: Validator | None) -> tuple[requests.Response, bytes | None]:
        return self.call(url, lambda: self._get(url, validator),
                         lambda r: self._answer(r, url), endpoint=urlsplit(url).path or "/")

    def _get(self, url: str, validator: Validator | None) -> requests.Response:
        headers = validator.headers() if validator else {}
        return self.session.get(url, headers=headers, timeout=self.timeout, stream=True,
                                allow_redirects=False)

    def _check_target(self, url: str, target: str, how: str) -> None:
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CollectorError(NETWORK, f"{url}: {how or 'is '}something that is not "
                                          "an http(s) URL")
        if (parts.scheme == "http" and parts.hostname not in _LOOPBACK
                and not self.allow_insecure):
            raise CollectorError(NETWORK, f"{url}: {how}plain http "
                                          f"({host_of(target)}); refused without "
                                          "allow_insecure on the feed account")

    def _answer(self, response: requests.Response,
                url: str) -> tuple[requests.Response, bytes | None]:
        """Read the body inside the attempt, so that a body cut short is retried."""
        if response.status_code in _REDIRECTS or response.status_code == 304:
            response.close()
            return response, None
        return response, self._read(response, url)

    def _read(self, response: requests.Response, url: str) -> bytes:
        """The decoded body, at most `max_bytes` (checked while reading, not trusted from
        Content-Length, so a gzip bomb stops at the limit)."""
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > self.max_bytes:
                    raise MalformedFeed(NETWORK, f"{url}: refused: larger than "
                                                 f"{size_text(self.max_bytes)}")
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise self._failure(url, exc, urlsplit(url).path) from exc
        finally:
            response.close()
        return b"".join(chunks)

    def _parse(self, body: bytes, url: str, headers: Mapping[str, str]) -> Document:
        content_type = headers.get("Content-Type", "")
        if jsonfeed.looks_like_json(body, content_type):
            try:
                parsed, warnings = jsonfeed.parse(body)
            except jsonfeed.NotJsonFeed as exc:
                raise MalformedFeed(NETWORK, f"{url}: not a readable JSON Feed ({exc})") \
                    from None
            return Document(url, parsed, hashlib.sha256(body).hexdigest(), warnings=warnings)
        refuse_entities(body, url)
        parsed = feedparser.parse(io.BytesIO(body), response_headers={
            "content-type": content_type, "content-location": url})
        warnings = []
        if parsed.get("bozo"):
            problem = parsed.get("bozo_exception")
            name = type(problem).__name__
            if not parsed.get("version") and not parsed.get("entries"):
                reason = _describe(problem)
                raise MalformedFeed(NETWORK, f"{url}: not a readable RSS or Atom feed"
                                             + (f" ({reason})" if reason else ""))
            if name not in _HARMLESS:
                warnings.append(f"the feed is not well-formed XML ({_describe(problem)}); "
                                "read leniently")
            elif name == "CharacterEncodingOverride":
                warnings.append(f"the feed's declared encoding was wrong; read as "
                                f"{parsed.get('encoding') or 'detected'}")
        elif not parsed.get("version"):
            raise MalformedFeed(NETWORK, f"{url}: not an RSS or Atom feed")
        return Document(url, parsed, hashlib.sha256(body).hexdigest(), warnings=warnings)


def _describe(problem: object) -> str:
    text = " ".join(str(problem or "").split())
    return text[:120]


def _validator_of(headers: Mapping[str, str]) -> Validator | None:
    """The ETag if it fits the stored state (`VALIDATOR_MAX`), else Last-Modified."""
    etag, modified = headers.get("ETag"), headers.get("Last-Modified")
    if etag and len(etag) <= VALIDATOR_MAX:
        return Validator("etag", etag)
    if modified and len(modified) <= VALIDATOR_MAX:
        return Validator("modified", modified)
    if etag or modified:
        logger.info("feed validator too long to keep; the next pass reads the whole document")
    return None
