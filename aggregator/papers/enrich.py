"""`rounds papers enrich`: titles for the works no post carried one for, from Crossref.

Off by default: nothing is fetched unless the command runs, and it refuses to run without
`[papers] mailto` (Crossref's etiquette: say who you are, and you get its "polite" pool).
Politely, as https://www.crossref.org/documentation/retrieve-metadata/rest-api/tips-for-using-the-crossref-rest-api/
asks: one request at a time, at most `requests_per_second` (default 1), a User-Agent
with the mailto, `GET /works/{doi}` (the DOI percent-encoded), retries and 429s through
the shared HTTP base (`collectors.http`, on the injected clock).

Cached in the archive: every work asked about is stamped (`works.enriched_at`), with the
title found or the reason it was not, so a work is asked once; `--retry-failed` asks again
about those that failed (not found, unreachable). Only DOIs: Crossref registers DOIs
(medRxiv and bioRxiv's too); PubMed, PMC, arXiv ids and NCT numbers keep the titles the
posts carried.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from aggregator import __version__
from aggregator.clock import Clock
from aggregator.collectors.http import HttpApi
from aggregator.collectors.retry import RetryPolicy
from aggregator.errors import CollectorError, ConfigError, TransientError
from aggregator.papers.detect import TITLE_CHARS
from aggregator.settings import PapersSettings
from aggregator.storage import papers as stored
from aggregator.storage.db import Database

logger = logging.getLogger(__name__)

SOURCE = "crossref"
_TAGS = re.compile(r"<[^>]+>")  # Crossref titles carry JATS/MathML markup (<i>, <sub>)


class CrossrefApi(HttpApi[requests.Response]):
    """`GET {base}/works/{doi}` (https://api.crossref.org/swagger-ui/index.html)."""

    network = "crossref"

    def __init__(self, settings: PapersSettings, clock: Clock,
                 session: requests.Session | None = None) -> None:
        super().__init__(clock=clock, base_url=settings.crossref_url,
                         policy=RetryPolicy(attempts=3, max_rate_wait=120.0), timeout=20.0)
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = (f"grandrounds/{__version__} "
                                              f"(mailto:{settings.mailto})")
        self.mailto = settings.mailto

    def title(self, doi: str) -> str:
        """The work's title ("" when Crossref has none). Raises CollectorError."""
        url = f"{self.base_url}/works/{quote(doi, safe='')}"

        def send() -> requests.Response:
            return self.session.get(url, params={"mailto": self.mailto},
                                    timeout=self.timeout)

        return self.call(f"doi:{doi}", send, _title_of, endpoint="/works/{doi}")

    def problem(self, response: requests.Response) -> str:
        return response.text[:200] if "json" not in response.headers.get(
            "Content-Type", "") else ""

    def close(self) -> None:
        self.session.close()


def _title_of(response: requests.Response) -> str:
    try:
        data: Any = response.json()
    except ValueError as exc:
        raise TransientError("crossref", "the answer is not JSON") from exc
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, dict):
        raise TransientError("crossref", "the answer has no 'message'")
    titles = message.get("title")
    title = titles[0] if isinstance(titles, list) and titles else titles
    if not isinstance(title, str):
        return ""
    return " ".join(html.unescape(_TAGS.sub("", title)).split())[:TITLE_CHARS]


@dataclass
class EnrichResult:
    asked: int = 0
    titled: int = 0
    failed: list[str] = field(default_factory=list)  # one line each


def enrich(db: Database, settings: PapersSettings, clock: Clock, *, limit: int = 100,
           retry_failed: bool = False, api: CrossrefApi | None = None,
           report: Callable[[str], None] | None = None) -> EnrichResult:
    """Ask Crossref for the titles of up to `limit` untitled DOIs, most shared first."""
    if not settings.mailto:
        raise ConfigError("rounds papers enrich asks Crossref, which wants to know who asks: "
                          "set [papers] mailto = \"you@example.org\" in the configuration")
    if retry_failed:
        stored.forget_failures(db)
    todo = stored.works_to_enrich(db, ("doi",), limit)
    result = EnrichResult()
    if not todo:
        return result
    own = api is None
    crossref = api or CrossrefApi(settings, clock)
    interval = 1.0 / settings.requests_per_second
    last: float | None = None
    try:
        for work in todo:
            if last is not None:  # pace: never faster than requests_per_second
                waited = (clock.now().timestamp() - last)
                if waited < interval:
                    clock.sleep(interval - waited)
            last = clock.now().timestamp()
            result.asked += 1
            try:
                title = crossref.title(work.ident)
            except CollectorError as exc:
                line = f"doi:{work.ident}: {exc.message}"
                result.failed.append(line)
                if report:
                    report(line)
                stored.save_enriched(db, work.id, clock.now(), title=None, source=SOURCE,
                                     error=exc.message)
                continue
            stored.save_enriched(db, work.id, clock.now(), title=title or None, source=SOURCE,
                                 error=None if title else "no title at Crossref")
            if title:
                result.titled += 1
    finally:
        if own:
            crossref.close()
    return result
