"""The XRPC calls grandrounds makes on Bluesky, on the `atproto` SDK, errors translated.

The only module that imports `atproto`. Calls go through the SDK's public request layer
(`ClientRaw.invoke_query` / `invoke_procedure`, params as the SDK's typed ``Params``
models) and come back as plain JSON dicts, not typed models: on the recorded 50-item
author feed the SDK's models cost about 1,060 µs per post (`get_or_create` on the parsed
body), against about 115 µs for our whole `normalize` from the JSON and about 220 µs for
the JSON parse the SDK does anyway (measured on this 2-core machine under load; the
figures scale together). The models would dominate a collect, so they are not built.

* **Where calls go.** `base_url` (https://public.api.bsky.app for anonymous reads, the
  entryway https://bsky.social when logged in; a loopback fake in tests).
* **Sessions** (`session.SessionFile`): log in once with createSession, keep the JWTs in a
  0600 file, send ``Authorization: Bearer <access>``; on ``ExpiredToken`` refresh with
  refreshSession (which rotates the refresh token), and log in again only when refreshing
  fails ("Token has been revoked"). Three runs in a row log in once.
* **Rate limits.** ``RateLimit-Remaining``/``-Reset`` (names read case-insensitively; the
  reset is epoch seconds) feed the shared `RateBudget`; a 429 becomes
  `RateLimited(retry_at=reset)`, which `call_with_retry` waits out on the injected clock,
  bounded. An HTML 429 without headers waits the policy's default.
* **Errors** ``{"error", "message"}``: RateLimitExceeded -> RateLimited,
  AuthenticationRequired -> AuthError, InvalidRequest "... not found" -> NotFound, 5xx,
  timeouts, cut bodies and non-JSON answers -> TransientError. The HTTP status alone does
  not say the cause (an expired token is a 400). Messages never hold a password or token.

`_send` is the one place where a request is sent and translated (to move onto a shared
API base later); `_attempt` adds pacing and the session, `call` adds retries.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from atproto_client import models
from atproto_client.client.raw import ClientRaw
from atproto_client.exceptions import (
    BadRequestError,
    NetworkError,
    RateLimitExceededError,
    RequestErrorBase,
    UnauthorizedError,
)
from atproto_client.models.base import ParamsModelBase
from atproto_client.models.common import XrpcError
from atproto_client.request import Request
from atproto_core.exceptions import AtProtocolError

from aggregator.clock import Clock
from aggregator.collectors.bluesky.entities import FeedPage, JsonDict
from aggregator.collectors.bluesky.session import SessionFile, StoredSession
from aggregator.collectors.retry import RateBudget, RetryPolicy, call_with_retry
from aggregator.errors import (
    AuthError,
    AuthMissing,
    CollectorError,
    NotFound,
    RateLimited,
    TransientError,
)
from aggregator.settings import AccountSettings

logger = logging.getLogger(__name__)

NETWORK = "bluesky"
MAX_LIMIT = 100  # getListFeed, getAuthorFeed, getFeed, searchPosts
_TOKEN_ERRORS = {"ExpiredToken", "InvalidToken"}
_NOT_FOUND = {"NotFound", "UnknownFeed", "UnknownList", "ActorNotFound"}


class TokenExpired(AuthError):
    """The access (or refresh) token is no longer accepted: refresh, or log in again."""


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return None


def parse_reset(value: str | None, now: datetime) -> datetime | None:
    """``RateLimit-Reset``: epoch seconds on Bluesky. A small number would be the IETF
    draft's delta-seconds (some proxies): read as seconds from now rather than 1970."""
    try:
        seconds = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    try:
        if seconds < 1_000_000_000:
            return datetime.fromtimestamp(now.timestamp() + max(seconds, 0), UTC)
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _error_of(exc: RequestErrorBase) -> tuple[str, str]:
    """(error name, human message) of an XRPC error body; empty when there is none."""
    content = exc.response.content if exc.response is not None else None
    if isinstance(content, XrpcError):
        return str(content.error or ""), str(content.message or "")
    if isinstance(content, dict):
        return str(content.get("error") or ""), str(content.get("message") or "")
    return "", ""


