"""Fixtures for collector tests: a fake Mastodon server per test, on the test's clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from aggregator.clock import ManualClock
from aggregator.collectors.mastodon.collector import MastodonCollector
from aggregator.collectors.retry import RateBudget, RetryPolicy
from aggregator.settings import AccountSettings
from tests.fakes.mastodon import TOKEN, FakeMastodon, MastodonFake
from tests.fakes.server import LoopbackServer, serve

MakeCollector = Callable[..., MastodonCollector]


@pytest.fixture(scope="session")
def _mastodon_server() -> Iterator[LoopbackServer]:
    # One server for the session (stopping one costs half a second); each test gets
    # a fresh FakeMastodon behind it, with its own clock, log and faults.
    yield from serve(FakeMastodon())


@pytest.fixture
def mastodon_fake(_mastodon_server: LoopbackServer, clock: ManualClock
                  ) -> Iterator[MastodonFake]:
    """A fresh fake Mastodon (seeded from the recordings) serving on 127.0.0.1."""
    api = FakeMastodon(clock)
    _mastodon_server.reset()
    _mastodon_server.handler = api
    yield MastodonFake(_mastodon_server, api, _mastodon_server.base_url)
    _mastodon_server.reset()


@pytest.fixture
def make_collector(mastodon_fake: MastodonFake, clock: ManualClock
                   ) -> Iterator[MakeCollector]:
    """Build a MastodonCollector the way the service does, pointed at the fake."""
    built: list[MastodonCollector] = []

    def make(token: str | None = TOKEN, *, timeout: float = 5.0,
             policy: RetryPolicy | None = None, **kwargs: object) -> MastodonCollector:
        account = AccountSettings(name="med", network="mastodon",
                                  base_url=mastodon_fake.base_url,
                                  token_env="ROUNDS_MED_TOKEN" if token else None)
        environ = {"ROUNDS_MED_TOKEN": token} if token else {}
        collector = MastodonCollector.from_account(
            account, environ, clock, policy=policy, budget=RateBudget(clock), timeout=timeout)
        for name, value in kwargs.items():
            setattr(collector, name, value)
        built.append(collector)
        return collector

    yield make
    for collector in built:
        collector.close()
