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

`BlueskyApi` is an `HttpApi`: pacing, the status map (`error_for_status`), failure phrases
(`describe_failure`), scrubbing and retries are the shared ones; this module adds only the
XRPC specifics (hooks `problem`, `rate_limit`, `special_error`) and the session. `query` /
`procedure` are the one way to make an XRPC call (list management uses them too).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from atproto_client import models
from atproto_client.client.raw import ClientRaw
from atproto_client.exceptions import RequestErrorBase
from atproto_client.models.base import ParamsModelBase
from atproto_client.models.common import XrpcError
from atproto_client.request import Request

from aggregator.clock import Clock
from aggregator.collectors.bluesky.entities import FeedPage, JsonDict
from aggregator.collectors.bluesky.session import SessionFile, StoredSession
from aggregator.collectors.http import HttpApi
from aggregator.collectors.retry import RateBudget, RetryPolicy
from aggregator.errors import (
    AuthMissing,
    AuthRejected,
    CollectorError,
    NotFound,
    RateLimited,
    TransientError,
)
from aggregator.settings import AccountSettings

logger = logging.getLogger(__name__)
T = TypeVar("T")

NETWORK = "bluesky"
MAX_LIMIT = 100  # getListFeed, getAuthorFeed, getFeed, searchPosts
GET_POSTS_MAX = 25  # uris per getPosts
_TOKEN_ERRORS = {"ExpiredToken", "InvalidToken"}
_NOT_FOUND = {"NotFound", "UnknownFeed", "UnknownList", "ActorNotFound"}


class TokenExpired(AuthRejected):
    """The access (or refresh) token is no longer accepted: refresh, or log in again."""


@dataclass(frozen=True, slots=True)
class XrpcAnswer:
    """One XRPC answer as `HttpApi` reads it (status, headers, url), with the body atproto
    parsed: a JSON dict, an `XrpcError` for an error body, bytes for anything not JSON.
    atproto raises its own classes for error statuses; the answer they carry becomes one
    of these, so the shared status map alone decides what a status means."""

    status_code: int
    headers: Mapping[str, str]  # names lowercased by atproto
    url: str
    body: Any


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


def _error_of(body: Any) -> tuple[str, str]:
    """(error name, human message) of an XRPC error body; empty when there is none."""
    if isinstance(body, XrpcError):
        return str(body.error or ""), str(body.message or "")
    if isinstance(body, dict):
        return str(body.get("error") or ""), str(body.get("message") or "")
    return "", ""


def _object(what: str) -> Callable[[XrpcAnswer], JsonDict]:
    def read(answer: XrpcAnswer) -> JsonDict:
        if not isinstance(answer.body, dict):
            raise TransientError(NETWORK, f"{what}: the answer is not JSON "
                                          f"(HTTP {answer.status_code})")
        return answer.body
    return read


def _feed(what: str, key: str) -> Callable[[XrpcAnswer], FeedPage]:
    def read(answer: XrpcAnswer) -> FeedPage:
        try:
            return FeedPage.from_json(_object(what)(answer), key)
        except ValueError as exc:
            raise TransientError(NETWORK, f"{what}: unexpected answer: {exc}") from exc
    return read


