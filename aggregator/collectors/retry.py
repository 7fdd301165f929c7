"""Retry, back-off and rate-limit policy shared by every network (clock injected).

Transient failures (timeouts, 5xx, garbled bodies) are retried with capped exponential
back-off and jitter; a 429 waits until the server's reset, within a bound; and a
RateBudget paces requests per server account so that our own traffic never causes a 429.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from aggregator.clock import Clock
from aggregator.errors import RateLimited, TransientError

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4  # tries per request for transient errors, the first included
    base_delay: float = 1.0
    max_delay: float = 30.0
    rate_limit_waits: int = 3  # 429s honoured per request before giving up
    max_rate_wait: float = 900.0  # never wait longer than this for one reset
    default_rate_wait: float = 60.0  # a 429 without a usable reset header


class RateBudget:
    """What the server last said about one account's request budget.

    Before each request: when the remaining budget is down to `reserve`, wait for the
    reset instead of spending it, so other sources of the same account keep working.
    """

    def __init__(self, clock: Clock, *, reserve: int = 2, max_wait: float = 900.0) -> None:
        self.clock = clock
        self.reserve = reserve
        self.max_wait = max_wait
        self.remaining: int | None = None
        self.reset_at: datetime | None = None
        self.waited = 0.0

    def update(self, remaining: int | None, reset_at: datetime | None) -> None:
        if remaining is not None:
            self.remaining = remaining
        if reset_at is not None:
            self.reset_at = reset_at

    def before_request(self) -> None:
        if self.remaining is None or self.remaining > self.reserve or self.reset_at is None:
            return
        wait = (self.reset_at - self.clock.now()).total_seconds()
        if wait <= 0:
            self.remaining = None
            return
        wait = min(wait, self.max_wait)
        logger.info("rate budget nearly spent (%d left), pausing %.1fs", self.remaining, wait)
        self.clock.sleep(wait)
        self.waited += wait
        self.remaining = None


def call_with_retry(
    fn: Callable[[], T],
    *,
    what: str,
    clock: Clock,
    policy: RetryPolicy,
    rng: random.Random | None = None,
) -> T:
    """Call `fn`, retrying TransientError with back-off and waiting out RateLimited.

    Every other error, and the last TransientError or a too-long rate-limit wait,
    propagates unchanged. `what` names the request in log lines (never a token).
    """
    rng = rng or random.Random()
    transient = rate = 0
    while True:
        try:
            return fn()
        except TransientError as exc:
            transient += 1
            if transient >= policy.attempts:
                raise
            delay = min(policy.max_delay, policy.base_delay * 2 ** (transient - 1))
            delay *= 0.5 + rng.random() / 2  # jitter: spread retries of parallel workers
            logger.warning("%s: %s; retry %d in %.1fs", what, exc.message, transient, delay)
            clock.sleep(delay)
        except RateLimited as exc:
            rate += 1
            if exc.retry_at is not None:
                wait = (exc.retry_at - clock.now()).total_seconds()
            else:
                wait = policy.default_rate_wait * rate
            wait = max(wait, 1.0)
            if rate > policy.rate_limit_waits or wait > policy.max_rate_wait:
                raise
            logger.warning("%s: rate limited; waiting %.0fs for the reset", what, wait)
            clock.sleep(wait)
