"""Build the collector for an account's network."""

from __future__ import annotations

from collections.abc import Mapping

from aggregator.clock import Clock
from aggregator.collectors.base import Collector
from aggregator.collectors.retry import RateBudget, RetryPolicy
from aggregator.settings import AccountSettings


def build_collector(account: AccountSettings, environ: Mapping[str, str], clock: Clock,
                    policy: RetryPolicy | None = None, timeout: float = 30.0) -> Collector:
    budget = RateBudget(clock)
    if account.network == "mastodon":
        from aggregator.collectors.mastodon.collector import MastodonCollector

        collector: Collector = MastodonCollector.from_account(
            account, environ, clock, policy=policy, budget=budget, timeout=timeout)
        return collector
    if account.network == "bluesky":
        from aggregator.collectors.bluesky.collector import BlueskyCollector

        collector = BlueskyCollector.from_account(account, environ, clock, policy=policy,
                                                  budget=budget, timeout=timeout)
        return collector
    if account.network == "feed":
        from aggregator.collectors.feed.collector import FeedCollector

        collector = FeedCollector.from_account(account, environ, clock, policy=policy,
                                               budget=budget, timeout=timeout)
        return collector
    from aggregator.collectors.twitter.collector import TwitterCollector

    collector = TwitterCollector.from_account(account, environ, clock, policy=policy,
                                              budget=budget, timeout=timeout)
    return collector
