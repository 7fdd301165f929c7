"""The X collector against the loopback fake X API v2 (tests/fakes/twitter.py)."""
# The x_* fixtures are imported from twitter_fixtures (conftest.py belongs to the shared
# suite); pytest finds them here, and test arguments of the same name "redefine" them:
# ruff: noqa: F811

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import timedelta

import pytest
import requests
import tweepy

from aggregator.clock import ManualClock
from aggregator.collectors.retry import RetryPolicy
from aggregator.collectors.twitter import TwitterCollector
from aggregator.collectors.twitter.entities import TweetPage
from aggregator.collectors.twitter.normalize import normalize_page
from aggregator.errors import AuthError, AuthRejected, CollectorError, NotFound, TransientError
from aggregator.models import Page, Post, SourceState, Target, id_order
from aggregator.settings import AccountSettings
from tests.collectors.twitter_fixtures import (  # noqa: F401  (fixtures, used by name)
    X_ENV,
    x_account,
    x_clock,
    x_collector,
    x_fake,
    x_loopback,
    x_server,
)
from tests.fakes.server import LoopbackServer, Reply
from tests.fakes.twitter import FakeX, load_body

LIST = Target("list", "1500000000000000001")
LIST_KEY = f"list:{LIST.value}"


def fill(fake: FakeX, key: str, n: int, author: str = "snowman") -> list[dict]:
    """n new tweets on a timeline, oldest first (ids ascending)."""
    return fake.add_tweets(key, [fake.make_tweet(author, f"post {i} #MedTwitter")
                                 for i in range(n)])


class Store:
    """What the collect service does with pages: posts stored once, state as committed."""

    def __init__(self, state: SourceState | None = None) -> None:
        self.state = state or SourceState()
        self.posts: dict[str, Post] = {}
        self.pages: list[Page] = []

    def run(self, collector: TwitterCollector, target: Target, backfill: int = 200) -> list[Page]:
        pages = []
        for page in collector.fetch_posts(target, self.state, backfill=backfill):
            pages.append(page)
            for post in page.posts:
                self.posts[post.key] = post
            if page.state is not None:
                self.state = page.state
        self.pages += pages
        return pages


def sizes(server: LoopbackServer, path: str) -> list[str | None]:
    return [r.arg("max_results") for r in server.requests(path)]


def only_last_has_state(pages: list[Page]) -> bool:
    return all(p.state is None for p in pages[:-1]) and pages[-1].state is not None


# ---------------------------------------------------------------- passes and cursors


def test_first_run_takes_at_most_backfill_and_moves_cursor_on_last_page(
        x_fake: FakeX, x_server: LoopbackServer, x_collector: TwitterCollector) -> None:
    tweets = fill(x_fake, LIST_KEY, 250)
    store = Store()
    pages = store.run(x_collector, LIST, backfill=150)

    assert [len(p.posts) for p in pages] == [100, 50]
    assert only_last_has_state(pages)
    assert store.state.cursor == tweets[-1]["id"]  # the newest
    assert set(store.posts) == {t["id"] for t in tweets[-150:]}
    assert sizes(x_server, "/2/lists/") == ["100", "50"]
    assert all(r.arg("since_id") is None for r in x_server.requests())


def test_unchanged_list_second_pass_is_one_small_request_and_nothing_new(
        x_fake: FakeX, x_server: LoopbackServer, x_collector: TwitterCollector) -> None:
    fill(x_fake, LIST_KEY, 40)
    store = Store()
    store.run(x_collector, LIST)
    cursor = store.state.cursor
    x_server.reset()

    pages = store.run(x_collector, LIST)

    assert len(x_server.requests()) == 1
    assert sizes(x_server, "") == ["10"]  # the probe page: X bills every post read
    assert [p.posts for p in pages] == [()]
    assert pages[0].state == SourceState(cursor=cursor)
    assert pages[0].items_read == 10  # what X bills: the entries it sent, known or not


def test_list_pass_stops_at_the_known_id_and_commits_cursor_only_at_the_end(
        x_fake: FakeX, x_server: LoopbackServer, x_collector: TwitterCollector) -> None:
    fill(x_fake, LIST_KEY, 30)
    store = Store()
    store.run(x_collector, LIST)
    new = fill(x_fake, LIST_KEY, 25)
    x_server.reset()

    pages = store.run(x_collector, LIST)

    assert sizes(x_server, "") == ["10", "100"]
    assert [len(p.posts) for p in pages] == [10, 15]
    assert only_last_has_state(pages)
    assert store.state.cursor == new[-1]["id"]
    assert {p.key for page in pages for p in page.posts} == {t["id"] for t in new}


