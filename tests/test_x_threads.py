"""Fetching an X conversation through the thread service: what it will cost is known
before anything is sent, the account's daily budget refuses it before any request, and
the reads it spent are recorded so the budget and `rounds status` count them (SQLite and
PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from aggregator.clock import ManualClock
from aggregator.collectors.registry import build_thread_source
from aggregator.collectors.twitter.api import TwitterApi
from aggregator.collectors.twitter.normalize import normalize_page
from aggregator.errors import BudgetExhausted
from aggregator.models import Page, Target
from aggregator.settings import AccountSettings, Settings, SourceSettings
from aggregator.status import list_status
from aggregator.storage.db import Database
from aggregator.storage.repository import Repository
from aggregator.storage.schema import posts
from aggregator.storage.threads import thread_of
from aggregator.threads import ThreadService
from tests.fakes.server import LoopbackServer
from tests.fakes.twitter import FakeX, Json

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ENV = "ROUNDS_X_BEARER"


@pytest.fixture
def fake() -> FakeX:
    return FakeX(ManualClock(NOW))


@pytest.fixture
def server(fake: FakeX) -> Iterator[LoopbackServer]:
    server = LoopbackServer(fake.handle).start()
    yield server
    server.stop()


def thread_service(db: Database, server: LoopbackServer, fake: FakeX, *,
                   budget: int | None) -> tuple[ThreadService, Settings]:
    clock = ManualClock(NOW)
    settings = Settings(path=None, database_url="", accounts={
        "xmed": AccountSettings("xmed", "twitter", server.base_url, bearer_token_env=ENV,
                                max_reads_per_day=budget)},
        sources=(SourceSettings("sglt2", "xmed", Target("hashtag", "sglt2")),))
    repo = Repository(db, clock)
    service = ThreadService(settings, repo, lambda account: build_thread_source(
        account, {ENV: fake.token}, clock, timeout=5), clock)
    return service, settings


def collect(service: ThreadService, server: LoopbackServer, fake: FakeX, tweet: Json) -> int:
    """Store `tweet` as the source does (raw JSON, reply count); its archive id. What
    storing it read is forgotten: only the conversation's reads are under test."""
    api = TwitterApi(fake.token, clock=service.clock, base_url=server.base_url)
    post = normalize_page(api.fetch_tweets([tweet["id"]]))[0]
    api.close()
    repo = service.repo
    ids = repo.sync_sources(service.settings)
    repo.save_page(ids["sglt2"], Page((post,), None), [[]])
    fake.reads = fake.users_read = 0
    server.reset()
    with repo.db.engine.connect() as conn:
        return int(conn.execute(select(posts.c.id).where(posts.c.key == post.key))
                   .scalar_one())


def conversation(fake: FakeX) -> Json:
    root = fake.make_tweet("snowman", "SGLT2 inhibitors below eGFR 20?")
    first = fake.make_tweet("happycamper", "The trials excluded them.", reply_to=root)
    fake.make_tweet("snowman", "Which trials exactly?", reply_to=first)
    fake.make_tweet("happycamper", "Ask nephrology.", reply_to=root)
    root["public_metrics"]["reply_count"] = 2  # direct replies, as X counts them
    return root


def test_the_cost_is_known_first_and_the_reads_spent_count_against_the_budget(
        db: Database, server: LoopbackServer, fake: FakeX) -> None:
    service, settings = thread_service(db, server, fake, budget=1000)
    post_id = collect(service, server, fake, conversation(fake))
    estimate = service.estimate(post_id)
    assert estimate is not None
    assert (estimate.reads, estimate.today, estimate.budget) == (2 * (2 + 1), 0, 1000)
    assert "About 6 reads (0 of 1000 used today by xmed)" in estimate.question()
    assert server.log == []  # estimating sends nothing

    summary = service.fetch(post_id)
    spent = fake.reads + fake.users_read
    assert summary.startswith("conversation fetched: 3 other posts (3 new)")
    assert f"{spent} reads" in summary
    assert service.repo.reads_since("xmed", service.repo.start_of_day()) == spent
    status = list_status(settings, service.repo)
    assert [(s.x_reads_today, s.x_reads_budget) for s in status] == [(spent, 1000)]
    # the next estimate starts from what was spent
    again = service.estimate(post_id)
    assert again is not None and again.today == spent
    texts = [p.text for p in thread_of(db, post_id).posts]
    assert texts[0] == "SGLT2 inhibitors below eGFR 20?" and "Which trials exactly?" in texts
    service.close()


def test_a_conversation_beyond_the_daily_budget_is_refused_before_any_request(
        db: Database, server: LoopbackServer, fake: FakeX) -> None:
    service, _ = thread_service(db, server, fake, budget=5)
    post_id = collect(service, server, fake, conversation(fake))
    with pytest.raises(BudgetExhausted) as refused:
        service.estimate(post_id)
    message = str(refused.value)
    assert "\n" not in message
    assert "about 6 reads" in message and "0 of its max_reads_per_day (5)" in message
    with pytest.raises(BudgetExhausted):
        service.fetch(post_id)
    assert server.log == []  # nothing reached X
    assert service.repo.reads_since("xmed", service.repo.start_of_day()) == 0
    service.close()
