"""BlueskyCollector against the loopback XRPC fake: feeds, paging, sessions, faults."""

from __future__ import annotations

import json
import logging
import stat
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.clock import ManualClock
from aggregator.collectors.bluesky.collector import BlueskyCollector
from aggregator.collectors.registry import build_collector
from aggregator.collectors.retry import RetryPolicy
from aggregator.errors import AuthError, NotFound, TransientError
from aggregator.models import Page, Target
from tests.collectors.passes import run
from tests.fakes.bluesky import (
    APP_PASSWORD,
    AUTHOR_DID,
    AUTHOR_HANDLE,
    FEED_URI,
    LIST_OWNER,
    LIST_URI,
    PASSWORD_ENV,
    SEARCH_Q,
    SYN_LIST,
    FakeBluesky,
    sky_account,
)
from tests.fakes.server import LoopbackServer, Reply, serve

POLICY = RetryPolicy(attempts=3, base_delay=1.0, max_delay=4.0)
ENV = {PASSWORD_ENV: APP_PASSWORD}
Make = Callable[..., BlueskyCollector]


@pytest.fixture(scope="module")
def _server() -> Iterator[LoopbackServer]:
    yield from serve(FakeBluesky())


@pytest.fixture
def fake(_server: LoopbackServer, clock: ManualClock) -> Iterator[FakeBluesky]:
    api = FakeBluesky(clock)
    _server.reset()
    _server.handler = api
    yield api
    _server.reset()


@pytest.fixture
def make(_server: LoopbackServer, fake: FakeBluesky, clock: ManualClock) -> Iterator[Make]:
    built: list[BlueskyCollector] = []

    def build(login: bool = True, environ: dict[str, str] | None = None) -> BlueskyCollector:
        collector = build_collector(sky_account(_server.base_url, login=login),
                                    ENV if environ is None else environ, clock,
                                    policy=POLICY, timeout=2.0)
        assert isinstance(collector, BlueskyCollector)
        built.append(collector)
        return collector

    yield build
    for c in built:
        c.close()


def keys(pages: list[Page]) -> list[str]:
    return [p.key for page in pages for p in page.posts]


def test_a_recorded_list_feed_is_read_anonymously_with_its_owner_resolved(
        make: Make, fake: FakeBluesky, _server: LoopbackServer) -> None:
    target = Target("list", f"at://{LIST_OWNER}/app.bsky.graph.list/3kmokjyuflk2g")
    pages, state = run(make(login=False), target)
    assert len(keys(pages)) == 10
    assert state.resolved_id == LIST_URI.split("/")[2]
    assert state.cursor is not None
    assert not _server.requests("createSession")


def test_an_author_feed_keeps_reposts_as_originals_with_who_reposted(
        make: Make, fake: FakeBluesky) -> None:
    pages, state = run(make(login=False), Target("user", AUTHOR_HANDLE), backfill=50)
    posts = [p for page in pages for p in page.posts]
    assert len(posts) == 50
    assert state.resolved_id == AUTHOR_DID
    reposts = [p for p in posts if p.boosts]
    assert len(reposts) == 7
    assert all(p.boosts[0].booster.key == AUTHOR_DID for p in reposts)
    assert all(p.author.key != AUTHOR_DID for p in reposts)


def test_a_custom_feed_is_read_by_url(make: Make, fake: FakeBluesky) -> None:
    pages, _ = run(make(login=False), Target("feed", FEED_URI))
    assert len(keys(pages)) == 7


def test_search_and_hashtag_need_the_login_and_use_it(
        make: Make, fake: FakeBluesky, _server: LoopbackServer) -> None:
    with pytest.raises(AuthError):
        run(make(login=False), Target("search", SEARCH_Q))
    pages, _ = run(make(), Target("search", SEARCH_Q))
    assert len(keys(pages)) == 25  # logged in: nobody is hidden
    fake.add_new("search:#MedSky", 3)
    pages, _ = run(make(), Target("hashtag", "MedSky"))
    assert len(keys(pages)) == 3
    assert fake.logins == 1  # one session for both collectors


def test_logged_out_reads_skip_authors_who_ask_not_to_be_shown(
        make: Make, fake: FakeBluesky) -> None:
    hidden = [{"val": "!no-unauthenticated", "src": "did:plc:x", "uri": "at://x"}]
    fake.add_new(f"list:{SYN_LIST}", 2)
    fake.add_new(f"list:{SYN_LIST}", 3, author_labels=hidden)
    pages, _ = run(make(login=False), Target("list", SYN_LIST))
    assert len(keys(pages)) == 2
    assert any("skipped 3 posts whose authors ask not to be shown to logged-out readers" in w
               for page in pages for w in page.warnings)


