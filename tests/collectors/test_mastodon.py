"""MastodonCollector against the loopback fake Mastodon: paging, cursors, errors, waits."""

from __future__ import annotations

import pytest

from aggregator.clock import ManualClock
from aggregator.collectors.retry import RetryPolicy
from aggregator.errors import AuthError, NotFound, TransientError
from aggregator.models import Page, SourceState, Target, id_order
from tests.collectors.conftest import MakeCollector
from tests.fakes.mastodon import (
    ACCOUNT_ACCT,
    ACCOUNT_ID,
    LIST_ID,
    TAG,
    MastodonFake,
    load_body,
)
from tests.fakes.server import Reply

LIST = Target("list", "42")


def run(collector: object, target: Target, state: SourceState = SourceState(),
        backfill: int = 200) -> list[Page]:
    return list(collector.fetch_posts(target, state, backfill=backfill))  # type: ignore[attr-defined]


def ids(pages: list[Page]) -> list[str]:
    return [p.remote_id for page in pages for p in page.posts]


@pytest.fixture
def big_list(mastodon_fake: MastodonFake) -> list[str]:
    """List 42 with 100 statuses; their ids, oldest first."""
    return [s["id"] for s in mastodon_fake.api.add_new("list:42", 100)]


# ---------------------------------------------------------------- first run


def test_backfill_takes_at_most_backfill_posts_newest_first(
        make_collector: MakeCollector, mastodon_fake: MastodonFake, big_list: list[str]) -> None:
    pages = run(make_collector(), LIST, backfill=50)

    assert ids(pages) == big_list[::-1][:50]
    assert [p.state for p in pages[:-1]] == [None] * (len(pages) - 1)
    assert pages[-1].state == SourceState(cursor=big_list[-1])
    reqs = mastodon_fake.timeline_requests()
    assert [r.arg("limit") for r in reqs] == ["40", "10"]
    assert reqs[1].arg("max_id") == big_list[::-1][39]
    assert sum(p.requests for p in pages) == 2


def test_backfill_stops_at_the_end_of_a_short_timeline(
        make_collector: MakeCollector, mastodon_fake: MastodonFake) -> None:
    recorded = [s["id"] for s in load_body("timelines_list.json")]

    pages = run(make_collector(), Target("list", LIST_ID), backfill=200)

    assert ids(pages) == recorded
    assert pages[-1].state == SourceState(cursor=recorded[0])
    assert len(mastodon_fake.timeline_requests()) == 2  # the page, then the empty one
    assert sum(p.requests for p in pages) == 2


def test_backfill_zero_only_sets_the_cursor(
        make_collector: MakeCollector, mastodon_fake: MastodonFake, big_list: list[str]) -> None:
    pages = run(make_collector(), LIST, backfill=0)

    assert ids(pages) == []
    assert pages[-1].state == SourceState(cursor=big_list[-1])
    assert [r.arg("limit") for r in mastodon_fake.timeline_requests()] == ["1"]


# ---------------------------------------------------------------- later runs


def test_unchanged_second_pass_makes_exactly_one_request(
        make_collector: MakeCollector, mastodon_fake: MastodonFake, big_list: list[str]) -> None:
    collector = make_collector()
    state = run(collector, LIST, backfill=30)[-1].state
    assert state is not None
    mastodon_fake.server.reset()

    pages = run(collector, LIST, state)

    assert ids(pages) == []
    assert len(mastodon_fake.server.log) == 1
    assert mastodon_fake.server.log[0].arg("min_id") == big_list[-1]
    assert pages[-1].state == state


