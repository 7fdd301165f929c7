"""Build the collector for an account's network.

One line per network: the module and class of its collector. The module is imported only
when an account of that network is used, so a run that reads no Bluesky account never pays
for importing the atproto SDK (about 1.8 s of CPU: it builds hundreds of model classes).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Protocol

from aggregator.clock import Clock
from aggregator.collectors.base import Collector, ThreadSource
from aggregator.collectors.retry import RateBudget, RetryPolicy
from aggregator.errors import CollectorError, ConfigError
from aggregator.models import Network
from aggregator.settings import AccountSettings

COLLECTORS: dict[Network, tuple[str, str]] = {
    "mastodon": ("aggregator.collectors.mastodon.collector", "MastodonCollector"),
    "twitter": ("aggregator.collectors.twitter.collector", "TwitterCollector"),
    "bluesky": ("aggregator.collectors.bluesky.collector", "BlueskyCollector"),
    "feed": ("aggregator.collectors.feed.collector", "FeedCollector"),
}

# Who can fetch a post's conversation (the reader's `T`). X has no conversation endpoint
# but a search by conversation_id, and bills every read: its source estimates the cost
# first (the reader asks, the daily budget decides).
THREADS: dict[Network, tuple[str, str]] = {
    "mastodon": ("aggregator.collectors.mastodon.thread", "MastodonThreads"),
    "bluesky": ("aggregator.collectors.bluesky.thread", "BlueskyThreads"),
    "twitter": ("aggregator.collectors.twitter.thread", "TwitterThreads"),
}
NO_THREADS: dict[Network, str] = {
    "feed": "feed entries have no conversation to fetch",
}


class CollectorClass(Protocol):
    def from_account(self, account: AccountSettings, environ: Mapping[str, str],
                     clock: Clock, *, policy: RetryPolicy | None, budget: RateBudget,
                     timeout: float) -> Collector: ...


def build_collector(account: AccountSettings, environ: Mapping[str, str], clock: Clock,
                    policy: RetryPolicy | None = None, timeout: float = 30.0) -> Collector:
    """The collector for `account`, with a rate budget of its own (shared by the
    account's sources through the collect service)."""
    try:
        module, name = COLLECTORS[account.network]
    except KeyError:
        raise ConfigError(f"accounts.{account.name}: no collector for network "
                          f"{account.network!r}") from None
    cls: CollectorClass = getattr(import_module(module), name)
    return cls.from_account(account, environ, clock, policy=policy, budget=RateBudget(clock),
                            timeout=timeout)


class ThreadSourceClass(Protocol):
    def from_account(self, account: AccountSettings, environ: Mapping[str, str],
                     clock: Clock, *, policy: RetryPolicy | None, budget: RateBudget,
                     timeout: float) -> ThreadSource: ...


def build_thread_source(account: AccountSettings, environ: Mapping[str, str], clock: Clock,
                        policy: RetryPolicy | None = None,
                        timeout: float = 30.0) -> ThreadSource:
    """What fetches conversations through `account`.

    Raises:
        CollectorError: the account's network has none (feeds): the message says why.
    """
    try:
        module, name = THREADS[account.network]
    except KeyError:
        why = NO_THREADS.get(account.network, "no conversations on this network")
        raise CollectorError(account.network, why) from None
    cls: ThreadSourceClass = getattr(import_module(module), name)
    return cls.from_account(account, environ, clock, policy=policy, budget=RateBudget(clock),
                            timeout=timeout)