def test_paging_is_backwards_and_an_unchanged_source_costs_one_request(
        make: Make, fake: FakeBluesky, _server: LoopbackServer) -> None:
    added = fake.add_new(f"list:{SYN_LIST}", 230)
    collector = make(login=False)
    pages, state = run(collector, Target("list", SYN_LIST), backfill=1000)
    assert len(keys(pages)) == 230 and len(pages) == 3
    assert [p.state is None for p in pages] == [True, True, False]
    assert set(keys(pages)) == {p["uri"] for p in added}
    _server.reset()
    pages, after = run(collector, Target("list", SYN_LIST), state)
    assert keys(pages) == [] and after == state
    assert len(_server.requests("getListFeed")) == 1
    assert not _server.requests("getList?")


def test_a_later_pass_stops_at_the_first_post_it_holds(
        make: Make, fake: FakeBluesky, _server: LoopbackServer) -> None:
    fake.add_new(f"list:{SYN_LIST}", 40)
    collector = make(login=False)
    _, state = run(collector, Target("list", SYN_LIST))
    fresh = fake.add_new(f"list:{SYN_LIST}", 150)
    reposted = fake.repost(f"list:{SYN_LIST}", fresh[0])  # an old post, reposted now
    _server.reset()
    pages, after = run(collector, Target("list", SYN_LIST), state)
    got = keys(pages)
    assert set(got) == {p["uri"] for p in fresh}
    assert got[0] == reposted["post"]["uri"]  # the feed's order is the repost time
    assert len(_server.requests("getListFeed")) == 2
    assert after.cursor != state.cursor


def test_backfill_bounds_the_first_pass_and_zero_only_sets_the_cursor(
        make: Make, fake: FakeBluesky) -> None:
    fake.add_new(f"list:{SYN_LIST}", 30)
    pages, state = run(make(login=False), Target("list", SYN_LIST), backfill=12)
    assert len(keys(pages)) == 12
    pages, zero = run(make(login=False), Target("list", SYN_LIST), backfill=0)
    assert keys(pages) == [] and zero.cursor == state.cursor


def test_future_and_backdated_created_at_do_not_fool_the_cursor(
        make: Make, fake: FakeBluesky) -> None:
    fake.add_new(f"list:{SYN_LIST}", 5)
    collector = make(login=False)
    _, state = run(collector, Target("list", SYN_LIST))
    future = fake.add_new(f"list:{SYN_LIST}", 1, created_at="2099-01-01T00:00:00Z")
    old = fake.add_new(f"list:{SYN_LIST}", 1, created_at="2001-01-01T00:00:00")
    pages, state2 = run(collector, Target("list", SYN_LIST), state)
    posts = {p.key: p for page in pages for p in page.posts}
    assert set(posts) == {future[0]["uri"], old[0]["uri"]}
    assert posts[future[0]["uri"]].created_at.year == 2026  # clamped to indexedAt
    assert posts[old[0]["uri"]].created_at.year == 2001
    pages, _ = run(collector, Target("list", SYN_LIST), state2)
    assert keys(pages) == []


def test_cursors_of_every_format_are_sent_back_unchanged(
        make: Make, fake: FakeBluesky, _server: LoopbackServer) -> None:
    for style in ("iso", "ms-cid", "legacy", "offset"):
        key = f"list:{SYN_LIST}"
        fake.feeds[key] = []
        fake.cursor_style[key] = style
        fake.add_new(key, 120)
        _server.reset()
        pages, _ = run(make(login=False), Target("list", SYN_LIST))
        assert len(keys(pages)) == 120, style
        sent = [r.arg("cursor") for r in _server.requests("getListFeed")]
        assert sent[0] is None and sent[1] is not None
        assert sent[1] in {c for (k, c) in fake._cursors if k == key}


def test_a_repeated_cursor_ends_the_pass_without_moving_the_cursor(
        make: Make, fake: FakeBluesky, _server: LoopbackServer) -> None:
    fake.add_new(f"list:{SYN_LIST}", 10)
    collector = make(login=False)
    _, state = run(collector, Target("list", SYN_LIST))
    fake.add_new(f"list:{SYN_LIST}", 300)
    loop = Reply.json({"feed": [{"post": fake.make_post("again")}], "cursor": "same"})
    _server.faults.arm(loop, "getListFeed", times=5)
    pages, after = run(collector, Target("list", SYN_LIST), state)
    assert after.cursor == state.cursor
    assert any("repeated a cursor" in w for page in pages for w in page.warnings)


def test_a_missing_list_is_not_found_though_its_feed_is_empty(
        make: Make, fake: FakeBluesky) -> None:
    with pytest.raises(NotFound) as err:
        run(make(login=False), Target("list", "at://did:plc:nobody/app.bsky.graph.list/3zzz"))
    assert "List not found" in str(err.value)
    with pytest.raises(NotFound):
        run(make(login=False), Target("user", "nobody.example.org"))