def test_new_posts_are_picked_up_in_order_across_pages(
        make_collector: MakeCollector, mastodon_fake: MastodonFake, big_list: list[str]) -> None:
    cursor = big_list[-1]
    new = [s["id"] for s in mastodon_fake.api.add_new("list:42", 95)]

    pages = run(make_collector(), LIST, SourceState(cursor=cursor))

    assert sorted(ids(pages), key=id_order) == new
    states = [p.state for p in pages]
    assert all(s is not None for s in states)
    cursors = [s.cursor for s in states if s is not None and s.cursor]
    assert cursors == sorted(cursors, key=id_order)
    assert cursors[-1] == new[-1]
    # Each page commits its own newest id and only holds posts newer than the one before.
    previous = cursor
    for page in pages:
        if page.posts:
            assert page.state is not None and page.state.cursor is not None
            assert min(id_order(p.remote_id) for p in page.posts) > id_order(previous)
            assert page.state.cursor == max((p.remote_id for p in page.posts), key=id_order)
            previous = page.state.cursor
    reqs = mastodon_fake.timeline_requests()
    assert [r.arg("min_id") for r in reqs] == [cursor, new[39], new[79]]
    assert len(reqs) == 3  # 40 + 40 + 15: the short page ends the pass


def test_a_server_ignoring_min_id_cannot_loop_us(
        make_collector: MakeCollector, mastodon_fake: MastodonFake) -> None:
    old = load_body("timelines_list.json")  # always the same, all older than the cursor
    mastodon_fake.server.faults.arm(Reply.json(old), "/timelines/", times=1000)

    pages = run(make_collector(), LIST, SourceState(cursor="117020600000000000"))

    assert ids(pages) == []
    assert len(mastodon_fake.server.log) == 1


def test_boost_cursor_is_the_wrapper_id(
        make_collector: MakeCollector, mastodon_fake: MastodonFake) -> None:
    fake = mastodon_fake.api
    original = fake.make_status(content="<p>old post, boosted today</p>")
    fresh = fake.make_status()
    boost = fake.make_status(reblog=original)  # newest id on the timeline
    fake.add_statuses("list:7", [original | {"id": "100"}, fresh, boost])

    pages = run(make_collector(), Target("list", "7"), SourceState(cursor=fresh["id"]))

    (post,) = [p for page in pages for p in page.posts]
    assert post.remote_id == original["id"] and post.text == "old post, boosted today"
    assert post.boosts[0].remote_id == boost["id"]
    assert pages[-1].state == SourceState(cursor=boost["id"])


# ---------------------------------------------------------------- targets


def test_user_source_looks_up_the_account_once(
        make_collector: MakeCollector, mastodon_fake: MastodonFake) -> None:
    collector = make_collector(token=None)  # account statuses are public
    target = Target("user", ACCOUNT_ACCT)

    first = run(collector, target, backfill=3)
    state = first[-1].state
    assert state is not None and state.resolved_id == ACCOUNT_ID
    assert len(ids(first)) == 3
    assert len(mastodon_fake.server.requests("/accounts/lookup")) == 1
    assert first[0].requests == 2  # the lookup is counted

    mastodon_fake.api.add_new(f"account:{ACCOUNT_ID}", 2)
    second = run(collector, target, state)

    assert len(ids(second)) == 2
    assert len(mastodon_fake.server.requests("/accounts/lookup")) == 1
    assert all(r.path == f"/api/v1/accounts/{ACCOUNT_ID}/statuses"
               for r in mastodon_fake.timeline_requests())


def test_hashtag_is_public_and_needs_no_instance_info(
        make_collector: MakeCollector, mastodon_fake: MastodonFake) -> None:
    # only remote authors: the local domain (the one instance request) is never needed
    for status in mastodon_fake.api.timelines[f"tag:{TAG}"]:
        status["account"]["acct"] += "@elsewhere.example"
    collector = make_collector(token=None)

    pages = run(collector, Target("hashtag", TAG))
    run(collector, Target("hashtag", TAG), pages[-1].state or SourceState())

    assert [p.hashtags for p in pages[0].posts] == [("hoot",)]
    assert all("authorization" not in r.headers for r in mastodon_fake.server.log)
    assert not mastodon_fake.server.requests("/instance")  # no availability probe
    assert mastodon_fake.server.log[0].headers["user-agent"].startswith("grandrounds/")


def test_unknown_user_is_not_found(make_collector: MakeCollector) -> None:
    with pytest.raises(NotFound, match="nobody"):
        run(make_collector(), Target("user", "nobody@example.org"))


# ---------------------------------------------------------------- errors


