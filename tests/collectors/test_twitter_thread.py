"""X conversations (the reader's `T` on an X post): recent search by conversation_id and
the missing parents by id, against the loopback fake X, which bills reads like X (every
tweet and user it sends) and, like X, never returns the root as a search entry and finds
nothing older than 7 days."""

# The x_* fixtures are imported from twitter_fixtures (as in test_twitter.py).
# ruff: noqa: F811
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from aggregator.clock import ManualClock
from aggregator.collectors.base import ThreadRef
from aggregator.collectors.registry import build_thread_source
from aggregator.collectors.twitter.normalize import normalize_page
from aggregator.collectors.twitter.thread import OLD_NOTE, TwitterThreads
from aggregator.errors import AuthMissing
from aggregator.models import Post
from aggregator.settings import AccountSettings
from tests.collectors.twitter_fixtures import (  # noqa: F401 (fixtures)
    X_ENV,
    x_account,
    x_clock,
    x_fake,
    x_loopback,
    x_server,
)
from tests.fakes.server import LoopbackServer
from tests.fakes.twitter import FakeX, Json


@pytest.fixture
def threads(x_account: AccountSettings, x_fake: FakeX,
            x_clock: ManualClock) -> Iterator[TwitterThreads]:
    source = build_thread_source(x_account, {X_ENV: x_fake.token}, x_clock, timeout=5.0)
    assert isinstance(source, TwitterThreads)
    yield source
    source.close()


def stored(source: TwitterThreads, fake: FakeX, tweet: Json) -> Post:
    """The tweet as the collector stored it (raw JSON with its conversation_id); the
    reads this costs are not the conversation's."""
    post = normalize_page(source.api.fetch_tweets([tweet["id"]]))[0]
    fake.reads = fake.users_read = 0
    return post


def ref(post: Post, *, raw: bool = True, replies: int | None = None,
        read_limit: int | None = None) -> ThreadRef:
    return ThreadRef("twitter", post.key, post.remote_id, post.url,
                     raw=post.raw if raw else "", replies=replies, read_limit=read_limit)


def conversation(fake: FakeX) -> tuple[Json, Json, Json, Json]:
    root = fake.make_tweet("snowman", "Question: SGLT2 inhibitors below eGFR 20?")
    first = fake.make_tweet("happycamper", "The trials excluded them.", reply_to=root)
    nested = fake.make_tweet("snowman", "Which trials exactly?", reply_to=first)
    other = fake.make_tweet("happycamper", "Ask nephrology.", reply_to=root)
    return root, first, nested, other


def busy(fake: FakeX, replies: int) -> Json:
    """A root tweet with `replies` direct replies."""
    root = fake.make_tweet("snowman", "A busy thread")
    for n in range(replies):
        fake.make_tweet("happycamper", f"reply {n}", reply_to=root)
    return root


def test_the_replies_come_from_one_search_billed_like_x(
        threads: TwitterThreads, x_fake: FakeX, x_server: LoopbackServer) -> None:
    root, first, nested, _ = conversation(x_fake)
    post = stored(threads, x_fake, root)
    x_server.reset()
    got = threads.fetch_thread(ref(post, replies=2))
    assert {p.text for p in got.posts if p.key != root["id"]} == {
        "The trials excluded them.", "Which trials exactly?", "Ask nephrology."}
    assert {p.key: p.reply_to_id for p in got.posts}[nested["id"]] == first["id"]
    assert got.gaps == () and got.notes == ()
    searches = x_server.requests("/2/tweets/search/recent")
    assert [r.arg("query") for r in searches] == [f"conversation_id:{root['id']}"]
    assert len(x_server.log) == 1  # the conversation id came from the stored post
    # billed as X bills: the three replies, the two parents sent along, their authors
    assert (got.items_read, got.users_read) == (x_fake.reads, x_fake.users_read)
    assert got.items_read == 5 and got.requests == 1
    assert threads.estimate_reads(ref(post, replies=3)) >= got.items_read + got.users_read


