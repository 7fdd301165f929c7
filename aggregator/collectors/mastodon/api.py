"""The Mastodon calls grandrounds makes, on Mastodon.py, with errors translated.

Endpoints (https://docs.joinmastodon.org/methods/timelines/, .../methods/accounts/):
GET /api/v1/timelines/list/:id, /api/v1/timelines/tag/:hashtag,
/api/v1/accounts/:id/statuses and /api/v1/accounts/lookup.

Mastodon.py does the requests, auth header, Link parsing and HTTP error classes. Two things
we take from the raw HTTP response instead, through a `requests` response hook on the
session we hand it (the public `session=` parameter):

* the JSON body as plain dicts. Mastodon.py turns every status into typed entity objects
  (about 1.5 ms per status here, up to several ms on slow hosts: halcy/Mastodon.py#448) and
  has no public switch to skip that; its objects also carry `datetime`s instead of the
  strings received, which would make the archived raw JSON differ from what the server sent.
  Timelines are therefore fetched through `_Client.fetch_plain` (public `fetch_next` with
  a pagination dict asking for a plain list), which skips that conversion (measured in
  bench/: ~3 ms -> ~0.14 ms per status, HTTP included); we parse the body ourselves
  (~7 µs per status) so the archived raw JSON is exactly what the server sent.
* the X-RateLimit-* headers, read against our injected Clock. Mastodon.py converts the
  reset to `time.time()` epoch and drops it when it is in the past of the *system* clock,
  which would make waits untestable and wrong whenever the clock is not the system one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from mastodon import Mastodon
from mastodon.errors import (
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)
from mastodon.types_base import PaginatableList, PaginationInfo

from aggregator import __version__
from aggregator.clock import Clock
from aggregator.collectors.retry import RateBudget, RetryPolicy, call_with_retry
from aggregator.errors import (
    AuthError,
    CollectorError,
    NotFound,
    RateLimited,
    TransientError,
)
from aggregator.settings import AccountSettings

logger = logging.getLogger(__name__)

NETWORK = "mastodon"
MAX_LIMIT = 40  # Mastodon caps timeline pages at 40 statuses
USER_AGENT = f"grandrounds/{__version__}"


@dataclass(frozen=True, slots=True)
class TimelinePage:
    """One timeline response: statuses newest first, plus where its Link header points."""

    statuses: list[dict[str, Any]]
    next_max_id: str | None  # rel="next": older statuses
    prev_min_id: str | None  # rel="prev": newer statuses (min_id, or since_id on old servers)
    requests: int = 1  # HTTP requests it took (retries and instance probes included)


def parse_reset(value: str | None) -> datetime | None:
    """X-RateLimit-Reset: ISO 8601 on Mastodon ('2026-08-01T14:00:00.409710Z'), epoch
    seconds on GoToSocial."""
    if not value:
        return None
    value = value.strip()
    try:
        if value.isdigit():
            return datetime.fromtimestamp(int(value), UTC)
        parsed = datetime.fromisoformat(value)
    except (ValueError, OverflowError, OSError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def link_param(links: Mapping[str, Any], rel: str, *names: str) -> str | None:
    link = links.get(rel)
    url = link.get("url") if isinstance(link, dict) else None
    if not url:
        return None
    query = parse_qs(urlsplit(url).query)
    for name in names:
        if query.get(name):
            return str(query[name][-1])
    return None


class _Client(Mastodon):
    """Mastodon.py without its timeline-availability probe.

    Before each hashtag timeline Mastodon.py fetches /api/v2/instance (once per client) just
    to print a warning when the server restricts that timeline. A restricted timeline
    answers 401/403/422 itself, which we report per source, so the extra request per run
    and server buys nothing. `timeline_is_available` is public API; only this client's
    behaviour changes, nothing global.
    """

    def timeline_is_available(self, *args: Any, **kwargs: Any) -> bool:
        return True

    def fetch_plain(self, endpoint: str, **params: str | int | None) -> object:
        """GET a paginated endpoint, its statuses left as plain dicts.

        Goes through the public `fetch_next` with a pagination dict (the documented way to
        resume from persisted pagination info), so Mastodon.py still makes the request, sends
        the token, raises its error classes and parses the Link header. The dict's
        `_mastopy_type` says what to cast the answer to: a `PaginatableList` is a plain list
        subclass, so the answer stays the dicts `json()` made. The typed conversion that
        `timeline_*` / `account_statuses` do (`try_cast_recurse`: about 3 ms per status
        here, 20x the whole HTTP round trip; see bench/) is never run.
        """
        page = PaginationInfo(_pagination_method="GET", _pagination_endpoint=endpoint,
                              _mastopy_type=PaginatableList)
        page.update((k, v) for k, v in params.items() if v is not None)
        return self.fetch_next(page)


class MastodonApi:
    """The calls we make on one account (server + optional token)."""

    def __init__(
        self,
        client: _Client,
        session: requests.Session,
        *,
        clock: Clock,
        policy: RetryPolicy | None = None,
        budget: RateBudget | None = None,
        token: str | None = None,
    ) -> None:
        self.client = client
        self.session = session
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self.budget = budget or RateBudget(clock)
        self.base_url = str(client.api_base_url)
        self._host = urlsplit(self.base_url).netloc or self.base_url
        self.requests = 0  # HTTP responses seen, for the run summary
        self._token = token  # only to scrub it from messages, never logged
        self._responses: list[requests.Response] = []
        session.hooks["response"].append(self._remember)

    @classmethod
    def from_account(
        cls,
        account: AccountSettings,
        environ: Mapping[str, str],
        clock: Clock,
        *,
        policy: RetryPolicy | None = None,
        budget: RateBudget | None = None,
        timeout: float = 30.0,
    ) -> MastodonApi:
        token = account.token(environ)
        session = requests.Session()
        client = _Client(
            api_base_url=account.base_url,
            access_token=token,  # None: anonymous (public timelines only)
            version_check_mode="none",  # no instance request just to learn the version
            ratelimit_method="throw",  # we wait ourselves, on the injected clock
            request_timeout=timeout,
            session=session,
            user_agent=USER_AGENT,
        )
        return cls(client, session, clock=clock, policy=policy, budget=budget, token=token)

    def close(self) -> None:
        self.session.close()

    # ------------------------------------------------------------------ calls

    def fetch_list_timeline(
        self,
        list_id: str,
        *,
        max_id: str | None = None,
        min_id: str | None = None,
        limit: int = MAX_LIMIT,
    ) -> TimelinePage:
        """GET /api/v1/timelines/list/:id (needs a token)."""
        return self._timeline(
            f"list {list_id}",
            lambda: self.client.fetch_plain(
                f"/api/v1/timelines/list/{list_id}", max_id=max_id, min_id=min_id, limit=limit
            ),
        )

    def fetch_hashtag_timeline(
        self,
        tag: str,
        *,
        max_id: str | None = None,
        min_id: str | None = None,
        limit: int = MAX_LIMIT,
    ) -> TimelinePage:
        """GET /api/v1/timelines/tag/:hashtag (public)."""
        tag = tag.lstrip("#")
        return self._timeline(
            f"hashtag #{tag}",
            lambda: self.client.fetch_plain(
                f"/api/v1/timelines/tag/{tag}", max_id=max_id, min_id=min_id, limit=limit
            ),
        )

    def fetch_account_statuses(
        self,
        account_id: str,
        *,
        max_id: str | None = None,
        min_id: str | None = None,
        limit: int = MAX_LIMIT,
    ) -> TimelinePage:
        """GET /api/v1/accounts/:id/statuses (public for public accounts)."""
        return self._timeline(
            f"account {account_id}",
            lambda: self.client.fetch_plain(
                f"/api/v1/accounts/{account_id}/statuses", max_id=max_id, min_id=min_id,
                limit=limit,
            ),
        )

    def fetch_account_id(self, acct: str) -> str:
        """GET /api/v1/accounts/lookup?acct=: the account's id on this server."""
        acct = acct.lstrip("@")
        what = f"account lookup {acct}"
        body, _, _ = self.call(what, lambda: self.client.account_lookup(acct))
        if not isinstance(body, dict) or not body.get("id"):
            raise TransientError(NETWORK, f"{what}: the server's answer has no account id")
        return str(body["id"])

    def fetch_status(self, status_id: str) -> dict[str, Any]:
        """GET /api/v1/statuses/:id (edits and deletions re-check); NotFound when deleted."""
        what = f"status {status_id}"
        body, _, _ = self.call(what, lambda: self.client.status(status_id))
        if not isinstance(body, dict) or not body.get("id"):
            raise TransientError(NETWORK, f"{what}: the server's answer is not a status")
        return body

    # ------------------------------------------------------------------ plumbing

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._responses.append(response)
        self.requests += 1

    def _timeline(self, what: str, fn: Callable[[], object]) -> TimelinePage:
        body, response, count = self.call(what, fn)
        if not isinstance(body, list):
            raise TransientError(
                NETWORK, f"{what}: expected a list of statuses, got {type(body).__name__}"
            )
        links = response.links if response is not None else {}
        return TimelinePage(
            statuses=[s for s in body if isinstance(s, dict)],
            next_max_id=link_param(links, "next", "max_id"),
            prev_min_id=link_param(links, "prev", "min_id", "since_id"),
            requests=count,
        )

    def call(
        self, what: str, fn: Callable[[], object]
    ) -> tuple[Any, requests.Response | None, int]:
        """Run one Mastodon.py call (any endpoint: the curation code uses the list-management
        ones) with pacing, retries and error translation.

        Returns (plain JSON body, the HTTP response, requests made).
        """
        before = self.requests

        def attempt() -> tuple[Any, requests.Response | None]:
            self.budget.before_request()
            self._responses.clear()
            try:
                fn()
            except MastodonError as exc:
                raise self._translate(what, exc) from exc
            finally:
                self._note_rate_limit()
            response = self._responses[-1] if self._responses else None
            if response is None:
                return None, None
            try:
                return json.loads(response.content), response
            except ValueError as exc:
                raise TransientError(NETWORK, f"{what}: the server's answer is not JSON") from exc

        body, response = call_with_retry(
            attempt, what=self._host, clock=self.clock, policy=self.policy
        )
        return body, response, self.requests - before

    def _note_rate_limit(self) -> None:
        if not self._responses:
            return
        headers = self._responses[-1].headers
        remaining: int | None
        try:
            remaining = int(headers.get("X-RateLimit-Remaining", ""))
        except ValueError:
            remaining = None
        self.budget.update(remaining, parse_reset(headers.get("X-RateLimit-Reset")))

    def _scrub(self, text: str) -> str:
        if self._token:
            text = text.replace(self._token, "***")
        return text[:300]

    def _translate(self, what: str, exc: MastodonError) -> CollectorError:
        response = self._responses[-1] if self._responses else None
        status = response.status_code if response is not None else None
        detail = ""
        if isinstance(exc, MastodonAPIError) and len(exc.args) >= 4 and exc.args[3]:
            detail = f": {self._scrub(str(exc.args[3]))}"
        if isinstance(exc, MastodonRatelimitError) and status is not None and status != 429:
            # Mastodon.py raises this when it cannot parse X-RateLimit-Reset, even on a 200.
            return TransientError(NETWORK, f"{what}: unusable rate-limit headers (HTTP {status})")
        if isinstance(exc, MastodonRatelimitError) or status == 429:
            reset = (
                parse_reset(response.headers.get("X-RateLimit-Reset"))
                if response is not None
                else None
            )
            return RateLimited(NETWORK, f"{what}: rate limited by {self.base_url}", reset)
        if isinstance(exc, MastodonUnauthorizedError) or status in (401, 403):
            hint = (
                "needs a valid access token"
                if self._token is None
                else "was refused with this access token"
            )
            return AuthError(NETWORK, f"{what} {hint} (HTTP {status}{detail})")
        if isinstance(exc, MastodonNotFoundError) or status in (404, 410):
            return NotFound(
                NETWORK, f"{what}: not found on {self.base_url} (HTTP {status}{detail})"
            )
        if isinstance(exc, MastodonNetworkError):
            return TransientError(
                NETWORK, f"{what}: cannot reach {self.base_url} ({self._scrub(str(exc))})"
            )
        if isinstance(exc, MastodonServerError) or (
            status is not None and (status >= 500 or status == 408)
        ):
            return TransientError(NETWORK, f"{what}: server error (HTTP {status}{detail})")
        if status is not None and status < 400:
            # A 2xx whose body Mastodon.py could not parse (HTML, truncated JSON).
            return TransientError(NETWORK, f"{what}: the server's answer is not JSON")
        return CollectorError(NETWORK, f"{what}: HTTP {status}{detail or ' ' + type(exc).__name__}")