def test_list_without_token_is_an_auth_error(
        make_collector: MakeCollector, mastodon_fake: MastodonFake) -> None:
    with pytest.raises(AuthError, match="token"):
        run(make_collector(token=None), Target("list", LIST_ID))
    assert len(mastodon_fake.server.log) == 1  # not retried


def test_revoked_token_is_an_auth_error_without_the_token(make_collector: MakeCollector) -> None:
    with pytest.raises(AuthError) as err:
        run(make_collector(token="s3cret-revoked"), Target("list", LIST_ID))
    assert "s3cret-revoked" not in str(err.value)


def test_unknown_list_is_not_found(make_collector: MakeCollector) -> None:
    with pytest.raises(NotFound, match="list 999"):
        run(make_collector(), Target("list", "999"))


def test_429_waits_for_the_reset_then_succeeds(
        make_collector: MakeCollector, mastodon_fake: MastodonFake, clock: ManualClock) -> None:
    mastodon_fake.server.faults.arm(mastodon_fake.api.rate_limited(120), "/timelines/")

    pages = run(make_collector(), Target("list", LIST_ID))

    assert len(ids(pages)) == 7
    assert clock.sleeps and 119 <= clock.sleeps[0] <= 121


def test_429_with_a_reset_too_far_away_gives_up(
        make_collector: MakeCollector, mastodon_fake: MastodonFake, clock: ManualClock) -> None:
    from aggregator.errors import RateLimited

    mastodon_fake.server.faults.arm(mastodon_fake.api.rate_limited(7200), "/timelines/")
    with pytest.raises(RateLimited) as err:
        run(make_collector(), Target("list", LIST_ID))
    assert err.value.retry_at is not None
    assert clock.sleeps == []


def test_nearly_spent_budget_slows_down_instead_of_hitting_429(
        make_collector: MakeCollector, mastodon_fake: MastodonFake, clock: ManualClock,
        big_list: list[str]) -> None:
    mastodon_fake.api.set_budget(limit=3, window_seconds=60)

    pages = run(make_collector(), LIST, backfill=100)

    assert len(ids(pages)) == 100
    assert clock.sleeps and all(55 <= s <= 61 for s in clock.sleeps)
    # 40 + 40 + 20, and no 429 among them (plus the one /api/v2/instance for local authors)
    assert len(mastodon_fake.timeline_requests()) == 3
    assert len(mastodon_fake.server.log) == 4


def test_500_twice_then_ok_succeeds_after_backoff(
        make_collector: MakeCollector, mastodon_fake: MastodonFake, clock: ManualClock) -> None:
    mastodon_fake.server.faults.arm(Reply.json({"error": "boom"}, 500), "/timelines/", times=2)

    pages = run(make_collector(), Target("list", LIST_ID))

    assert len(ids(pages)) == 7
    assert len(clock.sleeps) == 2 and clock.sleeps[0] <= clock.sleeps[1] * 2
    # 3 + end, and the one /api/v2/instance asked for the local authors' domain
    assert sum(p.requests for p in pages) == len(mastodon_fake.timeline_requests()) == 4
    assert len(mastodon_fake.server.requests("/instance")) == 1


def test_500_forever_is_a_transient_error_after_bounded_attempts(
        make_collector: MakeCollector, mastodon_fake: MastodonFake) -> None:
    mastodon_fake.server.faults.arm(Reply(503, b""), "/timelines/", times=100)

    with pytest.raises(TransientError, match="503"):
        run(make_collector(policy=RetryPolicy(attempts=3)), Target("list", LIST_ID))
    assert len(mastodon_fake.server.log) == 3


@pytest.mark.parametrize("reply", [
    Reply(200, b"<html><body>Maintenance</body></html>", {"Content-Type": "text/html"}),
    Reply(200, b'[{"id": "1", "content": "<p>cut', {"Content-Type": "application/json"}),
    Reply(200, b'{"not": "a list"}', {"Content-Type": "application/json"}),
    Reply(200, b'[{"id": "1"}]', {"Content-Type": "application/json"}, truncate=5),
], ids=["html", "bad-json", "not-a-list", "truncated"])
def test_malformed_bodies_are_transient(
        make_collector: MakeCollector, mastodon_fake: MastodonFake, reply: Reply) -> None:
    mastodon_fake.server.faults.arm(reply, "/timelines/", times=100)

    with pytest.raises(TransientError):
        run(make_collector(policy=RetryPolicy(attempts=2)), Target("list", LIST_ID))


