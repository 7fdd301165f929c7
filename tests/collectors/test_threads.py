"""Conversations (the reader's `T`): Mastodon's statuses/:id/context and Bluesky's
getPostThread through the registry's ThreadSource, against the loopback fakes and on the
recorded answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from aggregator.clock import ManualClock
from aggregator.collectors.base import ThreadRef
from aggregator.collectors.bluesky.thread import thread_posts
from aggregator.collectors.registry import build_thread_source
from aggregator.errors import CollectorError, NotFound
from aggregator.settings import AccountSettings
from tests.conftest import DATA
from tests.fakes.bluesky import APP_PASSWORD, PASSWORD_ENV, FakeBluesky, sky_account
from tests.fakes.mastodon import TOKEN, MastodonFake, load_body
from tests.fakes.server import LoopbackServer, serve

RECORDED_ANCHOR = "110446983926957470"  # statuses_context.json's request


def mastodon_account(base_url: str, *, token: bool = True) -> AccountSettings:
    return AccountSettings(name="med", network="mastodon", base_url=base_url,
                           token_env="ROUNDS_MED_TOKEN" if token else None)


def test_a_recorded_mastodon_context_becomes_the_ancestor_and_the_reply(
        mastodon_fake: MastodonFake, clock: ManualClock) -> None:
    mastodon_fake.api.contexts[RECORDED_ANCHOR] = load_body("statuses_context.json")
    source = build_thread_source(mastodon_account(mastodon_fake.base_url),
                                 {"ROUNDS_MED_TOKEN": TOKEN}, clock)
    try:
        got = source.fetch_thread(ThreadRef("mastodon", "uri", RECORDED_ANCHOR))
    finally:
        source.close()
    recorded = load_body("statuses_context.json")
    assert [p.key for p in got.posts] == [recorded["ancestors"][0]["uri"],
                                          recorded["descendants"][0]["uri"]]
    root, reply = got.posts
    assert root.reply_to_id is None and reply.reply_to_id == RECORDED_ANCHOR
    assert reply.author.key.startswith("halcy@")
    assert got.gaps == ()
    assert mastodon_fake.server.requests(f"/api/v1/statuses/{RECORDED_ANCHOR}/context")


def test_an_anonymous_mastodon_context_marks_a_hidden_parent_unavailable(
        mastodon_fake: MastodonFake, clock: ManualClock) -> None:
    fake = mastodon_fake.api
    anchor = fake.add_new(f"tag:{'hoot'}", 1)[0]
    hidden = fake.reply_to(anchor, content="<p>followers only</p>")
    hidden["visibility"] = "private"
    public = fake.reply_to(hidden, content="<p>a public answer</p>")
    source = build_thread_source(mastodon_account(mastodon_fake.base_url, token=False), {},
                                 clock)
    try:
        got = source.fetch_thread(ThreadRef("mastodon", anchor["uri"], str(anchor["id"])))
    finally:
        source.close()
    assert [p.text for p in got.posts] == ["a public answer"]
    assert got.gaps == ((str(hidden["id"]), "unavailable"),)
    assert all("authorization" not in r.headers for r in mastodon_fake.server.requests(
        "/context"))
    assert str(public["id"]) == got.posts[0].remote_id


def test_a_gone_mastodon_status_is_not_found(mastodon_fake: MastodonFake,
                                             clock: ManualClock) -> None:
    source = build_thread_source(mastodon_account(mastodon_fake.base_url),
                                 {"ROUNDS_MED_TOKEN": TOKEN}, clock)
    with pytest.raises(NotFound):
        source.fetch_thread(ThreadRef("mastodon", "gone", "1"))
    source.close()


def test_feeds_say_why_they_have_no_conversation(clock: ManualClock) -> None:
    account = AccountSettings(name="a", network="feed", base_url="https://example.invalid")
    with pytest.raises(CollectorError) as err:
        build_thread_source(account, {}, clock)
    assert "no conversation" in str(err.value)


# ---------------------------------------------------------------- Bluesky


@pytest.fixture(scope="module")
def _sky_server() -> Iterator[LoopbackServer]:
    yield from serve(FakeBluesky())


@pytest.fixture
def sky(_sky_server: LoopbackServer, clock: ManualClock) -> Iterator[FakeBluesky]:
    api = FakeBluesky(clock)
    _sky_server.reset()
    _sky_server.handler = api
    yield api
    _sky_server.reset()


def _bluesky(server: LoopbackServer, clock: ManualClock) -> Any:
    return build_thread_source(sky_account(server.base_url, login=False),
                               {PASSWORD_ENV: APP_PASSWORD}, clock)


def test_a_bluesky_thread_has_parents_replies_and_its_deleted_and_blocked_posts(
        _sky_server: LoopbackServer, sky: FakeBluesky, clock: ManualClock) -> None:
    root = sky.make_post("root post")
    sky.add_posts([root])
    anchor = sky.reply(root, "the anchor")
    first = sky.reply(anchor, "first reply", did="did:plc:nursenursenurse000000",
                      handle="nurse.example.org")
    sky.reply(first, "nested reply")
    blocked = sky.reply(anchor, "by someone blocked", did="did:plc:blockedblocked00000000")
    sky.blocked[blocked["uri"]] = "did:plc:blockedblocked00000000"
    source = _bluesky(_sky_server, clock)
    try:
        got = source.fetch_thread(ThreadRef("bluesky", anchor["uri"], anchor["uri"]))
    finally:
        source.close()
    texts = {p.text for p in got.posts}
    assert texts == {"root post", "the anchor", "first reply", "nested reply",
                     "by someone blocked"}  # a blocked *reply* is still shown by the fake
    replies = {p.text: p for p in got.posts}
    assert replies["first reply"].reply_to_id == anchor["uri"]
    assert replies["first reply"].reply_to_author == anchor["author"]["did"]
    assert replies["nested reply"].reply_to_id == first["uri"]
    # the parent of a reply whose parent was deleted
    orphan = sky.reply(root, "orphan")
    sky.posts.pop(root["uri"])
    source = _bluesky(_sky_server, clock)
    try:
        gone = source.fetch_thread(ThreadRef("bluesky", orphan["uri"], orphan["uri"]))
    finally:
        source.close()
    assert [p.text for p in gone.posts] == ["orphan"]
    assert gone.gaps == ((root["uri"], "deleted"),)
    request = _sky_server.requests("/xrpc/app.bsky.feed.getPostThread")[-1]
    assert request.arg("uri") == orphan["uri"] and request.arg("parentHeight")


def test_an_unknown_bluesky_post_is_not_found(_sky_server: LoopbackServer, sky: FakeBluesky,
                                              clock: ManualClock) -> None:
    source = _bluesky(_sky_server, clock)
    with pytest.raises(NotFound):
        source.fetch_thread(ThreadRef("bluesky", "at://did:plc:x/app.bsky.feed.post/3zz",
                                      "at://did:plc:x/app.bsky.feed.post/3zz"))
    source.close()


def _recorded(name: str) -> Any:
    return json.loads((DATA / "bluesky" / name).read_text(encoding="utf-8"))


def test_recorded_threads_keep_the_blocked_and_the_deleted_parent_as_gaps() -> None:
    blocked = thread_posts(_recorded("appview_snapshot_getPostThread_blockedPost_parent.json"))
    assert [p.text for p in blocked.posts] == ["alice replies to dan",
                                               "carol replies to alice's reply to dan"]
    assert blocked.gaps == (("record(4)", "blocked"),)
    deleted = thread_posts(
        _recorded("appview_snapshot_getPostThread_deleted_parent_notFoundPost.json"))
    assert [p.text for p in deleted.posts] == ["Reply reply"]
    assert deleted.gaps == (("record(5)", "deleted"),)
    assert deleted.posts[0].reply_to_id == "record(5)"
    root = thread_posts(_recorded("getPostThread.json"))
    assert len(root.posts) == 1 and root.gaps == ()
    assert root.posts[0].reply_to_id is None