def test_interrupted_list_pass_leaves_cursor_and_a_rerun_stores_everything_once(
        x_fake: FakeX, x_server: LoopbackServer, x_collector: TwitterCollector,
        x_clock: ManualClock) -> None:
    old = fill(x_fake, LIST_KEY, 5)
    start = SourceState(cursor=old[-1]["id"])
    new = fill(x_fake, LIST_KEY, 150)
    store = Store(start)
    passes = x_collector.fetch_posts(LIST, store.state, backfill=200)
    first = next(passes)
    assert first.state is None and len(first.posts) == 10
    x_server.faults.arm(Reply.json({"title": "Internal Server Error", "status": 500}, 500),
                        path_contains="/2/lists/", times=3)

    with pytest.raises(TransientError):
        next(passes)
    assert len(x_server.requests()) == 1 + 3  # bounded: RetryPolicy(attempts=3)
    assert len(x_clock.sleeps) == 2
    assert store.state == start  # nothing committed the cursor

    store.run(x_collector, LIST)
    assert store.state.cursor == new[-1]["id"]
    assert set(store.posts) == {t["id"] for t in new}


def test_user_source_looks_up_once_and_sends_since_id(
        x_fake: FakeX, x_server: LoopbackServer, x_collector: TwitterCollector) -> None:
    user = x_fake.user_by_name("jellybeanjones")
    key = f"user:{user['id']}"
    tweets = fill(x_fake, key, 12, author="jellybeanjones")
    target = Target("user", "JellyBeanJones")
    store = Store()

    first = store.run(x_collector, target)
    assert store.state.resolved_id == user["id"]
    assert len(x_server.requests("/2/users/by/username/")) == 1
    assert first[0].requests == 2 and first[0].users_read == 1 + 1  # lookup + author
    assert len(store.posts) == 12

    x_server.reset()
    later = fill(x_fake, key, 3, author="jellybeanjones")
    second = store.run(x_collector, target)
    third = store.run(x_collector, target)

    assert x_server.requests("/2/users/by/") == []
    timeline = x_server.requests(f"/2/users/{user['id']}/tweets")
    assert [r.arg("since_id") for r in timeline] == [tweets[-1]["id"], later[-1]["id"]]
    assert [p.key for p in second[0].posts] == [t["id"] for t in reversed(later)]
    assert [len(p.posts) for p in third] == [0] and third[0].requests == 1
    assert store.state == SourceState(cursor=later[-1]["id"], resolved_id=user["id"])


def test_search_pages_with_next_token_and_since_id(
        x_fake: FakeX, x_server: LoopbackServer, x_collector: TwitterCollector) -> None:
    query = "#MedTwitter -is:retweet"
    tweets = fill(x_fake, f"search:{query}", 130)
    store = Store()
    pages = store.run(x_collector, Target("search", query), backfill=500)

    reqs = x_server.requests("/2/tweets/search/recent")
    assert [r.arg("query") for r in reqs] == [query, query]
    assert reqs[0].arg("next_token") is None and reqs[1].arg("next_token")
    assert [len(p.posts) for p in pages] == [100, 30] and only_last_has_state(pages)
    assert store.state.cursor == tweets[-1]["id"]

    store.run(x_collector, Target("search", query))
    assert x_server.requests("/2/tweets/search/recent")[-1].arg("since_id") == tweets[-1]["id"]


def test_search_cursor_older_than_the_window_reads_back_to_it(
        x_fake: FakeX, x_server: LoopbackServer, x_collector: TwitterCollector) -> None:
    query = "#MedEd"
    old = fill(x_fake, f"search:{query}", 5)
    new = fill(x_fake, f"search:{query}", 30)
    x_fake.search_oldest_since = new[0]["id"]  # the old cursor fell out of the window
    store = Store(SourceState(cursor=old[-1]["id"]))
    pages = store.run(x_collector, Target("search", query))

    assert set(store.posts) == {t["id"] for t in new}
    assert store.state.cursor == new[-1]["id"] and only_last_has_state(pages)
    assert [r.arg("since_id") for r in x_server.requests()] == [old[-1]["id"], None]


