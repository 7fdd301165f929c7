"""Thin wrapper over tweepy's v2 `Client`: the four calls we make, and the one place where
tweepy and requests errors become `aggregator.errors`.

Why the wrapper looks like this:

* **Base URL.** tweepy's `BaseClient.request` hard-codes ``https://api.twitter.com``.
  `RoutedClient` overrides `request` (a documented, public method of tweepy's client) to send
  to the account's `base_url` instead, on this instance only: tweepy itself is never patched,
  so any other `tweepy.Client` still talks to api.twitter.com. The override also passes a
  timeout (tweepy sets none, so a stalled server would hang forever) and never logs headers
  (tweepy's DEBUG log line prints the ``Authorization: Bearer`` header).
* **return_type=requests.Response.** No tweepy model objects are built (cheap), the rate-limit
  headers of every response are at hand, and we parse the JSON ourselves so that a garbled
  body is a TransientError instead of a raw `requests.JSONDecodeError`.
* **Rate limits.** ``wait_on_rate_limit=False``: tweepy's own waiting retries without bound
  when a 429 has no reset header, and sleeps with `time.sleep`. Instead each response updates
  a `RateBudget` (``x-rate-limit-remaining``/``x-rate-limit-reset``, epoch seconds), the budget
  pauses before we run dry, and a 429 becomes `RateLimited(retry_at=reset)` which
  `call_with_retry` waits out on the injected clock, a bounded number of times.
* **Errors.** tweepy raises its `HTTPException` subclasses for statuses, but lets
  `requests` exceptions (connection reset, timeout, truncated body) escape raw: both are
  translated here, always ``raise ... from exc``, and messages never contain the token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests
import tweepy

from aggregator.clock import Clock
from aggregator.collectors.retry import RateBudget, RetryPolicy, call_with_retry
from aggregator.collectors.twitter.entities import (
    JsonDict,
    TweetPage,
    describe_error,
    is_not_found,
)
from aggregator.errors import (
    AuthError,
    CollectorError,
    NotFound,
    RateLimited,
    TransientError,
)

logger = logging.getLogger(__name__)

NETWORK = "twitter"
DEFAULT_BASE_URL = "https://api.twitter.com"

# What fills the shared record (issue #3). Everything else X can send stays unrequested:
# X bills per object read, not per field, but smaller bodies are faster to move and parse.
EXPANSIONS = ["author_id", "referenced_tweets.id", "referenced_tweets.id.author_id",
              "attachments.media_keys"]
TWEET_FIELDS = ["created_at", "lang", "entities", "public_metrics", "conversation_id",
                "referenced_tweets", "in_reply_to_user_id", "note_tweet", "author_id",
                "attachments", "possibly_sensitive"]
USER_FIELDS = ["username", "name", "description", "url", "verified"]
MEDIA_FIELDS = ["alt_text", "type", "url", "preview_image_url"]
_TWEET_PARAMS: dict[str, Any] = {
    "expansions": EXPANSIONS, "tweet_fields": TWEET_FIELDS,
    "user_fields": USER_FIELDS, "media_fields": MEDIA_FIELDS,
}

# requests failures that a retry can cure (tweepy lets them escape untranslated).
_TRANSIENT_REQUESTS = (requests.ConnectionError, requests.Timeout,
                       requests.exceptions.ChunkedEncodingError,
                       requests.exceptions.ContentDecodingError)


class RoutedClient(tweepy.Client):
    """A `tweepy.Client` whose requests go to `base_url` (see the module docstring)."""

    def __init__(self, bearer_token: str, *, base_url: str = DEFAULT_BASE_URL,
                 timeout: float = 30.0,
                 on_response: Callable[[requests.Response], None] | None = None) -> None:
        super().__init__(bearer_token=bearer_token, return_type=requests.Response,
                         wait_on_rate_limit=False)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.on_response = on_response

    def request(self, method: str, route: str, params: Any = None, json: Any = None,
                user_auth: bool = False) -> requests.Response:
        headers = {"User-Agent": self.user_agent}
        auth = None
        if user_auth:
            auth = tweepy.OAuth1UserHandler(
                self.consumer_key, self.consumer_secret, self.access_token,
                self.access_token_secret,
            ).apply_auth()
        else:
            headers["Authorization"] = f"Bearer {self.bearer_token}"
        logger.debug("X request: %s %s %s", method, route, params)  # never the headers
        session: requests.Session = self.session
        with session.request(method, self.base_url + route, params=params, json=json,
                             headers=headers, auth=auth, timeout=self.timeout) as response:
            logger.debug("X response: %s %s in %.2fs", response.status_code, route,
                         response.elapsed.total_seconds())
            if self.on_response is not None:
                self.on_response(response)
            _raise_for_status(response)
            return response


def _raise_for_status(response: requests.Response) -> None:
    """tweepy's status -> exception mapping (as in BaseClient.request)."""
    status = response.status_code
    if 200 <= status < 300:
        return
    # tweepy's HTTPException calls .get() on the parsed body: a JSON array or string body
    # (proxies, broken gateways) would crash it with AttributeError, so hand it a dict.
    try:
        parsed = response.json()
    except ValueError:
        parsed = {}
    body: JsonDict = parsed if isinstance(parsed, dict) else {}
    if status == 429:
        reset = _int_header(response, "x-rate-limit-reset")
        raise tweepy.TooManyRequests(response, response_json=body, reset_time=reset)
    kind = {400: tweepy.BadRequest, 401: tweepy.Unauthorized, 403: tweepy.Forbidden,
            404: tweepy.NotFound}.get(status)
    if kind is None:
        kind = tweepy.TwitterServerError if status >= 500 else tweepy.HTTPException
    raise kind(response, response_json=body)


