"""One contract, every collector: run against each network's loopback fake.

Pagination ends, the cursor is respected, errors map onto the tree, and the collect
service stores every post exactly once (on SQLite, and PostgreSQL when configured).
"""


from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from aggregator.clock import ManualClock
from aggregator.collectors.base import Collector
from aggregator.collectors.retry import RetryPolicy
from aggregator.errors import AuthError, CollectorError, NotFound, TransientError
from aggregator.models import SourceState, Target
from aggregator.service import CollectService
from aggregator.settings import AccountSettings, Settings, SourceSettings
from aggregator.storage.db import Database
from aggregator.storage.repository import Repository
from aggregator.storage.schema import posts
from tests.collectors.passes import run
from tests.collectors.twitter_fixtures import (  # noqa: F401
    X_ENV,
    x_account,
    x_clock,
    x_fake,
    x_loopback,
    x_server,
)
from tests.fakes.bluesky import contract_harness as bluesky_harness
from tests.fakes.feeds import contract_harness as feed_harness
from tests.fakes.mastodon import LIST_ID, TOKEN, MastodonFake
from tests.fakes.server import LoopbackServer, Reply
from tests.fakes.twitter import FakeX

POLICY = RetryPolicy(attempts=3, base_delay=1.0, max_delay=4.0)
X_LIST = "1500000000000000001"


@dataclass
class Harness:
    """A network's fake and how to build a collector on it, seen the same way."""

    network: str
    account: AccountSettings
    environ: dict[str, str]
    clock: ManualClock
    server: LoopbackServer
    target: Target
    missing: Target  # a list that does not exist
    add_posts: Callable[[int], set[str]]  # n new posts on the target; returns their keys
    path: str  # the target timeline's path, for counting requests and arming faults

    def collector(self, environ: dict[str, str] | None = None) -> Collector:
        from aggregator.collectors.registry import build_collector

        return build_collector(self.account, self.environ if environ is None else environ,
                               self.clock, policy=POLICY, timeout=5.0)

    def timeline_requests(self) -> int:
        return len(self.server.requests(self.path))


