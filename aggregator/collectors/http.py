"""The HTTP base every network's ``api.py`` builds on: pace -> send -> translate -> retry.

A network's API wrapper subclasses `HttpApi` and calls `self.request(what, send)`, where
`send` makes ONE request through the network's library and returns its answer (or raises
the library's error). An answer is anything with `status_code`, `headers` and `url`
(`Answer`): a `requests.Response` (Mastodon.py, tweepy), or what a network builds from
its library's own response (Bluesky: atproto over httpx). The base then, for every attempt:

1. paces: `RateBudget.before_request()` waits when the account's budget is nearly spent;
2. sends and counts (`self.requests`: requests sent, retries included, for the run log);
3. reads the rate-limit headers (`rate_limit` hook) into the budget;
4. translates: an HTTP status >= 400 becomes an `aggregator.errors` class through
   `error_for_status` (the ONE status map), a failure without an answer becomes
   `Unreachable`/`TransientError` with a short phrase from `describe_failure`;
5. retries: `call_with_retry` retries `TransientError` and waits out `RateLimited`.

Hooks a network overrides (all optional except `network`):

* `problem(response)`: the server's own explanation from an error body (one short line);
* `rate_limit(response)`: (remaining, reset_at) from the network's headers;
* `special_error(...)`: a status that means something more precise on this network
  (X: a 400 about ``since_id`` is `CursorTooOld`); None keeps the shared map;
* `response_of(exc)`: the response a library error was raised for (Mastodon.py raises
  its own classes for statuses), so the status map is still applied once;
* `library_error(...)`: a library error raised on a 2xx answer (garbled body, ...).

Every message goes through `scrub` (tokens and keys become ``***``) and `shorten` (cut at
a word boundary with "…", never mid-word).
"""

from __future__ import annotations