def test_hashtag_source_is_a_recent_search(x_fake: FakeX, x_server: LoopbackServer,
                                           x_collector: TwitterCollector) -> None:
    fill(x_fake, "search:#FOAMed", 3)
    store = Store()
    store.run(x_collector, Target("hashtag", "FOAMed"))
    assert len(store.posts) == 3
    assert x_server.requests()[0].arg("query") == "#FOAMed"


def test_backfill_zero_only_sets_the_cursor(
        x_fake: FakeX, x_server: LoopbackServer, x_collector: TwitterCollector) -> None:
    tweets = fill(x_fake, LIST_KEY, 20)
    pages = Store().run(x_collector, LIST, backfill=0)
    assert [p.posts for p in pages] == [()]
    assert pages[0].state == SourceState(cursor=tweets[-1]["id"])
    assert sizes(x_server, "") == ["1"]


def test_list_horizon_of_800_ends_the_pass_with_a_warning(
        x_fake: FakeX, x_server: LoopbackServer, x_collector: TwitterCollector) -> None:
    old = fill(x_fake, LIST_KEY, 2)
    new = fill(x_fake, LIST_KEY, 900)
    store = Store(SourceState(cursor=old[-1]["id"]))
    pages = store.run(x_collector, LIST)

    assert sum(len(p.posts) for p in pages) == 800
    assert only_last_has_state(pages)
    assert store.state.cursor == new[-1]["id"]
    assert any("800" in w for w in pages[-1].warnings)


def test_a_repeating_next_token_ends_the_pass(
        x_fake: FakeX, x_server: LoopbackServer, x_collector: TwitterCollector) -> None:
    tweets = fill(x_fake, LIST_KEY, 3)
    stuck = {"data": [x_fake.tweets[t["id"]] for t in reversed(tweets)],
             "meta": {"result_count": 3, "next_token": "4611686018799963893"}}
    x_server.faults.arm(Reply.json(stuck), path_contains="/2/lists/", times=10)
    pages = Store().run(x_collector, LIST, backfill=1000)
    assert len(pages) == 2 and only_last_has_state(pages)
    assert any("repeated" in w for w in pages[-1].warnings)


def test_pages_per_pass_are_capped(x_fake: FakeX, x_account: AccountSettings,
                                   x_clock: ManualClock) -> None:
    fill(x_fake, LIST_KEY, 500)
    collector = TwitterCollector.from_account(x_account, {X_ENV: x_fake.token}, x_clock)
    collector.max_pages = 3
    pages = Store().run(collector, LIST, backfill=1000)
    collector.close()
    assert len(pages) == 3 and only_last_has_state(pages)
    assert sum(len(p.posts) for p in pages) == 300


# ---------------------------------------------------------------- errors


def test_missing_bearer_token_names_the_variable(x_account: AccountSettings,
                                                 x_clock: ManualClock) -> None:
    with pytest.raises(AuthError, match=X_ENV):
        TwitterCollector.from_account(x_account, {}, x_clock)


def test_wrong_token_is_auth_error_without_the_token(
        x_fake: FakeX, x_account: AccountSettings, x_clock: ManualClock) -> None:
    fill(x_fake, LIST_KEY, 3)
    collector = TwitterCollector.from_account(x_account, {X_ENV: "wrong-secret-123"}, x_clock)
    with pytest.raises(AuthError) as err:
        Store().run(collector, LIST)
    collector.close()
    assert "401" in str(err.value) and "wrong-secret-123" not in str(err.value)
    # the status is mapped once (aggregator.collectors.http), not via tweepy's classes
    assert isinstance(err.value, AuthRejected) and err.value.status == 401


def test_http_404_is_not_found(x_fake: FakeX, x_server: LoopbackServer,
                               x_collector: TwitterCollector) -> None:
    fill(x_fake, LIST_KEY, 3)
    x_server.faults.arm(Reply.json({"title": "Not Found Error", "detail": "gone",
                                    "type": "about:blank", "status": 404}, 404))
    with pytest.raises(NotFound):
        Store().run(x_collector, LIST)


@pytest.mark.parametrize("target", [Target("list", "999"), Target("user", "nobody_here")])
def test_unknown_list_or_username_is_not_found(x_collector: TwitterCollector,
                                               target: Target) -> None:
    with pytest.raises(NotFound, match="Could not find"):
        Store().run(x_collector, target)


