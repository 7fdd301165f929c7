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
from aggregator.collectors.base import Collector
from aggregator.collectors.retry import RateBudget, RetryPolicy
from aggregator.errors import ConfigError
from aggregator.models import Network
from aggregator.settings import AccountSettings

COLLECTORS: dict[Network, tuple[str, str]] = {
    "mastodon": ("aggregator.collectors.mastodon.collector", "MastodonCollector"),
    "twitter": ("aggregator.collectors.twitter.collector", "TwitterCollector"),
    "bluesky": ("aggregator.collectors.bluesky.collector", "BlueskyCollector"),
    "feed": ("aggregator.collectors.feed.collector", "FeedCollector"),
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