import errno
import http.client
import logging
import socket
import ssl
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import ClassVar, Generic, Protocol, TypeVar
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from aggregator.clock import Clock
from aggregator.collectors.jsonval import shorten
from aggregator.collectors.retry import RateBudget, RetryPolicy, call_with_retry
from aggregator.errors import (
    AuthMissing,
    AuthRejected,
    CollectorError,
    NotFound,
    RateLimited,
    TransientError,
    Unreachable,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")


class Answer(Protocol):
    """What the base reads of an HTTP answer; `requests.Response` and `httpx.Response`
    both have it."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def url(self) -> object: ...


R = TypeVar("R", bound=Answer)


class StatusError(Exception):
    """The cause under a status error: carries the answer (as httpx's errors do), for a
    debugger or a log."""

    def __init__(self, message: str, response: Answer) -> None:
        super().__init__(message)
        self.response = response


def _httpx(*names: str) -> tuple[type[BaseException], ...]:
    """httpx's exception classes `names`, when httpx is loaded (atproto, Bluesky's SDK,
    sends with it). Not imported here: a Mastodon or X run would pay its import time for
    errors it can never see; an httpx error exists only once httpx is imported."""
    module = sys.modules.get("httpx")
    kinds = [getattr(module, name, None) for name in names] if module else []
    return tuple(k for k in kinds if isinstance(k, type) and issubclass(k, BaseException))

def host_of(url: str) -> str:
    """`host[:port]` of a URL, for messages ("connection refused by 127.0.0.1:9")."""
    return urlsplit(url).netloc or url


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and everything under it: causes, contexts, urllib3's `reason`, and the
    exceptions requests and urllib3 wrap in their args."""
    todo, seen = [exc], set()
    while todo:
        item = todo.pop(0)
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        nested = [item.__cause__, item.__context__, getattr(item, "reason", None),
                  *(a for a in item.args if isinstance(a, BaseException))]
        todo += [n for n in nested if isinstance(n, BaseException)]


def describe_failure(exc: BaseException, host: str, timeout: float | None) -> str:
    """A short phrase for a request that got no (whole) answer, from the requests, urllib3,
    httpx or socket error underneath any library wrapper: "cannot reach host: name not found",
    "connection refused by host", "timed out after 30 s waiting for host", ..."""
    chain = list(_chain(exc))

    def has(*kinds: type[BaseException]) -> bool:
        return any(isinstance(e, kinds) for e in chain)

    def errno_in(*codes: int) -> bool:
        return any(isinstance(e, OSError) and e.errno in codes for e in chain)

    texts = " ".join(str(e) for e in chain)
    if has(socket.gaierror, urllib3.exceptions.NameResolutionError) or any(
            s in texts for s in ("Name or service not known", "nodename nor servname",
                                 "Temporary failure in name resolution")):
        return f"cannot reach {host}: name not found"
    if has(ConnectionRefusedError) or errno_in(errno.ECONNREFUSED):
        return f"connection refused by {host}"
    if has(requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError,
           *_httpx("TimeoutException")):
        after = f" after {timeout:g} s" if timeout else ""
        return f"timed out{after} waiting for {host}"
    if has(ssl.SSLError):
        return f"cannot reach {host}: TLS handshake failed"
    # httpx (h11) says "peer closed connection without sending complete message body"
    if has(requests.exceptions.ChunkedEncodingError, http.client.IncompleteRead,
           requests.exceptions.ContentDecodingError, *_httpx("DecodingError")) or (
            has(*_httpx("RemoteProtocolError")) and "complete message body" in texts):
        return f"connection to {host} closed in the middle of an answer"
    if has(ConnectionResetError, http.client.RemoteDisconnected,
           urllib3.exceptions.ProtocolError, *_httpx("RemoteProtocolError")) or errno_in(
            errno.ECONNRESET, errno.EPIPE):
        return f"connection to {host} was reset"
    if has(OSError) and (code := next((e.errno for e in chain if isinstance(e, OSError)
                                       and e.errno), None)):
        return f"cannot reach {host}: {shorten(errno.errorcode.get(code, str(code)))}"
    return f"cannot reach {host}: {type(exc).__name__}"


def _is_transport(exc: BaseException) -> bool:
    return any(isinstance(e, (requests.RequestException, urllib3.exceptions.HTTPError,
                              OSError, http.client.HTTPException, *_httpx("TransportError")))
               for e in _chain(exc))


def error_for_status(network: str, what: str, status: int, *, host: str, detail: str = "",
                     endpoint: str | None = None, retry_at: datetime | None = None,
                     credential: str | None = None,
                     missing_credential: str | None = None) -> CollectorError:
    """The one map from an HTTP error status to `aggregator.errors`, for every network.

    `detail` is the server's explanation (already short and scrubbed); `credential` names
    what to check when a credential is refused ("ROUNDS_MED_TOKEN"); `missing_credential`,
    when no credential was sent at all, says how to configure one (then a 401/403 is
    `AuthMissing`, not `AuthRejected`)."""
    why = f"HTTP {status}" + (f": {detail}" if detail else "")
    if status == 429:
        return RateLimited(network, f"{what}: rate limited by {host} ({why})", retry_at,
                           status=status, endpoint=endpoint)
    if status in (401, 403):
        if missing_credential is not None:
            return AuthMissing(network, f"{what} needs {missing_credential}",
                               status=status, endpoint=endpoint)
        check = f": check {credential}" if credential else ""
        return AuthRejected(network, f"{what} was rejected ({why}){check}",
                            status=status, endpoint=endpoint)
    if status in (404, 410):
        return NotFound(network, f"{what}: not found on {host} ({why})", status=status,
                        endpoint=endpoint)
    if status >= 500 or status == 408:
        return TransientError(network, f"{what}: server error ({why})", status=status,
                              endpoint=endpoint)
    return CollectorError(network, f"{what}: request refused ({why})", status=status,
                          endpoint=endpoint)


class HttpApi(Generic[R]):
    """Base of a network's API wrapper (see the module docstring for the hooks), over
    answers of type `R` (`requests.Response`, or the network's own `Answer`).

    Subclasses set `network` and call `__init__` with what they were given; everything
    else (`requests`, `scrub`, `request`) is shared.
    """

    network: ClassVar[str]

    def __init__(self, *, clock: Clock, base_url: str, policy: RetryPolicy | None = None,
                 budget: RateBudget | None = None, timeout: float | None = 30.0,
                 secrets: Iterable[str | None] = (), credential: str | None = None,
                 missing_credential: str | None = None) -> None:
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self.budget = budget or RateBudget(clock)
        self.base_url = base_url
        self.host = host_of(base_url)
        self.timeout = timeout
        self.requests = 0  # HTTP requests sent, retries included (for the run log)
        self.credential = credential  # where the credential comes from, for messages
        self.missing_credential = missing_credential  # set when none is configured
        self._secrets = [s for s in secrets if s]  # only to scrub them, never logged

    # ------------------------------------------------------------------ shared

    def scrub(self, text: str) -> str:
        """`text` without any of this account's secrets, on one short line."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return shorten(text)

    def request(self, what: str, send: Callable[[], R], *,
                endpoint: str | None = None) -> R:
        """Send with pacing, translation and retries; the answer, whose status is < 400.

        `what` names the request in messages ("list 42"), never a token."""
        return self.call(what, send, lambda response: response, endpoint=endpoint)

    def call(self, what: str, send: Callable[[], R], read: Callable[[R], T], *,
             endpoint: str | None = None, policy: RetryPolicy | None = None) -> T:
        """Like `request`, then `read` the answer inside the same attempt, so that a body
        `read` rejects with `TransientError` (not JSON, not the expected shape) is retried
        like a failed request. `policy` replaces the account's for this call (a write
        that must not be sent twice)."""
        def attempt() -> T:
            return read(self._attempt(what, send, endpoint))

        return call_with_retry(attempt, what=what, clock=self.clock,
                               policy=policy or self.policy)

    def _attempt(self, what: str, send: Callable[[], R], endpoint: str | None) -> R:
        self.budget.before_request()
        self.requests += 1
        failed: Exception | None = None
        try:
            response: R | None = send()
        except Exception as exc:  # the library's or requests' own classes, translated below
            response = self.response_of(exc)
            if response is None:
                raise self._failure(what, exc, endpoint) from exc
            failed = exc
        if response is None:
            raise TransientError(self.network, f"{what}: no answer", endpoint=endpoint)
        self.budget.update(*self.rate_limit(response))
        if response.status_code >= 400:
            endpoint = endpoint or urlsplit(str(response.url or "")).path or None
            cause = failed or StatusError(f"HTTP {response.status_code}", response)
            raise self._status_error(what, response, endpoint) from cause
        if failed is not None:
            raise self.library_error(what, failed, response, endpoint) from failed
        return response

    def _failure(self, what: str, exc: Exception, endpoint: str | None) -> CollectorError:
        if not _is_transport(exc):
            return self.library_error(what, exc, None, endpoint)
        phrase = self.scrub(describe_failure(exc, self.host, self.timeout))
        kind = TransientError if "closed in the middle" in phrase else Unreachable
        return kind(self.network, f"{what}: {phrase}", endpoint=endpoint)

    def _status_error(self, what: str, response: R,
                      endpoint: str | None) -> CollectorError:
        status = response.status_code
        detail = self.scrub(self.problem(response))
        special = self.special_error(what, status, response, detail, endpoint)
        if special is not None:
            return special
        return error_for_status(
            self.network, what, status, host=self.host, detail=detail, endpoint=endpoint,
            retry_at=self.rate_limit(response)[1], credential=self.credential,
            missing_credential=self.missing_credential)

    # ------------------------------------------------------------------ hooks

    def problem(self, response: R) -> str:
        """The server's explanation of an error answer (one line), or ""."""
        return ""

    def rate_limit(self, response: R) -> tuple[int | None, datetime | None]:
        """(requests remaining, when the budget resets) from the answer's headers."""
        return None, None

    def special_error(self, what: str, status: int, response: R, detail: str,
                      endpoint: str | None) -> CollectorError | None:
        """A network-specific meaning of an error status; None: use `error_for_status`."""
        return None

    def response_of(self, exc: Exception) -> R | None:
        """The HTTP answer a library error was raised for, if there was one."""
        return None

    def library_error(self, what: str, exc: Exception, response: R | None,
                      endpoint: str | None) -> CollectorError:
        """A library error that is not about the HTTP status (a 2xx it could not read)."""
        return TransientError(self.network, f"{what}: the server's answer cannot be read "
                                            f"({type(exc).__name__})", endpoint=endpoint)
