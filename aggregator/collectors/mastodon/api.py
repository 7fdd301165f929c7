"""The Mastodon calls grandrounds makes, on Mastodon.py, with errors translated.

Endpoints (https://docs.joinmastodon.org/methods/timelines/, .../methods/accounts/):
GET /api/v1/timelines/list/:id, /api/v1/timelines/tag/:hashtag,
/api/v1/accounts/:id/statuses and /api/v1/accounts/lookup; a conversation with
/api/v1/statuses/:id/context (https://docs.joinmastodon.org/methods/statuses/#context).

Mastodon.py does the requests, auth header, Link parsing and HTTP error classes. Two things
we take from the raw HTTP response instead, through a `requests` response hook on the
session we hand it (the public `session=` parameter):

* the JSON body as plain dicts. Mastodon.py turns every status into typed entity objects
  (about 1.5 ms per status here, up to several ms on slow hosts: halcy/Mastodon.py#448) and
  has no public switch to skip that; its objects also carry `datetime`s instead of the
  strings received, which would make the archived raw JSON differ from what the server sent.
  Timelines are therefore fetched through `_Client.fetch_plain` (public `fetch_next` with
  a pagination dict asking for a plain list), which skips that conversion (measured in
  bench/: ~3 ms -> ~0.14 ms per status, HTTP included). The hook hands Mastodon.py a
  `ParsedOnce` answer (requests lets a response hook replace the response): its `json()`
  parses the body once, with orjson (half json's time; json for what orjson refuses),
  and a timeline takes that same parse, the statuses exactly as the server sent them,
  instead of parsing the body a second time. Other calls parse the body afresh, since
  Mastodon.py may write into the dicts it casts to entities.
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

import orjson
import requests
from mastodon import Mastodon
from mastodon.errors import MastodonError, MastodonRatelimitError
from mastodon.types_base import PaginatableList, PaginationInfo

from aggregator import __version__
from aggregator.clock import Clock
from aggregator.collectors.http import HttpApi
from aggregator.collectors.retry import RateBudget, RetryPolicy
from aggregator.errors import CollectorError, NotFound, TransientError
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


_UNPARSED: Any = object()


def parse_json(body: bytes) -> Any:
    """A JSON body: orjson, or json for what orjson refuses and json accepts (lone
    surrogates, integers beyond 64 bits, NaN). Raises ValueError when it is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