def test_rate_limit_headers_pace_and_a_429_waits_for_the_reset(
        make: Make, fake: FakeBluesky, clock: ManualClock, _server: LoopbackServer) -> None:
    fake.add_new(f"list:{SYN_LIST}", 5)
    reset = int((clock.now() + timedelta(seconds=120)).timestamp())
    _server.faults.arm(Reply.json({"error": "RateLimitExceeded", "message":
                                   "Rate Limit Exceeded"}, 429, **{
        "RateLimit-Limit": "3000", "RateLimit-Remaining": "0",
        "RateLimit-Reset": str(reset), "RateLimit-Policy": "3000;w=300"}), "getListFeed")
    pages, _ = run(make(login=False), Target("list", SYN_LIST))
    assert len(keys(pages)) == 5
    assert 100 <= max(clock.sleeps) <= 121


def test_an_html_429_without_headers_waits_a_bounded_default(
        make: Make, fake: FakeBluesky, clock: ManualClock, _server: LoopbackServer) -> None:
    fake.add_new(f"list:{SYN_LIST}", 3)
    html = Reply(429, b"<html><body>Too Many Requests</body></html>",
                 {"Content-Type": "text/html"})
    _server.faults.arm(html, "getListFeed")
    pages, _ = run(make(login=False), Target("list", SYN_LIST))
    assert len(keys(pages)) == 3 and clock.sleeps == [POLICY.default_rate_wait]


def test_the_budget_pauses_before_it_runs_out(
        make: Make, fake: FakeBluesky, clock: ManualClock) -> None:
    fake.limit = 4
    fake.add_new(f"list:{SYN_LIST}", 350)
    pages, _ = run(make(login=False), Target("list", SYN_LIST), backfill=400)
    assert len(keys(pages)) == 350
    assert clock.sleeps and all(s <= 300 for s in clock.sleeps)


def test_server_errors_and_stalls_are_retried_then_transient(
        make: Make, fake: FakeBluesky, clock: ManualClock, _server: LoopbackServer) -> None:
    fake.add_new(f"list:{SYN_LIST}", 3)
    _server.faults.arm(Reply.json({"error": "InternalServerError", "message":
                                   "Internal Server Error"}, 500), "getListFeed")
    _server.faults.arm(Reply(200, b"{}", delay=3.0), "getListFeed")  # stalls past timeout
    pages, _ = run(make(login=False), Target("list", SYN_LIST))
    assert len(keys(pages)) == 3 and len(clock.sleeps) == 2
    _server.faults.arm(Reply(502, b"<html>bad gateway</html>"), "getListFeed", times=10)
    with pytest.raises(TransientError):
        run(make(login=False), Target("list", SYN_LIST))


def test_one_login_across_runs_and_refresh_on_expired_token(
        make: Make, fake: FakeBluesky, clock: ManualClock, tmp_path: Path) -> None:
    fake.add_new(f"search:{SEARCH_Q}", 2)
    for _ in range(3):  # three collect runs, each with a new collector
        run(make(), Target("search", SEARCH_Q))
    assert fake.logins == 1
    files = list((tmp_path / "home").rglob("session-*.json"))
    assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) == 0o600
    clock.advance(3 * 3600)  # the access token expired: refresh, no new login
    run(make(), Target("search", SEARCH_Q))
    assert (fake.logins, fake.refreshes) == (1, 1)
    stored = json.loads(files[0].read_text())
    fake.revoked.add(stored["refreshJwt"])  # refresh token revoked: log in again
    fake.expire_sessions()
    run(make(), Target("search", SEARCH_Q))
    assert (fake.logins, fake.refreshes) == (2, 1)


def test_a_wrong_or_missing_app_password_is_an_auth_error(
        make: Make, fake: FakeBluesky) -> None:
    with pytest.raises(AuthError) as err:
        run(make(environ={}), Target("search", SEARCH_Q))
    assert PASSWORD_ENV in str(err.value)
    with pytest.raises(AuthError) as err:
        run(make(environ={PASSWORD_ENV: "wrong-pass-word-here"}), Target("search", SEARCH_Q))
    assert "Invalid identifier or password" in str(err.value)


def test_secrets_appear_in_no_log_or_error(
        make: Make, fake: FakeBluesky, clock: ManualClock,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake.add_new(f"search:{SEARCH_Q}", 2)
    run(make(), Target("search", SEARCH_Q))
    clock.advance(3 * 3600)
    run(make(), Target("search", SEARCH_Q))
    errors = []
    for env in ({}, {PASSWORD_ENV: APP_PASSWORD + "x"}):
        fake.expire_sessions()
        fake.revoked |= set(fake.refresh)
        try:
            run(make(environ=env), Target("search", SEARCH_Q))
        except AuthError as exc:
            errors.append(str(exc))
    assert len(errors) == 2
    secrets = [APP_PASSWORD, *fake.access, *fake.refresh, *fake.revoked]
    text = caplog.text + "\n".join(errors)
    assert "createSession" in text or "logging in" in text  # the log did run at DEBUG
    assert not [s for s in secrets if s in text]
