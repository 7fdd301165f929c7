"""Pytest fixtures for the X collector tests: a ManualClock, the fake X API v2 on a
loopback server, an account pointing at it, and a collector built the way the service
builds one (`TwitterCollector.from_account`).

Import them into a test module (``from tests.collectors.twitter_fixtures import x_fake``...):
pytest then discovers them there. tests/collectors/conftest.py belongs to the shared suite.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aggregator.clock import ManualClock
from aggregator.collectors.retry import RetryPolicy
from aggregator.collectors.twitter import TwitterCollector
from aggregator.settings import AccountSettings
from tests.fakes.server import LoopbackServer, Reply, Request, serve
from tests.fakes.twitter import FakeX

X_ENV = "ROUNDS_X_BEARER"


@pytest.fixture
def x_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def x_fake(x_clock: ManualClock) -> FakeX:
    return FakeX(x_clock)


class _CurrentFake:
    """Routes the module's one loopback server to the current test's fake (stopping a
    server costs half a second: one per module, a fresh fake and log per test)."""

    def __init__(self) -> None:
        self.fake: FakeX | None = None

    def handle(self, req: Request) -> Reply:
        assert self.fake is not None
        return self.fake.handle(req)


@pytest.fixture(scope="module")
def x_loopback() -> Iterator[tuple[LoopbackServer, _CurrentFake]]:
    current = _CurrentFake()
    for server in serve(current.handle):
        yield server, current


@pytest.fixture
def x_server(x_fake: FakeX, x_loopback: tuple[LoopbackServer, _CurrentFake]
             ) -> Iterator[LoopbackServer]:
    server, current = x_loopback
    server.reset()
    current.fake = x_fake
    yield server
    current.fake = None
    server.reset()


@pytest.fixture
def x_account(x_server: LoopbackServer) -> AccountSettings:
    return AccountSettings(name="xmed", network="twitter", base_url=x_server.base_url,
                           bearer_token_env=X_ENV)


@pytest.fixture
def x_collector(x_account: AccountSettings, x_fake: FakeX,
                x_clock: ManualClock) -> Iterator[TwitterCollector]:
    collector = TwitterCollector.from_account(
        x_account, {X_ENV: x_fake.token}, x_clock,
        policy=RetryPolicy(attempts=3, base_delay=1.0, max_delay=4.0), timeout=5.0)
    yield collector
    collector.close()