class ParsedOnce(requests.Response):
    """A response whose `json()` parses the body once (see the module doc)."""

    _parsed: Any = _UNPARSED

    @classmethod
    def of(cls, response: requests.Response) -> ParsedOnce:
        answer = cls()
        answer.__dict__.update(response.__dict__)
        return answer

    def json(self, **kwargs: Any) -> Any:
        if kwargs:
            return super().json(**kwargs)
        if self._parsed is _UNPARSED:
            self._parsed = parse_json(self.content)
        return self._parsed


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

        `_mastopy_type` is an underscore key of Mastodon.py's pagination dict, so this
        path is guarded by `tests/collectors/test_mastodon.py` (plain dicts, one request
        per page). What would replace it: a public "no conversion" switch in Mastodon.py
        (halcy/Mastodon.py#448), or, if the key ever changes, a plain `session.get` of the
        same endpoints with the same auth header, letting `HttpApi` parse the Link header.
        """
        page = PaginationInfo(_pagination_method="GET", _pagination_endpoint=endpoint,
                              _mastopy_type=PaginatableList)
        page.update((k, v) for k, v in params.items() if v is not None)
        return self.fetch_next(page)


def credential_texts(account: AccountSettings,
                     environ: Mapping[str, str]) -> tuple[str, str | None]:
    """(what to check when the token is refused, how to configure a missing one or None).

    "check ROUNDS_MED_TOKEN" / "needs an access token: set the environment variable
    ROUNDS_MED_TOKEN (unset)": a person fixes the right thing at the first try."""
    names = [n for n in (account.token_env, account.token_file) if n]
    check = " or ".join(names) if names else f"the token of accounts.{account.name}"
    if account.token(environ):
        return check, None
    if account.token_env:
        missing = f"set the environment variable {account.token_env} (unset)"
    elif account.token_file:
        missing = f"put the token into {account.token_file} (empty)"
    else:
        missing = f"add token_env or token_file to accounts.{account.name}"
    return check, f"an access token: {missing}"


class MastodonApi(HttpApi[requests.Response]):
    """The calls we make on one account (server + optional token). Only this module
    touches Mastodon.py; curation and recheck call these methods."""

    network = NETWORK

    def __init__(
        self,
        client: _Client,
        session: requests.Session,
        *,
        clock: Clock,
        policy: RetryPolicy | None = None,
        budget: RateBudget | None = None,
        token: str | None = None,
        timeout: float | None = None,
        credential: str | None = None,
        missing_credential: str | None = None,
    ) -> None:
        super().__init__(clock=clock, base_url=str(client.api_base_url), policy=policy,
                         budget=budget, timeout=timeout, secrets=[token],
                         credential=credential, missing_credential=missing_credential)
        self.client = client
        self.session = session
        self._responses: list[requests.Response] = []
        self._local_domain: str | None = None  # fetched once, when first needed
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
        check, missing = credential_texts(account, environ)
        return cls(client, session, clock=clock, policy=policy, budget=budget, token=token,
                   timeout=timeout, credential=check, missing_credential=missing)

    def close(self) -> None:
        self.session.close()

    # ------------------------------------------------------------------ timelines

    def fetch_list_timeline(
        self,
        list_id: str,
        *,
        max_id: str | None = None,
        min_id: str | None = None,
        limit: int = MAX_LIMIT,
    ) -> TimelinePage:
        """GET /api/v1/timelines/list/:id (needs a token)."""
        return self._timeline(f"list {list_id}", f"/api/v1/timelines/list/{list_id}",
                              max_id=max_id, min_id=min_id, limit=limit)

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
        return self._timeline(f"hashtag #{tag}", f"/api/v1/timelines/tag/{tag}",
                              max_id=max_id, min_id=min_id, limit=limit)

    def fetch_account_statuses(
        self,
        account_id: str,
        *,
        max_id: str | None = None,
        min_id: str | None = None,
        limit: int = MAX_LIMIT,
    ) -> TimelinePage:
        """GET /api/v1/accounts/:id/statuses (public for public accounts)."""
        return self._timeline(f"account {account_id}", f"/api/v1/accounts/{account_id}/statuses",
                              max_id=max_id, min_id=min_id, limit=limit)

    # ------------------------------------------------------------------ single objects

    def fetch_account_id(self, acct: str) -> str:
        """GET /api/v1/accounts/lookup?acct=: the account's id on this server."""
        acct = acct.lstrip("@")
        what = f"account lookup {acct}"
        body = self._json(what, lambda: self.client.account_lookup(acct))
        if not isinstance(body, dict) or not body.get("id"):
            raise TransientError(NETWORK, f"{what}: the server's answer has no account id")
        return str(body["id"])

    def fetch_status(self, status_id: str) -> dict[str, Any]:
        """GET /api/v1/statuses/:id (edits and deletions re-check); NotFound when deleted."""
        what = f"status {status_id}"
        body = self._json(what, lambda: self.client.status(status_id))
        if not isinstance(body, dict) or not body.get("id"):
            raise TransientError(NETWORK, f"{what}: the server's answer is not a status")
        return body

    def fetch_context(self, status_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """GET /api/v1/statuses/:id/context: (ancestors root first, descendants depth
        first). Public statuses need no token; with the account's token a server also shows
        what that account may see (private servers, followers-only replies)."""
        what = f"conversation of status {status_id}"
        body = self._json(what, lambda: self.client.status_context(status_id))
        if not isinstance(body, dict):
            raise TransientError(NETWORK, f"{what}: the server's answer is not a context")
        ancestors, descendants = body.get("ancestors"), body.get("descendants")
        return ([s for s in ancestors if isinstance(s, dict)] if isinstance(ancestors, list)
                else [],
                [s for s in descendants if isinstance(s, dict)] if isinstance(descendants, list)
                else [])

    def local_domain(self) -> str | None:
        """The domain this server's own accounts belong to (Mastodon's LOCAL_DOMAIN), which
        can differ from the host serving the API (WEB_DOMAIN): ``domain`` in
        GET /api/v2/instance, ``uri`` in v1 on older servers. Asked once per api object,
        and only when a bare ``acct`` needs it; None (the caller falls back to the profile
        URL's host) when the server will not say."""
        if self._local_domain is None:
            self._local_domain = self._fetch_local_domain()
        return self._local_domain or None

    def _fetch_local_domain(self) -> str:
        try:
            try:
                body = self._json("instance", lambda: self.client.instance_v2())
                domain = body.get("domain") if isinstance(body, dict) else None
            except NotFound:  # Mastodon < 4.0
                body = self._json("instance", lambda: self.client.instance_v1())
                domain = body.get("uri") if isinstance(body, dict) else None
        except CollectorError as exc:
            logger.warning("%s; naming local accounts after the host of their profile URL",
                           exc)
            return ""
        if not isinstance(domain, str) or not domain.strip():
            logger.warning("%s does not name its local domain; naming local accounts after "
                           "the host of their profile URL", self.host)
            return ""
        domain = domain.strip().lower()
        return (urlsplit(domain).hostname or domain) if "//" in domain else domain

    # ------------------------------------------------------------------ lists (curation)

    def fetch_list_accounts(self, list_id: str, *, max_id: str | None = None,
                            limit: int = 80) -> tuple[list[dict[str, Any]], str | None]:
        """GET /api/v1/lists/:id/accounts: one page of accounts, and the max_id of the
        next page (None on the last)."""
        what = f"list {list_id} accounts"
        body, response = self._json_and_response(
            what, lambda: self.client.list_accounts(list_id, max_id=max_id, limit=limit))
        if not isinstance(body, list):
            raise TransientError(NETWORK, f"{what}: not a list")
        accounts = [a for a in body if isinstance(a, dict)]
        next_id = link_param(response.links, "next", "max_id") if accounts else None
        return accounts, next_id

    def fetch_relationships(self, account_ids: list[str]) -> list[dict[str, Any]]:
        """GET /api/v1/accounts/relationships?id[]= (at most 40 ids per call)."""
        body = self._json("relationships", lambda: self.client.account_relationships(
            account_ids))
        return [r for r in body or [] if isinstance(r, dict)]

    def follow_account(self, account_id: str) -> bool:
        """POST /api/v1/accounts/:id/follow; True when now following (False: a locked
        account got a follow request)."""
        body = self._json(f"follow {account_id}", lambda: self.client.account_follow(
            account_id))
        return bool(isinstance(body, dict) and body.get("following"))

    def add_list_member(self, list_id: str, account_id: str) -> bool:
        """POST /api/v1/lists/:id/accounts. False when the account was on the list already:
        Mastodon refuses that with 422 "Validation failed: Account has already been taken",
        which for us is done (a rerun after a lost answer must finish)."""
        try:
            self._json(f"add {account_id} to list {list_id}",
                       lambda: self.client.list_accounts_add(list_id, [account_id]))
        except CollectorError as exc:
            if exc.status == 422 and "already been taken" in exc.message:
                return False
            raise
        return True

    def remove_list_member(self, list_id: str, account_id: str) -> None:
        """DELETE /api/v1/lists/:id/accounts (Mastodon answers 200 for a non-member too)."""
        self._json(f"remove {account_id} from list {list_id}",
                   lambda: self.client.list_accounts_delete(list_id, [account_id]))

    def create_list(self, title: str) -> str:
        """POST /api/v1/lists; the new list's id."""
        body = self._json("create list", lambda: self.client.list_create(title))
        if not isinstance(body, dict) or not body.get("id"):
            raise TransientError(NETWORK, "create list: the answer has no list id")
        return str(body["id"])

    # ------------------------------------------------------------------ plumbing

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any
                  ) -> requests.Response:
        answer = ParsedOnce.of(response)
        self._responses.append(answer)
        return answer

    def _timeline(self, what: str, endpoint: str, **params: str | int | None) -> TimelinePage:
        before = self.requests
        body, response = self._json_and_response(
            what, lambda: self.client.fetch_plain(endpoint, **params), reuse=True)
        if not isinstance(body, list):
            raise TransientError(
                NETWORK, f"{what}: expected a list of statuses, got {type(body).__name__}"
            )
        return TimelinePage(
            statuses=[s for s in body if isinstance(s, dict)],
            next_max_id=link_param(response.links, "next", "max_id"),
            prev_min_id=link_param(response.links, "prev", "min_id", "since_id"),
            requests=self.requests - before,
        )

    def _json(self, what: str, fn: Callable[[], object]) -> Any:
        return self._json_and_response(what, fn)[0]

    def _json_and_response(self, what: str, fn: Callable[[], object], *,
                           reuse: bool = False) -> tuple[Any, requests.Response]:
        """One Mastodon.py call, paced, retried and translated by `HttpApi`; the body as
        plain JSON (exactly what the server sent) and the answer it came in. `reuse`: the
        parse Mastodon.py made (a plain list it left alone: `fetch_plain`)."""
        def send() -> requests.Response:
            self._responses.clear()
            fn()
            if not self._responses:
                raise TransientError(NETWORK, f"{what}: no answer")
            return self._responses[-1]

        def read(response: requests.Response) -> tuple[Any, requests.Response]:
            try:
                if reuse and isinstance(response, ParsedOnce):
                    return response.json(), response
                return parse_json(response.content), response
            except ValueError as exc:
                raise TransientError(NETWORK, f"{what}: the server's answer is not JSON") \
                    from exc

        return self.call(what, send, read)

    # ------------------------------------------------------------------ HttpApi hooks

    def rate_limit(self, response: requests.Response) -> tuple[int | None, datetime | None]:
        remaining: int | None
        try:
            remaining = int(response.headers.get("X-RateLimit-Remaining", ""))
        except ValueError:
            remaining = None
        return remaining, parse_reset(response.headers.get("X-RateLimit-Reset"))

    def problem(self, response: requests.Response) -> str:
        """Mastodon's explanation: the ``error`` of its JSON error body."""
        try:
            body = json.loads(response.content)
        except ValueError:
            return ""
        error = body.get("error") if isinstance(body, dict) else None
        return str(error) if error else ""

    def response_of(self, exc: Exception) -> requests.Response | None:
        # Mastodon.py raises its own classes for error statuses (and for a 2xx it cannot
        # read); the answer itself came through our session hook.
        if isinstance(exc, MastodonError) and self._responses:
            return self._responses[-1]
        return None

    def library_error(self, what: str, exc: Exception, response: requests.Response | None,
                      endpoint: str | None) -> CollectorError:
        status = response.status_code if response is not None else None
        if isinstance(exc, MastodonRatelimitError) and status is not None:
            # Mastodon.py raises this when it cannot parse X-RateLimit-Reset, even on a 200.
            return TransientError(NETWORK, f"{what}: unusable rate-limit headers (HTTP {status})",
                                  status=status, endpoint=endpoint)
        if status is not None:
            # A 2xx whose body Mastodon.py could not parse (HTML, truncated JSON).
            return TransientError(NETWORK, f"{what}: the server's answer is not JSON",
                                  status=status, endpoint=endpoint)
        return CollectorError(NETWORK, f"{what}: {self.scrub(str(exc))}", endpoint=endpoint)