class BlueskyApi(HttpApi[XrpcAnswer]):
    """The calls we make on one account: anonymous (no handle) or logged in."""

    network = NETWORK

    def __init__(self, base_url: str, *, clock: Clock, policy: RetryPolicy | None = None,
                 budget: RateBudget | None = None, timeout: float = 30.0,
                 handle: str | None = None, password: str | None = None,
                 password_env: str | None = None, sessions: SessionFile | None = None,
                 account: str = "the account") -> None:
        base_url = base_url.rstrip("/")
        super().__init__(
            clock=clock, base_url=base_url, policy=policy, budget=budget, timeout=timeout,
            secrets=[password], credential=password_env or f"the app password of {account}",
            missing_credential=None if handle else
            f"a login: set handle and app_password_env on accounts.{account}")
        self.handle = handle
        self._password = password
        self._password_env = password_env
        self._sessions = sessions if sessions is not None or handle is None else \
            SessionFile(handle, self.base_url)
        self._session: StoredSession | None = None
        self.client = ClientRaw(self.base_url, request=Request(timeout=timeout))
        self.logins = 0  # createSession calls (limited per day: should stay rare)

    @classmethod
    def from_account(cls, account: AccountSettings, environ: Mapping[str, str], clock: Clock,
                     *, policy: RetryPolicy | None = None, budget: RateBudget | None = None,
                     timeout: float = 30.0, session_dir: Path | None = None) -> BlueskyApi:
        handle = account.handle
        return cls(account.base_url, clock=clock, policy=policy, budget=budget,
                   timeout=timeout, handle=handle,
                   password=account.secret(account.app_password_env, environ),
                   password_env=account.app_password_env, account=account.name,
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
                              q=query, sort="latest", limit=limit, cursor=cursor), "posts")

    def get_posts(self, uris: list[str]) -> list[JsonDict]:
        """getPosts (at most `GET_POSTS_MAX` URIs): the postViews of those that still
        exist. A deleted post (or one whose author left) is simply missing from the answer,
        which is how recheck finds deletions; free, unlike X."""
        if len(uris) > GET_POSTS_MAX:
            raise ValueError(f"getPosts takes at most {GET_POSTS_MAX} URIs")
        page = self._page(f"{len(uris)} posts", "app.bsky.feed.getPosts",
                          models.AppBskyFeedGetPosts.Params(uris=uris), "posts")
        return [entry.post for entry in page.entries]

    def get_post_thread(self, uri: str, *, depth: int = 10, parent_height: int = 80) -> JsonDict:
        """getPostThread: ``{thread}``, a #threadViewPost (parent chain, nested replies), or
        a #notFoundPost / #blockedPost for the post itself. A deleted post may also be a
        400 "Post not found" (NotFound)."""
        body = self.query(f"thread {uri}", "app.bsky.feed.getPostThread",
                          models.AppBskyFeedGetPostThread.Params(
                              uri=uri, depth=depth, parent_height=parent_height))
        if not isinstance(body.get("thread"), dict):
            raise TransientError(NETWORK, f"thread {uri}: the answer has no thread")
        return body

    def get_list(self, list_uri: str) -> JsonDict:
        """getList (one member): the list's view; NotFound ("List not found") when it is
        gone. getListFeed cannot tell: a missing list's feed is a 200 with no items."""
        body = self.query(f"list {list_uri}", "app.bsky.graph.getList",
                          models.AppBskyGraphGetList.Params(list=list_uri, limit=1))
        view = body.get("list")
        if not isinstance(view, dict):
            raise TransientError(NETWORK, f"list {list_uri}: the answer has no list")
        return view

    def resolve_handle(self, handle: str) -> str:
        body = self.query(f"handle {handle}", "com.atproto.identity.resolveHandle",
                          models.ComAtprotoIdentityResolveHandle.Params(handle=handle))
        did = body.get("did")
        if not isinstance(did, str) or not did.startswith("did:"):
            raise TransientError(NETWORK, f"handle {handle}: the answer has no DID")
        return did

    # ------------------------------------------------------------------ plumbing

    def _page(self, what: str, nsid: str, params: ParamsModelBase,
              key: str = "feed") -> FeedPage:
        return self.xrpc(what, nsid, _feed(what, key), params=params)

    def query(self, what: str, nsid: str, params: ParamsModelBase | None = None) -> JsonDict:
        """One XRPC query (GET) as a JSON object: paced, with the session, retried and
        translated. `what` names it in messages ("list at://…"), never a token."""
        return self.xrpc(what, nsid, _object(what), params=params)

    def procedure(self, what: str, nsid: str, data: Any, *,
                  retry_transient: bool = True) -> JsonDict:
        """One XRPC procedure (POST) as a JSON object. `retry_transient=False` for a write
        that must not be sent twice when its answer is lost (a 429 is still waited out:
        nothing was written)."""
        policy = None if retry_transient else replace(self.policy, attempts=1)
        return self.xrpc(what, nsid, _object(what), data=data, procedure=True, policy=policy)

    def xrpc(self, what: str, nsid: str, read: Callable[[XrpcAnswer], T], *,
             params: ParamsModelBase | None = None, data: Any = None, procedure: bool = False,
             policy: RetryPolicy | None = None) -> T:
        """Send with the session (logging in when there is none); on an expired token
        renew the session once and send again."""
        def once() -> T:
            token = None if self.anonymous else self._access()
            return self.call(what, self._sender(what, nsid, params, data, procedure, token),
                             read, endpoint=f"/xrpc/{nsid}", policy=policy)

        try:
            return once()
        except TokenExpired:
            if self.anonymous:
                raise
            logger.info("Bluesky session of %s expired; renewing it", self.handle)
            self._renew()
            return once()

    def _sender(self, what: str, nsid: str, params: ParamsModelBase | None, data: Any,
                procedure: bool, token: str | None) -> Callable[[], XrpcAnswer]:
        """ONE request through atproto's public request layer, for `HttpApi.call`."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        invoke = self.client.invoke_procedure if procedure else self.client.invoke_query
        url = f"{self.base_url}/xrpc/{nsid}"

        def send() -> XrpcAnswer:
            logger.debug("Bluesky request: %s %s", nsid, what)  # never the headers or data
            try:
                result = invoke(nsid, params=params, data=data, headers=headers)
            except RequestErrorBase as exc:
                if exc.response is None:  # no answer: timeouts, refused connections
                    raise
                result = exc.response
            return XrpcAnswer(result.status_code, result.headers, url, result.content)

        return send

    # ------------------------------------------------------------------ HttpApi hooks

    def scrub(self, text: str) -> str:
        """`text` without the app password or the session's tokens (they rotate)."""
        if self._session is not None:
            for token in (self._session.access_jwt, self._session.refresh_jwt):
                text = text.replace(token, "***")
        return super().scrub(text)

    def problem(self, response: XrpcAnswer) -> str:
        """Bluesky's explanation: ``error: message`` of the XRPC error body."""
        error, message = _error_of(response.body)
        return f"{error}: {message}".strip(": ")

    def rate_limit(self, response: XrpcAnswer) -> tuple[int | None, datetime | None]:
        remaining: int | None
        try:
            remaining = int(response.headers.get("ratelimit-remaining", ""))
        except (TypeError, ValueError):
            remaining = None
        return remaining, parse_reset(response.headers.get("ratelimit-reset"),
                                      self.clock.now())

    def special_error(self, what: str, status: int, response: XrpcAnswer, detail: str,
                      endpoint: str | None) -> CollectorError | None:
        """The HTTP status alone does not say the cause on Bluesky: an expired token or a
        missing list is a 400 that names it in ``error`` (and ``message``)."""
        error, message = _error_of(response.body)
        why = f"HTTP {status}" + (f": {detail}" if detail else "")
        if error == "RateLimitExceeded" and status != 429:
            return RateLimited(NETWORK, f"{what}: rate limited by {self.host} ({why})",
                               self.rate_limit(response)[1], status=status, endpoint=endpoint)
        if error in _TOKEN_ERRORS and not self.anonymous:
            return TokenExpired(NETWORK, f"{what}: session no longer accepted ({why})",
                                status=status, endpoint=endpoint)
        if error in _NOT_FOUND or (error == "InvalidRequest" and any(
                words in message.lower() for words in ("not found", "unable to resolve"))):
            return NotFound(NETWORK, f"{what}: not found on {self.host} ({why})",
                            status=status, endpoint=endpoint)
        return None

    def library_error(self, what: str, exc: Exception, response: XrpcAnswer | None,
                      endpoint: str | None) -> CollectorError:
        if isinstance(exc, ValueError):  # atproto's JSON parse of a cut or garbled body
            return TransientError(NETWORK, f"{what}: the answer is not JSON",
                                  endpoint=endpoint)
        return super().library_error(what, exc, response, endpoint)

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
            what = f"refresh session of {self.handle}"
            try:
                self._store(self.call(
                    what, self._sender(what, "com.atproto.server.refreshSession", None, None,
                                       True, self._session.refresh_jwt),
                    _object(what), endpoint="/xrpc/com.atproto.server.refreshSession"))
                return
            except AuthRejected as exc:  # "Token has been revoked", or expired
                logger.info("Bluesky session of %s cannot be refreshed (%s); logging in",
                            self.handle, exc.message)
        self._login()

    def _login(self) -> None:
        if not self._password:
            var = self._password_env or "app_password_env"
            raise AuthMissing(NETWORK, f"login as {self.handle} needs an app password: set "
                                       f"the environment variable {var}")
        self.logins += 1
        logger.info("Bluesky: logging in as %s (createSession)", self.handle)
        what = f"login as {self.handle}"
        data = models.ComAtprotoServerCreateSession.Data(identifier=self.handle or "",
                                                         password=self._password)
        nsid = "com.atproto.server.createSession"
        try:
            body = self.call(what, self._sender(what, nsid, None, data, True, None),
                             _object(what), endpoint=f"/xrpc/{nsid}")
        except TokenExpired as exc:
            raise AuthRejected(NETWORK, exc.message, status=exc.status,
                               endpoint=exc.endpoint) from exc
        self._store(body)

    def _store(self, body: JsonDict) -> None:
        session = StoredSession.from_json(body)
        if session is None:
            raise TransientError(NETWORK, f"session of {self.handle}: the answer has no tokens")
        self._session = session
        if self._sessions is not None:
            self._sessions.save(self._session)

    # ------------------------------------------------------------------ list management
    # For curation (`aggregator.curation.remote_apis.BlueskyLists`). Reads work anonymously;
    # writes are records in the logged-in account's own repo.

    def get_list_page(self, list_uri: str, *, limit: int = MAX_LIMIT,
                      cursor: str | None = None) -> JsonDict:
        """One page of getList: ``items`` (listitem record URI + subject profile) and, when
        more may follow, an opaque ``cursor``."""
        return self.query(f"list {list_uri}", "app.bsky.graph.getList",
                          models.AppBskyGraphGetList.Params(list=list_uri, limit=limit,
                                                            cursor=cursor))

    def get_starter_pack(self, uri: str) -> JsonDict:
        body = self.query(f"starter pack {uri}", "app.bsky.graph.getStarterPack",
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
        body = self.procedure(f"create {collection}", "com.atproto.repo.createRecord", data,
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
        self.procedure(f"delete {collection}/{rkey}", "com.atproto.repo.deleteRecord", data)

    def _need_login(self, doing: str) -> None:
        if self.anonymous:
            raise AuthMissing(NETWORK, f"{doing} needs a login: set handle and "
                                       "app_password_env on the account")
        if not self._password and (self._sessions is None or self._sessions.load() is None):
            var = self._password_env or "app_password_env"
            raise AuthMissing(NETWORK, f"{doing} as {self.handle} needs an app password: "
                                       f"set the environment variable {var}")