def test_a_reply_stored_without_its_conversation_is_looked_up_and_its_root_comes_along(
        threads: TwitterThreads, x_fake: FakeX, x_server: LoopbackServer) -> None:
    _, _, nested, _ = conversation(x_fake)
    post = stored(threads, x_fake, nested)
    x_server.reset()
    got = threads.fetch_thread(ref(post, raw=False))
    texts = {p.text for p in got.posts}
    assert "Question: SGLT2 inhibitors below eGFR 20?" in texts  # root, from includes
    assert "The trials excluded them." in texts
    assert [r.path for r in x_server.log] == ["/2/tweets", "/2/tweets/search/recent"]
    assert got.requests == 2 and got.items_read == x_fake.reads


def test_a_deleted_root_is_a_gap(threads: TwitterThreads, x_fake: FakeX,
                                 x_server: LoopbackServer) -> None:
    root, _, nested, _ = conversation(x_fake)
    post = stored(threads, x_fake, nested)
    x_fake.forget(root["id"])
    got = threads.fetch_thread(ref(post))
    assert (root["id"], "deleted") in got.gaps
    assert root["id"] not in {p.key for p in got.posts}


def test_an_old_conversation_says_search_covers_7_days_and_still_gets_the_parents(
        threads: TwitterThreads, x_fake: FakeX, x_clock: ManualClock,
        x_server: LoopbackServer) -> None:
    root, first, nested, other = conversation(x_fake)
    post = stored(threads, x_fake, nested)
    x_clock.advance(timedelta(days=8).total_seconds())
    x_server.reset()
    got = threads.fetch_thread(ref(post))
    assert OLD_NOTE in got.notes
    assert {p.key for p in got.posts} == {first["id"], root["id"]}  # by id, not search
    assert other["id"] not in {p.key for p in got.posts}
    assert len([r for r in x_server.log if r.path == "/2/tweets"]) == 1


def test_the_fetch_stops_at_the_reads_it_may_spend(
        threads: TwitterThreads, x_fake: FakeX, x_server: LoopbackServer) -> None:
    post = stored(threads, x_fake, busy(x_fake, 40))
    got = threads.fetch_thread(ref(post, read_limit=30))
    assert got.items_read + got.users_read <= 30
    assert x_fake.reads + x_fake.users_read <= 30
    assert any("daily read budget" in n for n in got.notes)
    assert 10 <= len(got.posts) < 40


def test_a_huge_conversation_stops_at_the_page_cap(
        threads: TwitterThreads, x_fake: FakeX, x_server: LoopbackServer) -> None:
    post = stored(threads, x_fake, busy(x_fake, 130))
    threads.max_pages = 1
    got = threads.fetch_thread(ref(post))
    assert len(got.posts) == 100 + 1  # a page of replies, and the root they reply to
    assert any("stopped after 100 replies" in n for n in got.notes)
    assert len(x_server.requests("/search/recent")) == 1


def test_the_estimate_counts_each_post_with_its_author(threads: TwitterThreads,
                                                        x_fake: FakeX) -> None:
    root, _, nested, _ = conversation(x_fake)
    top = stored(threads, x_fake, root)
    reply = stored(threads, x_fake, nested)
    assert threads.estimate_reads(ref(top, replies=3)) == 2 * (3 + 1)
    assert threads.estimate_reads(ref(top, replies=10_000)) == 2 * (500 + 1)
    # unknown reply count: a page's worth; a reply: its parents too; no raw: a lookup
    assert threads.estimate_reads(ref(reply, raw=False)) == 2 + 2 * (100 + 1 + 3)


def test_no_bearer_token_says_where_to_set_one(x_account: AccountSettings,
                                               x_clock: ManualClock) -> None:
    with pytest.raises(AuthMissing, match=X_ENV):
        build_thread_source(x_account, {}, x_clock)