def test_429_waits_until_reset_on_the_clock_then_succeeds(
        x_fake: FakeX, x_server: LoopbackServer, x_collector: TwitterCollector,
        x_clock: ManualClock) -> None:
    fill(x_fake, LIST_KEY, 5)
    reset = int(x_clock.now().timestamp()) + 120
    x_server.faults.arm(Reply.json({"title": "Too Many Requests", "status": 429}, 429,
                                   **{"x-rate-limit-remaining": "0",
                                      "x-rate-limit-reset": str(reset)}))
    store = Store()
    store.run(x_collector, LIST)
    assert len(store.posts) == 5
    assert 119 <= sum(x_clock.sleeps) <= 121
    assert len(x_server.requests()) == 2


def test_rate_budget_pauses_before_the_server_says_429(
        x_fake: FakeX, x_server: LoopbackServer, x_collector: TwitterCollector,
        x_clock: ManualClock) -> None:
    fill(x_fake, LIST_KEY, 350)
    x_fake.set_budget(3, 900)
    start = x_clock.now()
    store = Store()
    store.run(x_collector, LIST, backfill=350)
    assert len(store.posts) == 350  # four pages on a budget of three: one pause, no 429
    assert x_clock.now() - start >= timedelta(seconds=890)
    assert len(x_server.requests()) == 4


@pytest.mark.parametrize("fault", [
    Reply(reset=True),
    Reply(200, b"<html><body>Over capacity</body></html>", {"Content-Type": "text/html"}),
    Reply(200, b'{"data": [], "meta": {"result_count": 0}}',
          {"Content-Type": "application/json"}, truncate=12),
    Reply(503, b"[]", {"Content-Type": "application/json"}),
], ids=["connection-reset", "html-200", "truncated-body", "json-array-503"])
def test_transient_failures_are_retried_a_bounded_number_of_times(
        x_fake: FakeX, x_server: LoopbackServer, x_collector: TwitterCollector,
        x_clock: ManualClock, fault: Reply) -> None:
    fill(x_fake, LIST_KEY, 3)
    x_server.faults.arm(fault, times=10)
    with pytest.raises(TransientError) as err:
        Store().run(x_collector, LIST)
    assert len(x_server.requests()) == 3 and len(x_clock.sleeps) == 2
    assert err.value.__cause__ is not None


def test_a_stalled_server_times_out_into_transient_error(
        x_fake: FakeX, x_server: LoopbackServer, x_account: AccountSettings,
        x_clock: ManualClock) -> None:
    fill(x_fake, LIST_KEY, 3)
    stall = Reply(200, b"{}", {"Content-Type": "application/json"}, delay=1.0)
    x_server.faults.arm(stall, times=1)
    collector = TwitterCollector.from_account(
        x_account, {X_ENV: x_fake.token}, x_clock, policy=RetryPolicy(attempts=2),
        timeout=0.3)
    store = Store()
    store.run(collector, LIST)  # the retry after the timeout succeeds
    collector.close()
    assert len(store.posts) == 3 and len(x_clock.sleeps) == 1

    x_server.faults.arm(stall, times=2)
    collector = TwitterCollector.from_account(
        x_account, {X_ENV: x_fake.token}, x_clock, policy=RetryPolicy(attempts=2),
        timeout=0.3)
    with pytest.raises(TransientError) as err:
        Store().run(collector, LIST)
    collector.close()
    assert isinstance(err.value.__cause__, requests.Timeout)


def test_bad_request_is_a_collector_error_naming_the_problem(
        x_fake: FakeX, x_server: LoopbackServer, x_collector: TwitterCollector) -> None:
    x_server.faults.arm(Reply.json(
        {"errors": [{"message": "The query parameter [since_id] is not one of [...]"}],
         "title": "Invalid Request", "detail": "One or more parameters to your request "
         "was invalid.", "type": "https://api.twitter.com/2/problems/invalid-request"}, 400))
    with pytest.raises(CollectorError, match="Invalid Request") as err:
        Store().run(x_collector, LIST)
    assert type(err.value) is CollectorError


