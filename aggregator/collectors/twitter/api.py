"""Thin wrapper over tweepy's v2 `Client`: the calls we make (collection and list
management), on the shared `HttpApi` base, which alone turns statuses and requests errors
into `aggregator.errors`.

Why the wrapper looks like this:

* **Base URL.** tweepy's `BaseClient.request` hard-codes ``https://api.twitter.com``.
  `RoutedClient` overrides `request` (a documented, public method of tweepy's client) to send
  to the account's `base_url` instead, on this instance only: tweepy itself is never patched.
  The override also passes a timeout (tweepy sets none, so a stalled server would hang
  forever), never logs headers (tweepy's DEBUG line prints ``Authorization: Bearer``), and
  returns every answer as it came: the status is mapped to our errors once, by `HttpApi`
  (`error_for_status`), not first to tweepy's classes and then again to ours.
* **return_type=requests.Response.** No tweepy model objects are built (cheap), the rate-limit
  headers of every response are at hand, and we parse the JSON ourselves so that a garbled
  body is a TransientError instead of a raw `requests.JSONDecodeError`.
* **Rate limits.** ``wait_on_rate_limit=False``: tweepy's own waiting retries without bound
  when a 429 has no reset header, and sleeps with `time.sleep`. Instead each response updates
  a `RateBudget` (``x-rate-limit-remaining``/``x-rate-limit-reset``, epoch seconds), the budget
  pauses before we run dry, and a 429 becomes `RateLimited(retry_at=reset)` which
  `call_with_retry` waits out on the injected clock, a bounded number of times.
* **User context.** List management signs with OAuth 1.0a: the four keys go to the
  constructor (`UserKeys`), and only those calls send ``user_auth=True``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
import tweepy

from aggregator.clock import Clock
from aggregator.collectors.http import HttpApi
from aggregator.collectors.retry import RateBudget, RetryPolicy
from aggregator.collectors.twitter.entities import (
    JsonDict,
    TweetPage,
    describe_error,
    is_not_found,
)
from aggregator.errors import CollectorError, CursorTooOld, NotFound, TransientError

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


@dataclass(frozen=True, slots=True)
class UserKeys:
    """OAuth 1.0a user-context keys (list management acts as the account's user)."""

    consumer_key: str
    consumer_secret: str
    access_token: str
    access_token_secret: str


class RoutedClient(tweepy.Client):
    """A `tweepy.Client` whose requests go to `base_url` (see the module docstring)."""

    def __init__(self, bearer_token: str, *, base_url: str = DEFAULT_BASE_URL,
                 timeout: float = 30.0, keys: UserKeys | None = None) -> None:
        super().__init__(
            bearer_token=bearer_token, return_type=requests.Response, wait_on_rate_limit=False,
            consumer_key=keys.consumer_key if keys else None,
            consumer_secret=keys.consumer_secret if keys else None,
            access_token=keys.access_token if keys else None,
            access_token_secret=keys.access_token_secret if keys else None)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(self, method: str, route: str, params: Any = None, json: Any = None,
                user_auth: bool = False) -> requests.Response:
        """Send and return the answer whatever its status (`TwitterApi` maps it)."""
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
            return response


def _int_header(response: requests.Response, name: str) -> int | None:
    try:
        return int(response.headers[name])
    except (KeyError, ValueError, TypeError):
        return None


def _reset_at(response: requests.Response) -> datetime | None:
    reset = _int_header(response, "x-rate-limit-reset")
    if reset is None:
        return None
    try:
        return datetime.fromtimestamp(reset, UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _body(response: requests.Response) -> JsonDict:
    try:
        parsed = response.json()
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _json_object(what: str, response: requests.Response) -> JsonDict:
    try:
        body = response.json()
    except ValueError as exc:  # requests.JSONDecodeError: a body that is not JSON
        raise TransientError(NETWORK, f"{what}: response is not JSON") from exc
    if not isinstance(body, dict):
        raise TransientError(NETWORK, f"{what}: response is not a JSON object")
    return body


def _errors(body: JsonDict) -> list[JsonDict]:
    errors = body.get("errors")
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


class TwitterApi(HttpApi[requests.Response]):
    """The v2 endpoints we read and write, each paced, retried and translated by `HttpApi`.

    Every method returns parsed JSON and raises only `CollectorError` subclasses.
    """

    network = NETWORK

    def __init__(self, bearer_token: str, *, clock: Clock, base_url: str = DEFAULT_BASE_URL,
                 policy: RetryPolicy | None = None, budget: RateBudget | None = None,
                 timeout: float = 30.0, keys: UserKeys | None = None,
                 credential: str = "the bearer token") -> None:
        super().__init__(
            clock=clock, base_url=base_url, policy=policy, budget=budget, timeout=timeout,
            secrets=[bearer_token, *vars_of(keys)],
            credential=f"{credential} and the app's access level")
        self.client = RoutedClient(bearer_token, base_url=base_url, timeout=timeout, keys=keys)

    # ------------------------------------------------------------------ HttpApi hooks

    def problem(self, response: requests.Response) -> str:
        """X's own explanation: the problem body's title/detail, then the per-parameter
        messages (they say what exactly was wrong, e.g. which since_id)."""
        body = _body(response)
        parts = [describe_error(body)] if body.get("title") or body.get("detail") else []
        for error in _errors(body):
            message = str(error.get("message") or error.get("detail") or "")
            if message and (not parts or message not in parts[0]):
                parts.append(message)
        return "; ".join(parts)

    def rate_limit(self, response: requests.Response) -> tuple[int | None, datetime | None]:
        return _int_header(response, "x-rate-limit-remaining"), _reset_at(response)

    def special_error(self, what: str, status: int, response: requests.Response, detail: str,
                      endpoint: str | None) -> CollectorError | None:
        # Recent search only accepts a since_id from its 7-day window: X says so with a 400
        # whose error names the since_id parameter.
        if status == 400 and any("since_id" in (e.get("parameters") or {})
                                 for e in _errors(_body(response))):
            return CursorTooOld(NETWORK, f"{what}: the saved cursor is too old for since_id "
                                         f"(HTTP 400: {detail})", status=status,
                                endpoint=endpoint)
        return None

    # ------------------------------------------------------------------ plumbing

    def get_json(self, what: str, fn: Callable[[], Any]) -> JsonDict:
        """One tweepy call with pacing, retries and translation; the JSON object it answered."""
        return self.call(what, fn, lambda response: _json_object(what, response))

    def _page(self, what: str, fn: Callable[[], Any], target_param: str = "id") -> TweetPage:
        def read(response: requests.Response) -> TweetPage:
            try:
                return TweetPage.from_json(_json_object(what, response))
            except ValueError as exc:
                raise TransientError(NETWORK, f"{what}: unexpected response: {exc}") from exc

        page = self.call(what, fn, read)
        # An unknown list or user id is a 200 with no data and a resource-not-found error.
        missing = [e for e in page.errors if is_not_found(e, target_param)]
        if not page.data and missing:
            raise NotFound(NETWORK, f"{what}: {describe_error(missing[0])}")
        return page

    # ------------------------------------------------------------------ reading

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
        """GET /2/tweets/search/recent (the last 7 days, newest first). CursorTooOld when
        `since_id` lies before that window.
        https://docs.x.com/x-api/posts/search/api-reference/get-tweets-search-recent"""
        return self._page("recent search", lambda: self.client.search_recent_tweets(
            query, max_results=max_results, since_id=since_id, next_token=next_token,
            **_TWEET_PARAMS), target_param="query")

    def fetch_tweets(self, ids: list[str]) -> TweetPage:
        """GET /2/tweets?ids= (up to 100): the tweets X will show; the others are partial
        ``errors`` (deleted, protected), never a failure of the call.
        https://docs.x.com/x-api/posts/lookup/api-reference/get-tweets"""
        return self._page(f"tweet lookup {','.join(ids[:3])}", lambda: self.client.get_tweets(
            ids[:100], **_TWEET_PARAMS), target_param="")

    def fetch_user_by_username(self, username: str, *, user_auth: bool = False) -> JsonDict:
        """GET /2/users/by/username/:username -> the user object.
        X answers an unknown name with 200 and only an `errors` entry: that is NotFound.
        https://docs.x.com/x-api/users/lookup/api-reference/get-users-by-username-username"""
        what = f"user lookup @{username}"
        body = self.get_json(what, lambda: self.client.get_user(
            username=username, user_fields=USER_FIELDS, user_auth=user_auth))
        user = body.get("data")
        if not isinstance(user, dict) or not user.get("id"):
            errors = _errors(body)
            detail = describe_error(errors[0]) if errors else "no such user"
            raise NotFound(NETWORK, f"{what}: {detail}")
        return user

    # ------------------------------------------------------------------ lists (user context)

    def fetch_list_members(self, list_id: str, *,
                           pagination_token: str | None = None) -> JsonDict:
        """GET /2/lists/:id/members: one page ({"data": [users], "meta": {"next_token"}}).
        An unknown list is a 200 with only a not-found error: NotFound.
        https://docs.x.com/x-api/lists/list-members/api-reference/get-lists-id-members"""
        what = f"list {list_id} members"
        body = self.get_json(what, lambda: self.client.get_list_members(
            list_id, max_results=100, pagination_token=pagination_token,
            user_fields=["username", "name"], user_auth=True))
        errors = _errors(body)
        if not body.get("data") and errors and pagination_token is None:
            raise NotFound(NETWORK, f"list {list_id}: {describe_error(errors[0])}")
        return body

    def add_list_member(self, list_id: str, user_id: str) -> None:
        """POST /2/lists/:id/members (adding a member twice is no error on X)."""
        self.get_json(f"add {user_id} to list {list_id}",
                      lambda: self.client.add_list_member(list_id, user_id))

    def remove_list_member(self, list_id: str, user_id: str) -> None:
        """DELETE /2/lists/:id/members/:user_id (removing a non-member is no error on X)."""
        self.get_json(f"remove {user_id} from list {list_id}",
                      lambda: self.client.remove_list_member(list_id, user_id))

    def create_list(self, name: str) -> str:
        """POST /2/lists; the new list's id (X caps names at 25 characters)."""
        body = self.get_json("create list", lambda: self.client.create_list(name[:25]))
        data = body.get("data")
        if not isinstance(data, dict) or not data.get("id"):
            raise TransientError(NETWORK, "create list: the answer has no list id")
        return str(data["id"])

    def close(self) -> None:
        self.client.session.close()


def vars_of(keys: UserKeys | None) -> list[str]:
    """The secret values of `keys`, to scrub from messages."""
    if keys is None:
        return []
    return [keys.consumer_key, keys.consumer_secret, keys.access_token,
            keys.access_token_secret]
