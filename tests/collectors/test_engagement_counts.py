"""Engagement counts from each network's recorded responses: replies, boosts (re-shares,
quotes too where counted apart) and likes, as the network sent them; feeds send none."""

from __future__ import annotations

from aggregator.collectors.bluesky.entities import FeedPage
from aggregator.collectors.bluesky.normalize import normalize_entry
from aggregator.collectors.jsonval import COUNT_MAX, opt_count
from aggregator.collectors.mastodon.normalize import normalize_status, normalize_statuses
from aggregator.collectors.twitter.entities import TweetPage
from aggregator.collectors.twitter.normalize import normalize_page
from tests.fakes import bluesky, mastodon, twitter


def counts(p: object) -> tuple[int | None, int | None, int | None]:
    return (p.reply_count, p.boost_count, p.like_count)  # type: ignore[attr-defined]


def test_mastodon_counts_replies_reblogs_and_favourites() -> None:
    posts = {p.remote_id: p for p in normalize_statuses(
        mastodon.load_body("timelines_home.json"))}
    assert counts(posts["117020585762235614"]) == (0, 1, 0)  # boosted once
    assert counts(posts["117020593473214477"]) == (0, 0, 0)


def test_a_mastodon_boost_carries_the_original_posts_counts() -> None:
    boosted = normalize_status(mastodon.load_body("statuses_reblog_of_private.json"))
    assert boosted.boosts and counts(boosted) == (0, 1, 0)


def test_x_counts_come_from_public_metrics() -> None:
    page = TweetPage.from_json(twitter.load_body(
        "v2_expansions/tweets_quote_tweets_context_annotations.json"))
    posts = {p.key: p for p in normalize_page(page)}
    assert counts(posts["1495979553889697792"]) == (0, 160, 0)
    assert counts(posts["1486385372401737728"]) == (0, 43, 0)


def test_x_without_public_metrics_has_no_counts() -> None:
    page = TweetPage.from_json(twitter.load_body("v2/lists_tweets.json"))
    assert {counts(p) for p in normalize_page(page)} == {(None, None, None)}


def test_bluesky_counts_replies_reposts_quotes_and_likes() -> None:
    entries = FeedPage.from_json(bluesky.load("getAuthorFeed_with_repost_and_reply.json"),
                                 "feed").entries
    posts = [normalize_entry(e) for e in entries]
    assert counts(posts[0]) == (1, 0, 0)
    assert counts(posts[1]) == (0, 2, 3)


def test_hostile_counts_are_not_counts() -> None:
    assert opt_count("12") is None and opt_count(True) is None and opt_count(-3) is None
    assert opt_count(None, 4) == 4 and opt_count(10**20) == COUNT_MAX
