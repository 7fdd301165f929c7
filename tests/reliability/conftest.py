"""Reliability fixtures: a loopback fake of each network (Bluesky read anonymously: an
author feed is the faulty source, a list the healthy one; feeds: two synthetic RSS
documents on the feed fake), a faulty and a healthy source on it, a CollectService on a
fresh SQLite archive, all on a ManualClock (waits are instant).

`World` is what a scenario manipulates: it arms faults or twists answers on the faulty
source's path, runs a collection pass, and reads back what the archive holds.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from aggregator.clock import ManualClock
from aggregator.collectors.registry import build_collector
from aggregator.collectors.retry import RetryPolicy
from aggregator.models import Target
from aggregator.service import CollectService, SourceResult
from aggregator.settings import AccountSettings, Settings, SourceSettings
from aggregator.storage.db import Database, open_database
from aggregator.storage.repository import Repository
from aggregator.storage.schema import post_sources, posts, sources
from tests.fakes import bluesky as fb
from tests.fakes import feeds as ff
from tests.fakes import mastodon as fm
from tests.fakes import twitter as fx
from tests.fakes.server import LoopbackServer, Reply, Request
from tests.reliability.machine import Mastodon

NETWORKS = ("mastodon", "twitter", "bluesky", "feed")
FLAKY_DID = "did:plc:flakyflakyflakyflaky0000"  # the faulty Bluesky author
POLICY = RetryPolicy(attempts=3, base_delay=1.0, max_delay=4.0, rate_limit_waits=2,
                     max_rate_wait=900.0, default_rate_wait=60.0)
MASTODON_ENV, X_ENV = "ROUNDS_MED_TOKEN", "ROUNDS_X_BEARER"

Twist = Callable[[Request, Callable[[Request], Reply]], Reply]


class Switch:
    """The session's one loopback server answers with the current test's fake; a twist
    (when set) answers the requests whose path contains `path` instead."""

    def __init__(self) -> None:
        self.handler: Callable[[Request], Reply] | None = None
        self.twist: Twist | None = None
        self.path = ""

    def __call__(self, req: Request) -> Reply:
        assert self.handler is not None
        if self.twist is not None and self.path in req.path:
            return self.twist(req, self.handler)
        return self.handler(req)


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass
class World:
    network: str
    clock: ManualClock
    server: LoopbackServer
    switch: Switch
    fake: Any  # FakeMastodon | FakeX | FakeBluesky | FeedsFake
    db: Database
    faulty_path: str  # the faulty source's timeline path fragment
    faulty_key: str  # the fake's timeline key of the faulty source
    healthy_key: str
    faulty_target: Target
    healthy_target: Target
    faulty_base_url: str = ""
    timeout: float = 5.0
    environ: dict[str, str] = field(default_factory=dict)

    # ---------------------------------------------------------------- fakes

    def add_posts(self, key: str, n: int) -> None:
        if self.network == "feed":
            self.fake.add_items(key, n)
        elif self.network == "bluesky":
            self.fake.add_new(key, n)
        elif self.network == "mastodon":
            self.fake.add_statuses(key, [self.fake.make_status() for _ in range(n)])
        else:
            self.fake.add_tweets(key, [self.fake.make_tweet("snowman", f"post {i} #MedTwitter")
                                       for i in range(n)])

    def timeline_ids(self, key: str) -> set[str]:
        if self.network == "feed":  # a guid this short is also the post's remote id
            return set(self.fake.guids(key))
        if self.network == "bluesky":
            return {item["post"]["uri"] for item in self.fake.feeds[key]}
        if self.network == "mastodon":
            return {str(s["id"]) for s in self.fake.timelines[key]}
        return set(self.fake.timelines[key])

    def arm(self, reply: Reply, times: int = 1) -> None:
        self.server.faults.arm(reply, self.faulty_path, times)

    def set_twist(self, twist: Twist | None) -> None:
        self.switch.path, self.switch.twist = self.faulty_path, twist

    def heal(self) -> None:
        self.server.faults.clear()
        self.switch.twist = None
        self.faulty_base_url = self.server.base_url
        self.timeout = 5.0

    def faulty_requests(self) -> int:
        return len(self.server.requests(self.faulty_path))

    # ---------------------------------------------------------------- collecting

    def settings(self) -> Settings:
        base = self.server.base_url
        acc: dict[str, Any] = {}
        if self.network == "mastodon":
            acc = {"token_env": MASTODON_ENV}
        elif self.network == "twitter":
            acc = {"bearer_token_env": X_ENV}
        net: Any = self.network
        faulty, healthy = self.faulty_target, self.healthy_target
        if self.network == "feed":  # a feed account has no base URL: the target is the URL
            faulty = Target("feed", (self.faulty_base_url or base) + faulty.value)
            healthy = Target("feed", base + healthy.value)
            base = ""
        accounts = {
            "good": AccountSettings("good", net, base, **acc),
            "flaky": AccountSettings("flaky", net, "" if net == "feed" else
                                     self.faulty_base_url or base, **acc),
        }
        return Settings(path=None, database_url="", accounts=accounts, sources=(
            SourceSettings("faulty", "flaky", faulty, backfill=500),
            SourceSettings("healthy", "good", healthy, backfill=500),
        ))

    def collect(self) -> dict[str, SourceResult]:
        settings = self.settings()
        service = CollectService(
            settings, Repository(self.db, self.clock),
            lambda account: build_collector(account, self.environ, self.clock, POLICY,
                                            timeout=self.timeout),
            self.clock)
        try:
            return {r.name: r for r in service.collect()}
        finally:
            service.close()

    # ---------------------------------------------------------------- the archive

    def stored_ids(self, source: str) -> list[str]:
        """remote ids of the posts the source brought, one entry per stored row."""
        with self.db.engine.connect() as conn:
            return [r[0] for r in conn.execute(
                select(posts.c.remote_id)
                .join(post_sources, post_sources.c.post_id == posts.c.id)
                .join(sources, sources.c.id == post_sources.c.source_id)
                .where(sources.c.name == source))]

    def post_count(self) -> int:
        with self.db.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(posts)).scalar_one())

    def last_error(self, source: str) -> str | None:
        with self.db.engine.connect() as conn:
            value = conn.execute(select(sources.c.last_error)
                                 .where(sources.c.name == source)).scalar_one()
        return str(value) if value is not None else None


@pytest.fixture(scope="session")
def _loopback() -> Iterator[tuple[LoopbackServer, Switch]]:
    switch = Switch()
    server = LoopbackServer(switch).start()
    yield server, switch
    server.stop()


@pytest.fixture(params=NETWORKS)
def world(request: pytest.FixtureRequest, tmp_path: Path,
          _loopback: tuple[LoopbackServer, Switch]) -> Iterator[World]:
    server, switch = _loopback
    server.reset()
    clock = ManualClock()
    db = open_database(f"sqlite:///{tmp_path / 'rounds.db'}")
    if request.param == "mastodon":
        fake: Any = fm.FakeMastodon(clock)
        switch.handler = fake
        w = World("mastodon", clock, server, switch, fake, db,
                  faulty_path="/timelines/tag/flaky", faulty_key="tag:flaky",
                  healthy_key="tag:steady",
                  faulty_target=Target("hashtag", "flaky"),
                  healthy_target=Target("hashtag", "steady"),
                  environ={MASTODON_ENV: fm.TOKEN})
    elif request.param == "feed":  # targets are paths here; `settings` adds the server
        fake = ff.FeedsFake()
        switch.handler = fake
        w = World("feed", clock, server, switch, fake, db,
                  faulty_path="/feeds/flaky.xml", faulty_key="/feeds/flaky.xml",
                  healthy_key="/feeds/steady.xml",
                  faulty_target=Target("feed", "/feeds/flaky.xml"),
                  healthy_target=Target("feed", "/feeds/steady.xml"))
    elif request.param == "bluesky":
        fake = fb.FakeBluesky(clock)
        switch.handler = fake
        w = World("bluesky", clock, server, switch, fake, db,
                  faulty_path="app.bsky.feed.getAuthorFeed", faulty_key=f"author:{FLAKY_DID}",
                  healthy_key=f"list:{fb.SYN_LIST}",
                  faulty_target=Target("user", FLAKY_DID),
                  healthy_target=Target("list", fb.SYN_LIST))
    else:
        fake = fx.FakeX(clock)
        switch.handler = fake.handle
        w = World("twitter", clock, server, switch, fake, db,
                  faulty_path="/2/lists/1111/", faulty_key="list:1111",
                  healthy_key="list:2222",
                  faulty_target=Target("list", "1111"),
                  healthy_target=Target("list", "2222"),
                  environ={X_ENV: fx.TOKEN})
    w.faulty_base_url = server.base_url
    w.add_posts(w.faulty_key, 150)
    w.add_posts(w.healthy_key, 30)
    yield w
    switch.twist = None
    server.reset()
    db.dispose()


@pytest.fixture
def mastodon() -> Iterator[Mastodon]:
    """The fake Mastodon of tests/reliability/machine.py: statuses arrive a page at a time."""
    fake = Mastodon()
    yield fake
    fake.stop()