def test_a_malformed_body_once_is_retried(
        make_collector: MakeCollector, mastodon_fake: MastodonFake) -> None:
    mastodon_fake.server.faults.arm(Reply(200, b"<html>", {"Content-Type": "text/html"}),
                                    "/timelines/")
    assert len(ids(run(make_collector(), Target("list", LIST_ID)))) == 7


def test_json_that_orjson_refuses_is_read_as_json_reads_it(
        make_collector: MakeCollector, mastodon_fake: MastodonFake) -> None:
    """A lone surrogate (a cut emoji) and an integer beyond 64 bits are valid JSON that the
    fast parser refuses: the page is still read (not refused as malformed), its raw JSON
    kept."""
    status = mastodon_fake.api.make_status(content="<p>cut \ud83d emoji</p>")
    status["huge"] = 2**70
    mastodon_fake.api.add_statuses("list:42", [status])

    pages = run(make_collector(), LIST)

    [post] = [p for page in pages for p in page.posts]
    assert "\ud83d" in post.text
    assert '"huge":1180591620717411303424' in post.raw


def test_slow_answer_times_out_and_is_retried(
        make_collector: MakeCollector, mastodon_fake: MastodonFake) -> None:
    slow = Reply(200, b"[]", {"Content-Type": "application/json"}, delay=1.5)
    mastodon_fake.server.faults.arm(slow, "/timelines/")

    pages = run(make_collector(timeout=0.3), Target("list", LIST_ID))

    assert len(ids(pages)) == 7


def test_an_error_mid_backfill_keeps_pages_but_not_the_cursor(
        make_collector: MakeCollector, mastodon_fake: MastodonFake, big_list: list[str]) -> None:
    collector = make_collector(policy=RetryPolicy(attempts=1))
    pages: list[Page] = []
    gen = collector.fetch_posts(LIST, SourceState(), backfill=100)
    pages.append(next(gen))  # not yielded until the second page answered
    mastodon_fake.server.faults.arm(Reply(500, b""), "/timelines/", times=10)
    with pytest.raises(TransientError):
        pages.extend(gen)
    assert all(p.state is None for p in pages)
    assert len(ids(pages)) == 80


def test_unparsable_rate_limit_header_is_retried_not_waited_on(
        make_collector: MakeCollector, mastodon_fake: MastodonFake, clock: ManualClock) -> None:
    odd = Reply.json(load_body("timelines_list.json"), **{"X-RateLimit-Reset": "whenever"})
    mastodon_fake.server.faults.arm(odd, "/timelines/")

    pages = run(make_collector(), Target("list", LIST_ID))

    assert len(ids(pages)) == 7
    assert all(s < 5 for s in clock.sleeps)  # a back-off, not a rate-limit wait


# ---------------------------------------------------------------- local domain (issue 12)


def test_local_authors_belong_to_the_local_domain_asked_once(
        make_collector: MakeCollector, mastodon_fake: MastodonFake) -> None:
    from tests.fakes.mastodon import LOCAL_DOMAIN

    collector = make_collector()
    pages = run(collector, Target("list", LIST_ID))
    run(collector, Target("hashtag", TAG))
    authors = {p.author.key for page in pages for p in page.posts}
    assert f"admin@{LOCAL_DOMAIN}" in authors  # not the API host, not the profile URL's
    assert not any(a.endswith(("@127.0.0.1", "@localhost")) for a in authors)
    assert len(mastodon_fake.server.requests("/instance")) == 1


def test_without_instance_info_local_authors_fall_back_to_the_profile_host(
        make_collector: MakeCollector, mastodon_fake: MastodonFake) -> None:
    mastodon_fake.server.faults.arm(Reply.json({"error": "Record not found"}, 404),
                                    "/instance", times=2)
    pages = run(make_collector(), Target("list", LIST_ID))
    authors = {p.author.key for page in pages for p in page.posts}
    assert "admin@localhost" in authors