def _int_header(response: requests.Response, name: str) -> int | None:
    try:
        return int(response.headers[name])
    except (KeyError, ValueError, TypeError):
        return None


def _reset_at(response: requests.Response | None) -> datetime | None:
    reset = _int_header(response, "x-rate-limit-reset") if response is not None else None
    if reset is None:
        return None
    try:
        return datetime.fromtimestamp(reset, UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _problem(exc: tweepy.HTTPException) -> str:
    """Status and X's own explanation (title/detail of the problem body), never the token."""
    status = exc.response.status_code
    try:
        body = exc.response.json()
    except ValueError:
        body = None
    parts = []
    if isinstance(body, dict) and (body.get("title") or body.get("detail")):
        parts.append(describe_error(body))
    # the per-parameter messages say what exactly was wrong (e.g. which since_id)
    parts += [str(m) for m in exc.api_messages if not parts or str(m) not in parts[0]]
    return f"HTTP {status} ({'; '.join(parts)[:400]})" if parts else f"HTTP {status}"


class XApi:
    """The v2 endpoints the collector reads, each retried, paced and translated.

    Every method returns parsed JSON and raises only `CollectorError` subclasses.
    """

    def __init__(self, bearer_token: str, *, clock: Clock, base_url: str = DEFAULT_BASE_URL,
                 policy: RetryPolicy | None = None, budget: RateBudget | None = None,
                 timeout: float = 30.0) -> None:
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self.budget = budget or RateBudget(clock)
        self.requests = 0  # HTTP requests sent, retries included (for the run log)
        self.client = RoutedClient(bearer_token, base_url=base_url, timeout=timeout,
                                   on_response=self._note_limits)

    def _note_limits(self, response: requests.Response) -> None:
        self.budget.update(_int_header(response, "x-rate-limit-remaining"), _reset_at(response))

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        """One attempt: pace, send, translate errors, parse the JSON body."""
        self.budget.before_request()
        self.requests += 1
        try:
            response = fn()
            body = response.json()
        except tweepy.TooManyRequests as exc:
            retry_at = (datetime.fromtimestamp(exc.reset_time, UTC)
                        if exc.reset_time is not None else None)
            raise RateLimited(NETWORK, f"{what}: rate limited ({_problem(exc)})",
                              retry_at=retry_at) from exc
        except (tweepy.Unauthorized, tweepy.Forbidden) as exc:
            raise AuthError(NETWORK, f"{what}: not allowed: {_problem(exc)}; check the "
                                     "bearer token and the app's access level") from exc
        except tweepy.NotFound as exc:
            raise NotFound(NETWORK, f"{what}: not found ({_problem(exc)})") from exc
        except tweepy.TwitterServerError as exc:
            raise TransientError(NETWORK, f"{what}: server error {_problem(exc)}") from exc
        except tweepy.HTTPException as exc:
            raise CollectorError(NETWORK, f"{what}: request refused: {_problem(exc)}") from exc
        except _TRANSIENT_REQUESTS as exc:
            raise TransientError(NETWORK, f"{what}: {type(exc).__name__}: network problem "
                                          "talking to the X API") from exc
        except ValueError as exc:  # requests.JSONDecodeError: a body that is not JSON
            raise TransientError(NETWORK, f"{what}: response is not JSON") from exc
        except requests.RequestException as exc:
            raise CollectorError(NETWORK, f"{what}: {type(exc).__name__}") from exc
        if not isinstance(body, dict):
            raise TransientError(NETWORK, f"{what}: response is not a JSON object")
        return body

    def get_json(self, what: str, fn: Callable[[], Any]) -> JsonDict:
        """Run one tweepy call (any endpoint: curation uses the list-management ones)
        with pacing, retries and error translation; the JSON object it answered."""
        result: JsonDict = call_with_retry(lambda: self._call(what, fn), what=what,
                                           clock=self.clock, policy=self.policy)
        return result

    def _page(self, what: str, fn: Callable[[], Any], target_param: str = "id") -> TweetPage:
        def attempt() -> TweetPage:
            body = self._call(what, fn)
            try:
                return TweetPage.from_json(body)
            except ValueError as exc:
                raise TransientError(NETWORK, f"{what}: unexpected response: {exc}") from exc

        page = call_with_retry(attempt, what=what, clock=self.clock, policy=self.policy)
        # An unknown list or user id is a 200 with no data and a resource-not-found error.
        missing = [e for e in page.errors if is_not_found(e, target_param)]
        if not page.data and missing:
            raise NotFound(NETWORK, f"{what}: {describe_error(missing[0])}")
        return page

    def fetch_list_tweets(self, list_id: str, *, max_results: int,
                          pagination_token: str | None = None) -> TweetPage:
        """GET /2/lists/:id/tweets (no since_id: the newest 800 posts, newest first).
        https://docs.x.com/x-api/lists/list-lookup/api-reference/get-lists-id-tweets"""
        return self._page(f"list {list_id} tweets", lambda: self.client.get_list_tweets(
            list_id, max_results=max_results, pagination_token=pagination_token,
            **_TWEET_PARAMS))

    def fetch_user_tweets(self, user_id: str, *, max_results: int, since_id: str | None = None,
                          pagination_token: str | None = None) -> TweetPage:
        """GET /2/users/:id/tweets (newest first; since_id bounds it).
        https://docs.x.com/x-api/posts/timelines/api-reference/get-users-id-tweets"""
        return self._page(f"user {user_id} tweets", lambda: self.client.get_users_tweets(
            user_id, max_results=max_results, since_id=since_id,
            pagination_token=pagination_token, **_TWEET_PARAMS))

    def fetch_search_recent(self, query: str, *, max_results: int, since_id: str | None = None,
                            next_token: str | None = None) -> TweetPage:
        """GET /2/tweets/search/recent (the last 7 days, newest first).
        https://docs.x.com/x-api/posts/search/api-reference/get-tweets-search-recent"""
        return self._page("recent search", lambda: self.client.search_recent_tweets(
            query, max_results=max_results, since_id=since_id, next_token=next_token,
            **_TWEET_PARAMS), target_param="query")

    def fetch_user_by_username(self, username: str) -> JsonDict:
        """GET /2/users/by/username/:username -> the user object.
        X answers an unknown name with 200 and only an `errors` entry: that is NotFound.
        https://docs.x.com/x-api/users/lookup/api-reference/get-users-by-username-username"""
        what = f"user lookup @{username}"
        body = self.get_json(what, lambda: self.client.get_user(
            username=username, user_fields=USER_FIELDS))
        user = body.get("data")
        if not isinstance(user, dict) or not user.get("id"):
            errors = body.get("errors")
            detail = describe_error(errors[0]) if isinstance(errors, list) and errors and \
                isinstance(errors[0], dict) else "no such user"
            raise NotFound(NETWORK, f"{what}: {detail}")
        return user

    def close(self) -> None:
        self.client.session.close()