@pytest.fixture(params=["mastodon", "twitter", "bluesky", "feed"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    if request.param == "bluesky":
        yield from bluesky_harness(request.getfixturevalue("clock"), Harness)
    elif request.param == "feed":
        yield from feed_harness(request.getfixturevalue("clock"), Harness)
    elif request.param == "mastodon":
        fake: MastodonFake = request.getfixturevalue("mastodon_fake")
        clock: ManualClock = request.getfixturevalue("clock")
        fake.api.timelines[f"list:{LIST_ID}"] = []

        def add_mastodon(n: int) -> set[str]:
            return {s["uri"] for s in fake.api.add_new(f"list:{LIST_ID}", n)}

        yield Harness(
            "mastodon",
            AccountSettings("med", "mastodon", fake.base_url, token_env="ROUNDS_MED_TOKEN"),
            {"ROUNDS_MED_TOKEN": TOKEN}, clock, fake.server, Target("list", LIST_ID),
            Target("list", "404404"), add_mastodon, f"/timelines/list/{LIST_ID}")
    else:
        x: FakeX = request.getfixturevalue("x_fake")
        server: LoopbackServer = request.getfixturevalue("x_server")

        def add_x(n: int) -> set[str]:
            return {t["id"] for t in x.add_tweets(
                f"list:{X_LIST}", [x.make_tweet("snowman", f"post {i}") for i in range(n)])}

        x.add_tweets(f"list:{X_LIST}", [])
        yield Harness(
            "twitter", request.getfixturevalue("x_account"), {X_ENV: x.token},
            request.getfixturevalue("x_clock"), server, Target("list", X_LIST),
            Target("list", "404404"), add_x, f"/2/lists/{X_LIST}/tweets")


def test_first_pass_respects_backfill_and_commits_the_cursor_last(harness: Harness) -> None:
    keys = harness.add_posts(130)
    pages, state = run(harness.collector(), harness.target, SourceState(), backfill=90)
    got = [p.key for page in pages for p in page.posts]
    assert len(got) == 90 and set(got) <= keys
    assert all(p.state is None for p in pages[:-1]) and pages[-1].state is not None
    assert state.cursor is not None


def test_second_pass_over_an_unchanged_source_is_one_request_and_nothing(
        harness: Harness) -> None:
    harness.add_posts(30)
    collector = harness.collector()
    _, state = run(collector, harness.target, SourceState())
    harness.server.reset()
    pages, after = run(collector, harness.target, state)
    assert [p for page in pages for p in page.posts] == []
    assert harness.timeline_requests() == 1
    assert after.cursor == state.cursor


def test_only_posts_newer_than_the_cursor_come_back(harness: Harness) -> None:
    """A feed has no "since": a changed document yields its whole window (older entries
    included, each once), which storage keeps once by key; every other network brings
    exactly the new posts."""
    old = harness.add_posts(25)
    collector = harness.collector()
    _, state = run(collector, harness.target, SourceState())
    fresh = harness.add_posts(140)
    pages, after = run(collector, harness.target, state)
    got = [p.key for page in pages for p in page.posts]
    assert len(got) == len(set(got))
    assert set(got) == (fresh | old if harness.network == "feed" else fresh)
    assert after.cursor != state.cursor


def test_missing_token_is_an_auth_error(harness: Harness) -> None:
    if harness.network == "feed":
        pytest.skip("feeds are read without any login")
    with pytest.raises(AuthError):
        run(harness.collector(environ={}), harness.target, SourceState())


def test_unknown_list_is_not_found(harness: Harness) -> None:
    with pytest.raises(NotFound):
        run(harness.collector(), harness.missing, SourceState())


def test_persistent_server_errors_end_in_a_transient_error_after_bounded_retries(
        harness: Harness) -> None:
    harness.add_posts(5)
    harness.server.faults.arm(Reply(500, b"oops"), harness.path, times=100)
    with pytest.raises(TransientError) as err:
        run(harness.collector(), harness.target, SourceState())
    assert isinstance(err.value, CollectorError)
    assert harness.timeline_requests() == POLICY.attempts
    assert len(harness.clock.sleeps) == POLICY.attempts - 1


def test_a_429_waits_for_the_reset_instead_of_failing(harness: Harness) -> None:
    keys = harness.add_posts(5)
    reset = harness.clock.now() + timedelta(seconds=60)
    headers = {  # each network's own rate-limit headers: ISO time, epoch seconds
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": reset.isoformat().replace("+00:00", "Z"),
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(int(reset.timestamp())),
    }
    harness.server.faults.arm(Reply.json({"error": "Too many requests"}, 429, **headers),
                              harness.path)
    pages, _ = run(harness.collector(), harness.target, SourceState())
    assert {p.key for page in pages for p in page.posts} == keys
    assert any(s >= 30 for s in harness.clock.sleeps)


def test_service_stores_every_post_exactly_once(harness: Harness, db: Database) -> None:
    settings = Settings(
        path=None, database_url="", accounts={harness.account.name: harness.account},
        sources=(SourceSettings("a", harness.account.name, harness.target),
                 SourceSettings("b", harness.account.name, harness.target)))
    repo = Repository(db, harness.clock)
    service = CollectService(settings, repo, lambda _: harness.collector(), harness.clock)
    keys = harness.add_posts(60)
    try:
        first = service.collect()
        keys |= harness.add_posts(45)
        second = service.collect()
    finally:
        service.close()
    assert all(r.ok for r in first + second)
    assert [r.new for r in first] == [60, 0] and [r.existing for r in first] == [0, 60]
    assert second[0].new == 45
    with db.engine.connect() as conn:
        stored = conn.execute(select(posts.c.key)).scalars().all()
        assert conn.execute(select(func.count()).select_from(posts)).scalar_one() == len(keys)
    assert set(stored) == keys