def test_partial_errors_become_warnings(x_fake: FakeX, x_collector: TwitterCollector) -> None:
    original = x_fake.make_tweet("snowman", "soon deleted")
    retweet = x_fake.make_retweet(original, "happycamper")
    x_fake.add_tweets(LIST_KEY, [retweet])
    x_fake.forget(original["id"])
    x_fake.arm_partial_errors([{"title": "Authorization Error",
                                "detail": "Sorry, you are not authorized to see the user "
                                          "with id: [42].",
                                "type": "https://api.twitter.com/2/problems/not-authorized-"
                                        "for-resource"}])
    pages = Store().run(x_collector, LIST)

    warnings = pages[0].warnings
    assert any(original["id"] in w and "Not Found" in w for w in warnings)
    assert any("Authorization Error" in w for w in warnings)
    [post] = pages[0].posts  # the original is gone: the retweet is kept as itself
    assert post.key == retweet["id"] and post.text.startswith("RT @snowman: ")


# ---------------------------------------------------------------- normalization


def collect_one(fake: FakeX, collector: TwitterCollector, tweets: Iterable[dict]) -> list[Post]:
    fake.add_tweets(LIST_KEY, tweets)
    return [p for page in Store().run(collector, LIST) for p in page.posts]


def test_retweet_becomes_the_original_with_a_boost(x_fake: FakeX,
                                                   x_collector: TwitterCollector) -> None:
    long_text = "Heart failure guideline update: " + "SGLT2 inhibitors for HFpEF too. " * 6
    original = x_fake.make_tweet("snowman", long_text.strip())
    retweet = x_fake.make_retweet(original, "happycamper")
    assert retweet["text"].endswith("…")

    x_fake.add_tweets(LIST_KEY, [retweet])
    [page] = Store().run(x_collector, LIST)
    [post] = page.posts
    assert page.items_read == 2 and page.users_read == 2  # retweet + original, two authors

    assert post.key == post.remote_id == original["id"]
    assert post.text == long_text.strip()
    assert post.author.handle == "snowman" and post.author.key == "17200003"
    assert post.url == f"https://x.com/snowman/status/{original['id']}"
    [boost] = post.boosts
    assert boost.booster.handle == "happycamper" and boost.remote_id == retweet["id"]
    raw = json.loads(post.raw)
    assert raw["data"]["id"] == retweet["id"]
    assert [t["id"] for t in raw["includes"]["tweets"]] == [original["id"]]
    assert {u["username"] for u in raw["includes"]["users"]} == {"snowman", "happycamper"}


def test_quotes_replies_links_hashtags_and_note_tweets(
        x_fake: FakeX, x_collector: TwitterCollector) -> None:
    parent = x_fake.make_tweet("snowman", "Question for #MedTwitter")
    reply = x_fake.make_tweet("happycamper", "Answer &amp; more <3 #PublicHealth #HFpEF",
                              reply_to=parent,
                              urls=["https://www.nejm.org/doi/full/10.1056/NEJMoa2107038?a=1&b=2"])
    quote = x_fake.make_tweet("jellybeanjones", "Worth reading", quote_of=parent)
    note = x_fake.make_tweet("snowman", "Short version… https://t.co/zzz",
                             note_text="Long version with all the details #ClinicalTrials "
                                       "and more than 280 characters of careful context.")
    posts = {p.key: p for p in collect_one(x_fake, x_collector, [parent, reply, quote, note])}

    r = posts[reply["id"]]
    assert r.reply_to_id == parent["id"] and r.reply_to_author == parent["author_id"]
    assert r.text == ("Answer &amp; more <3 #PublicHealth #HFpEF "
                      "https://www.nejm.org/doi/full/10.1056/NEJMoa2107038?a=1&b=2")
    assert "t.co" not in r.text
    assert r.hashtags == ("PublicHealth", "HFpEF")
    assert r.links == ("https://www.nejm.org/doi/full/10.1056/NEJMoa2107038?a=1&b=2",)

    q = posts[quote["id"]]
    assert q.quote_of == parent["id"] and q.links == () and q.reply_to_id is None

    n = posts[note["id"]]
    assert n.text.startswith("Long version") and n.hashtags == ("ClinicalTrials",)


