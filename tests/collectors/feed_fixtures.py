"""Pytest fixtures for the feed collector tests: the loopback feed server with its fake,
a collector built the way the service builds one, and `run` (one pass, its page and the
state to keep).

Import them into a test module (``from tests.collectors.feed_fixtures import fake``...):
pytest then discovers them there. tests/collectors/conftest.py belongs to the shared suite.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aggregator.clock import ManualClock
from aggregator.collectors.feed.collector import FeedCollector
from aggregator.collectors.registry import build_collector
from aggregator.collectors.retry import RetryPolicy
from aggregator.models import Page, SourceState, Target
from aggregator.settings import AccountSettings
from tests.fakes.feeds import FeedsFake
from tests.fakes.server import LoopbackServer, serve

POLICY = RetryPolicy(attempts=3, base_delay=1.0, max_delay=4.0)
ACCOUNT = AccountSettings("feeds", "feed", "")


@pytest.fixture
def fake() -> FeedsFake:
    return FeedsFake()


@pytest.fixture
def server(fake: FeedsFake) -> Iterator[LoopbackServer]:
    yield from serve(fake)


@pytest.fixture
def collector(clock: ManualClock) -> Iterator[FeedCollector]:
    built = build_collector(ACCOUNT, {}, clock, policy=POLICY, timeout=5.0)
    assert isinstance(built, FeedCollector)
    yield built
    built.close()


def run(collector: FeedCollector, url: str, state: SourceState = SourceState(),
        backfill: int = 200) -> tuple[Page, SourceState]:
    [page] = list(collector.fetch_posts(Target("feed", url), state, backfill=backfill))
    return page, page.state or state