class BlueskyApi:
    """The calls we make on one account: anonymous (no handle) or logged in."""

    def __init__(self, base_url: str, *, clock: Clock, policy: RetryPolicy | None = None,
                 budget: RateBudget | None = None, timeout: float = 30.0,
                 handle: str | None = None, password: str | None = None,
                 password_env: str | None = None, sessions: SessionFile | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self.budget = budget or RateBudget(clock)
        self.handle = handle
        self._password = password
        self._password_env = password_env
        self._sessions = sessions if sessions is not None or handle is None else \
            SessionFile(handle, self.base_url)
        self._session: StoredSession | None = None
        self.client = ClientRaw(self.base_url, request=Request(timeout=timeout))
        self.requests = 0  # HTTP requests sent, retries and logins included
        self.logins = 0  # createSession calls (limited per day: should stay rare)

    @classmethod
    def from_account(cls, account: AccountSettings, environ: Mapping[str, str], clock: Clock,
                     *, policy: RetryPolicy | None = None, budget: RateBudget | None = None,
                     timeout: float = 30.0, session_dir: Path | None = None) -> BlueskyApi:
        handle = account.handle
        return cls(account.base_url, clock=clock, policy=policy, budget=budget,
                   timeout=timeout, handle=handle,
                   password=account.secret(account.app_password_env, environ),
                   password_env=account.app_password_env,
                   sessions=SessionFile(handle, account.base_url, session_dir)
                   if handle else None)

    @property
    def anonymous(self) -> bool:
        return self.handle is None

    def close(self) -> None:
        self.client.request.close()

    # ------------------------------------------------------------------ endpoints

    def get_list_feed(self, list_uri: str, *, limit: int, cursor: str | None) -> FeedPage:
        return self._page(f"list {list_uri}", "app.bsky.feed.getListFeed",
                          models.AppBskyFeedGetListFeed.Params(
                              list=list_uri, limit=limit, cursor=cursor))

    def get_author_feed(self, actor: str, *, limit: int, cursor: str | None) -> FeedPage:
        return self._page(f"author {actor}", "app.bsky.feed.getAuthorFeed",
                          models.AppBskyFeedGetAuthorFeed.Params(
                              actor=actor, limit=limit, cursor=cursor))

    def get_feed(self, feed_uri: str, *, limit: int, cursor: str | None) -> FeedPage:
        return self._page(f"feed {feed_uri}", "app.bsky.feed.getFeed",
                          models.AppBskyFeedGetFeed.Params(
                              feed=feed_uri, limit=limit, cursor=cursor))

    def search_posts(self, query: str, *, limit: int, cursor: str | None) -> FeedPage:
        """searchPosts, newest first (``sort=latest``); needs a login since 2025."""
        return self._page(f"search {query!r}", "app.bsky.feed.searchPosts",
                          models.AppBskyFeedSearchPosts.Params(
                              q=query, sort="latest", limit=limit, cursor=cursor), key="posts")

    def get_list(self, list_uri: str) -> JsonDict:
        """getList (one member): the list's view; NotFound ("List not found") when it is
        gone. getListFeed cannot tell: a missing list's feed is a 200 with no items."""
        body = self.call(f"list {list_uri}", "app.bsky.graph.getList",
                         models.AppBskyGraphGetList.Params(list=list_uri, limit=1))
        view = body.get("list")
        if not isinstance(view, dict):
            raise TransientError(NETWORK, f"list {list_uri}: the answer has no list")
        return view

    def resolve_handle(self, handle: str) -> str:
        body = self.call(f"handle {handle}", "com.atproto.identity.resolveHandle",
                         models.ComAtprotoIdentityResolveHandle.Params(handle=handle))
        did = body.get("did")
        if not isinstance(did, str) or not did.startswith("did:"):
            raise TransientError(NETWORK, f"handle {handle}: the answer has no DID")
        return did

    # ------------------------------------------------------------------ plumbing

    def _page(self, what: str, nsid: str, params: ParamsModelBase,
              key: str = "feed") -> FeedPage:
        def attempt() -> FeedPage:
            body = self._attempt(what, nsid, params)
            try:
                return FeedPage.from_json(body, key)
            except ValueError as exc:
                raise TransientError(NETWORK, f"{what}: unexpected answer: {exc}") from exc

        return call_with_retry(attempt, what=what, clock=self.clock, policy=self.policy)

    def call(self, what: str, nsid: str, params: ParamsModelBase | None = None) -> JsonDict:
        """One XRPC query with pacing, session, retries and error translation."""
        result: JsonDict = call_with_retry(lambda: self._attempt(what, nsid, params),
                                           what=what, clock=self.clock, policy=self.policy)
        return result

    def _attempt(self, what: str, nsid: str, params: ParamsModelBase | None) -> JsonDict:
        """Pace, send with the session (logging in when there is none), and on an expired
        token renew the session once and send again."""
        self.budget.before_request()
        if self.anonymous:
            return self._send(what, nsid, params)
        try:
            return self._send(what, nsid, params, token=self._access())
        except TokenExpired:
            logger.info("Bluesky session of %s expired; renewing it", self.handle)
            self._renew()
            self.budget.before_request()
            return self._send(what, nsid, params, token=self._access())

    def _send(self, what: str, nsid: str, params: ParamsModelBase | None = None, *,
              data: Any = None, token: str | None = None, procedure: bool = False) -> JsonDict:
        """Send one request and translate every failure into `aggregator.errors`."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        logger.debug("Bluesky request: %s %s", nsid, what)  # never the headers or data
        self.requests += 1
        try:
            invoke = self.client.invoke_procedure if procedure else self.client.invoke_query
            response = invoke(nsid, params=params, data=data, headers=headers)
        except RequestErrorBase as exc:
            if exc.response is not None:
                self._note_limits(exc.response.headers)
            raise self._translate(what, exc) from exc
        except (httpx.HTTPError, AtProtocolError, ValueError) as exc:
            # cut or garbled bodies (httpx.RemoteProtocolError, a JSON decode error)
            raise TransientError(NETWORK, f"{what}: {type(exc).__name__}: bad answer from "
                                          f"{self.base_url}") from exc
        self._note_limits(response.headers)
        if not isinstance(response.content, dict):
            raise TransientError(NETWORK, f"{what}: the answer from {self.base_url} is not "
                                          f"JSON (HTTP {response.status_code})")
        return response.content

    def _note_limits(self, headers: Mapping[str, Any]) -> None:
        remaining: int | None
        try:
            remaining = int(_header(headers, "ratelimit-remaining") or "")
        except ValueError:
            remaining = None
        self.budget.update(remaining, parse_reset(_header(headers, "ratelimit-reset"),
                                                  self.clock.now()))

    def _translate(self, what: str, exc: RequestErrorBase) -> CollectorError:
        status = exc.response.status_code if exc.response is not None else None
        error, message = _error_of(exc)
        detail = " ".join(f"{error}: {message}".strip(": ").split())[:200]
        detail = self._scrub(detail)
        shown = f" ({detail})" if detail else ""
        if isinstance(exc, RateLimitExceededError) or status == 429 or \
                error == "RateLimitExceeded":
            reset = parse_reset(_header(exc.response.headers, "ratelimit-reset"),
                                self.clock.now()) if exc.response is not None else None
            return RateLimited(NETWORK, f"{what}: rate limited by {self.base_url}", reset)
        if error in _TOKEN_ERRORS and not self.anonymous:
            return TokenExpired(NETWORK, f"{what}: session no longer accepted{shown}")
        if isinstance(exc, UnauthorizedError) or error == "AuthenticationRequired":
            hint = ("needs a login: set handle and app_password_env on the account"
                    if self.anonymous else "was refused for this login")
            return AuthError(NETWORK, f"{what} {hint}{shown}")
        if error in _NOT_FOUND or (error == "InvalidRequest" and any(
                words in message.lower() for words in ("not found", "unable to resolve"))):
            return NotFound(NETWORK, f"{what}: not found on {self.base_url}{shown}")
        if isinstance(exc, NetworkError) or status is None or status >= 500 or status == 408:
            cause = f"HTTP {status}" if status else type(exc).__name__
            return TransientError(NETWORK, f"{what}: {cause} from {self.base_url}{shown}")
        if isinstance(exc, BadRequestError):
            return CollectorError(NETWORK, f"{what}: request refused (HTTP 400{shown and ', '}"
                                           f"{detail})")
        return CollectorError(NETWORK, f"{what}: HTTP {status}{shown}")

    def _scrub(self, text: str) -> str:
        for secret in (self._password, *(
                (self._session.access_jwt, self._session.refresh_jwt) if self._session else ())):
            if secret:
                text = text.replace(secret, "***")
        return text

    # ------------------------------------------------------------------ sessions

    def _access(self) -> str:
        if self._session is None and self._sessions is not None:
            self._session = self._sessions.load()
        if self._session is None:
            self._login()
        assert self._session is not None
        return self._session.access_jwt

    def _renew(self) -> None:
        """refreshSession with the refresh token; createSession when that is refused."""
        if self._session is not None:
            try:
                body = self._send(f"refresh session of {self.handle}",
                                  "com.atproto.server.refreshSession",
                                  token=self._session.refresh_jwt, procedure=True)
                self._store(body)
                return
            except AuthError as exc:  # "Token has been revoked", or expired
                logger.info("Bluesky session of %s cannot be refreshed (%s); logging in",
                            self.handle, exc.message)
        self._login()

    def _login(self) -> None:
        if not self._password:
            var = self._password_env or "app_password_env"
            raise AuthError(NETWORK, f"login as {self.handle} needs an app password: set the "
                                     f"environment variable {var}")
        self.logins += 1
        logger.info("Bluesky: logging in as %s (createSession)", self.handle)
        data = models.ComAtprotoServerCreateSession.Data(identifier=self.handle or "",
                                                         password=self._password)
        try:
            body = self._send(f"login as {self.handle}", "com.atproto.server.createSession",
                              data=data, procedure=True)
        except TokenExpired as exc:
            raise AuthError(NETWORK, exc.message) from exc
        self._store(body)

    def _store(self, body: JsonDict) -> None:
        session = StoredSession.from_json(body)
        if session is None:
            raise TransientError(NETWORK, f"session of {self.handle}: the answer has no tokens")
        self._session = session
        if self._sessions is not None:
            self._sessions.save(self._session)

    # ------------------------------------------------------------------ list management
    # For curation (`aggregator.curation.remote.BlueskyLists`). Reads work anonymously;
    # writes are records in the logged-in account's own repo.

    def get_list_page(self, list_uri: str, *, limit: int = MAX_LIMIT,
                      cursor: str | None = None) -> JsonDict:
        """One page of getList: ``items`` (listitem record URI + subject profile) and, when
        more may follow, an opaque ``cursor``."""
        return self.call(f"list {list_uri}", "app.bsky.graph.getList",
                         models.AppBskyGraphGetList.Params(list=list_uri, limit=limit,
                                                           cursor=cursor))

    def get_starter_pack(self, uri: str) -> JsonDict:
        body = self.call(f"starter pack {uri}", "app.bsky.graph.getStarterPack",
                         models.AppBskyGraphGetStarterPack.Params(starter_pack=uri))
        view = body.get("starterPack")
        if not isinstance(view, dict):
            raise TransientError(NETWORK, f"starter pack {uri}: the answer has no pack")
        return view

    def own_did(self) -> str:
        """The logged-in account's DID (from the stored session, logging in if needed)."""
        self._need_login("changing records")
        self._access()
        assert self._session is not None
        return self._session.did

    def create_record(self, collection: str, record: JsonDict) -> str:
        """createRecord in our own repo; returns the new record's at:// URI.

        Not retried after a transient failure: the server may have written the record
        before the answer was lost, and a second create would duplicate it. The caller
        recomputes what is left from the list instead. A 429 (nothing written) is waited
        out as usual."""
        repo = self.own_did()
        data = models.ComAtprotoRepoCreateRecord.Data(repo=repo, collection=collection,
                                                      record=record)
        body = self._write(f"create {collection}", "com.atproto.repo.createRecord", data,
                           retry_transient=False)
        uri = body.get("uri")
        if not isinstance(uri, str) or not uri.startswith("at://"):
            raise TransientError(NETWORK, f"create {collection}: the answer has no URI")
        return uri

    def delete_record(self, collection: str, rkey: str) -> None:
        """deleteRecord in our own repo. Deleting a record that is already gone answers
        200 ``{}``: done, so retrying is safe."""
        data = models.ComAtprotoRepoDeleteRecord.Data(repo=self.own_did(),
                                                      collection=collection, rkey=rkey)
        self._write(f"delete {collection}/{rkey}", "com.atproto.repo.deleteRecord", data,
                    retry_transient=True)

    def _need_login(self, doing: str) -> None:
        if self.anonymous:
            raise AuthMissing(NETWORK, f"{doing} needs a login: set handle and "
                                       "app_password_env on the account")
        if not self._password and (self._sessions is None or self._sessions.load() is None):
            var = self._password_env or "app_password_env"
            raise AuthMissing(NETWORK, f"{doing} as {self.handle} needs an app password: "
                                       f"set the environment variable {var}")

    def _write(self, what: str, nsid: str, data: Any, *, retry_transient: bool) -> JsonDict:
        """One XRPC procedure with the session (renewed once on an expired token)."""
        def attempt() -> JsonDict:
            self.budget.before_request()
            try:
                return self._send(what, nsid, data=data, token=self._access(), procedure=True)
            except TokenExpired:
                self._renew()
                self.budget.before_request()
                return self._send(what, nsid, data=data, token=self._access(), procedure=True)

        policy = self.policy if retry_transient else replace(self.policy, attempts=1)
        result: JsonDict = call_with_retry(attempt, what=what, clock=self.clock, policy=policy)
        return result