def test_media_alt_text_and_own_media_link(x_fake: FakeX, x_collector: TwitterCollector) -> None:
    photo = {"media_key": "3_1900000000000000999", "type": "photo",
             "url": "https://pbs.twimg.com/media/ecg.jpg", "alt_text": "ECG with ST elevation",
             "width": 1200}
    tweet = x_fake.make_tweet("snowman", "Spot the STEMI", media=photo)
    [post] = collect_one(x_fake, x_collector, [tweet])
    assert post.text == "Spot the STEMI"
    assert post.links == ()
    [media] = post.media
    assert (media.kind, media.url, media.alt_text) == ("image", photo["url"], photo["alt_text"])


def test_recorded_search_page_with_replies_and_users(x_fake: FakeX,
                                                     x_collector: TwitterCollector) -> None:
    query = "from:snowman"
    body = x_fake.add_recorded(f"search:{query}",
                               "v2_expansions/search_recent_includes_users_tweets.json")
    store = Store()
    store.run(x_collector, Target("search", query))
    first = store.posts["1276035977375477760"]
    assert first.author.handle == "happycamper" and first.author.display_name
    assert first.reply_to_id == "1275653067283759104" and first.reply_to_author == "17200003"
    # its media is not in includes: the expanded photo link stays readable in the text
    assert "https://twitter.com/happycamper/status/1276035977375477760/photo/1" in first.text
    assert first.links == ()
    und = store.posts["1275763727908798470"]
    assert und.lang is None
    assert len(store.posts) == len(body["data"])


def test_recorded_timeline_is_unescaped_and_ids_stay_exact(x_fake: FakeX,
                                                           x_collector: TwitterCollector) -> None:
    x_fake.add_recorded(LIST_KEY, "v2/users_timelines_reverse_chronological.json")
    store = Store()
    store.run(x_collector, LIST)
    texts = {p.key: p.text for p in store.posts.values()}
    assert texts["1577678849445355527"] == "NYC < London (weather this week)"
    assert "@snowman & I are testing" in texts["1578095129495482369"]
    assert not any("&amp;" in t or "&lt;" in t for t in texts.values())
    # ids beyond 2^53: kept exact as strings and ordered numerically
    assert int(float(store.state.cursor or "0")) != int(store.state.cursor or "0")
    assert store.state.cursor == max(texts, key=id_order)
    assert store.state.cursor == "1578466218075312129"


def test_normalize_recorded_body_without_expansions() -> None:
    # tweepy's recording: default fields only, no author, no created_at
    page = TweetPage.from_json(load_body("v2/lists_tweets.json"))
    posts = normalize_page(page)
    assert len(posts) == 97
    post = posts[0]
    assert post.author.key == "" and post.url.startswith("https://x.com/i/web/status/")
    assert post.created_at.year == 2022  # from the snowflake id
    assert all(isinstance(p.key, str) and p.key.isdigit() for p in posts)


# ---------------------------------------------------------------- transport


def test_requests_go_to_the_base_url_and_tweepy_stays_global_default(
        x_fake: FakeX, x_server: LoopbackServer, x_collector: TwitterCollector) -> None:
    fill(x_fake, LIST_KEY, 2)
    Store().run(x_collector, LIST)
    [req] = x_server.requests()
    assert req.path == f"/2/lists/{LIST.value}/tweets"
    assert req.headers["authorization"] == f"Bearer {x_fake.token}"
    assert "referenced_tweets.id.author_id" in (req.arg("expansions") or "")
    assert "note_tweet" in (req.arg("tweet.fields") or "")

    seen: list[str] = []

    class Capture(requests.adapters.HTTPAdapter):
        def send(self, request: requests.PreparedRequest, **kwargs: object
                 ) -> requests.Response:
            seen.append(request.url or "")
            response = requests.Response()
            response.status_code, response._content = 200, (
                b'{"data": {"id": "1", "name": "n", "username": "u"}}')
            return response

    fresh = tweepy.Client(bearer_token="other")
    fresh.session.mount("https://", Capture())
    fresh.get_user(username="TwitterDev")
    assert seen == ["https://api.twitter.com/2/users/by/username/TwitterDev"]


def test_debug_logging_never_shows_the_token(
        x_fake: FakeX, x_collector: TwitterCollector, caplog: pytest.LogCaptureFixture) -> None:
    fill(x_fake, LIST_KEY, 2)
    with caplog.at_level(logging.DEBUG):
        Store().run(x_collector, LIST)
    assert "X request" in caplog.text
    assert x_fake.token not in caplog.text
