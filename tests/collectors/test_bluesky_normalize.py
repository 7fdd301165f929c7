"""Bluesky normalize on the recorded responses (tests/data/bluesky, traps by name) and on
hostile records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.collectors.bluesky.entities import FeedEntry, FeedPage
from aggregator.collectors.bluesky.normalize import normalize_entry
from aggregator.collectors.bluesky.uris import check_target
from aggregator.models import Post
from tests.fakes.bluesky import FakeBluesky, load


def page(name: str, key: str = "feed") -> list[Post]:
    return [normalize_entry(e) for e in FeedPage.from_json(load(name), key).entries]


def test_trap_1_facets_are_utf8_byte_offsets_after_an_emoji() -> None:
    [post] = page("getPosts.json", "posts")
    assert post.links == ("http://localview.net", "https://rstats.ai/gov.html")
    assert "LocalView (localview.net)" in post.text  # shown text unchanged
    assert post.mentions == ()  # "@rstatsai" has no facet: not re-detected
    assert post.url == "https://bsky.app/profile/soubhikbarari.bsky.social/post/3k7qmjev5lr2s"
    assert post.key == "at://did:plc:ic6zqvuw5ulmfpjiwnhsr2ns/app.bsky.feed.post/3k7qmjev5lr2s"


def test_trap_1_cjk_mentions_are_found_by_bytes_not_characters() -> None:
    posts = page("getAuthorFeed_2023_cjk_facets.json")
    assert posts[7].mentions == ("amir.blue",)
    assert posts[8].mentions == ("xychelsea.tv",)


def test_trap_1_shortened_link_text_keeps_the_full_uri_in_links() -> None:
    post = page("getListFeed_page.json")[0]
    assert "www.oldergeeks.com/downloads/fi..." in post.text
    assert post.links == ("https://www.oldergeeks.com/downloads/file.php?id=4719",)
    assert post.hashtags == ("Markdown", "Typesetting", "Publishing", "DesktopPublishing")
    assert post.media[0].kind == "image" and post.media[0].alt_text == ""


def test_trap_4_created_at_with_microseconds_offset_or_no_timezone() -> None:
    fake = FakeBluesky()
    for raw, expected in [("2025-05-03T14:06:22.189401Z", datetime(2025, 5, 3, 14, 6, 22, 189401)),
                          ("2025-05-19T02:03:20.286393+00:00",
                           datetime(2025, 5, 19, 2, 3, 20, 286393)),
                          ("2023-07-20T10:17:40.298101",
                           datetime(2023, 7, 20, 10, 17, 40, 298101))]:
        post = fake.make_post(created_at=raw, indexed_at=datetime(2026, 1, 1, tzinfo=UTC))
        assert normalize_entry(FeedEntry({"post": post})).created_at == \
            expected.replace(tzinfo=UTC)


def test_a_post_created_in_the_future_is_clamped_to_when_it_was_indexed() -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    post = FakeBluesky().make_post(created_at="2031-01-01T00:00:00Z", indexed_at=when)
    assert normalize_entry(FeedEntry({"post": post})).created_at == when


def test_replies_reposts_and_quotes_from_a_recorded_author_feed() -> None:
    body = load("getAuthorFeed_with_repost_and_reply.json")
    posts = page("getAuthorFeed_with_repost_and_reply.json")
    replies = [(item, p) for item, p in zip(body["feed"], posts, strict=True)
               if p.reply_to_id]
    assert replies
    for item, p in replies:
        parent = item["post"]["record"]["reply"]["parent"]["uri"]
        assert p.reply_to_id == parent and parent.startswith(f"at://{p.reply_to_author}/")
    assert all(p.remote_id == p.key and p.key.startswith("at://") for p in posts)
    reposts = [p for p in posts if p.boosts]
    assert len(reposts) == 7 and all(p.boosts[0].booster.handle for p in reposts)
    assert all(p.boosts[0].remote_id == "" for p in reposts)  # recorded before reason.uri
    quotes = [p for p in posts if p.quote_of]
    assert quotes and all(q.quote_of and q.quote_of.startswith("at://") for q in quotes)
    assert all(json.loads(p.raw)["post"]["uri"] == p.key for p in posts)  # raw as received


def test_trap_6_unavailable_quoted_posts_are_recorded_not_errors() -> None:
    fake = FakeBluesky()
    for kind, note in [("viewNotFound", "not found"), ("viewBlocked", "blocked"),
                       ("viewDetached", "detached")]:
        uri = "at://did:plc:gone/app.bsky.feed.post/3kgone"
        embed = {"$type": "app.bsky.embed.record#view",
                 "record": {"$type": f"app.bsky.embed.record#{kind}", "uri": uri,
                            kind.removeprefix("view").lower(): True}}
        post = normalize_entry(FeedEntry({"post": fake.make_post("look", embed=embed)}))
        assert post.quote_of == uri and note in post.text


def test_video_in_record_with_media_keeps_alt_and_thumbnail() -> None:
    [post] = page("appview_snapshot_getPosts_video_recordWithMedia.json", "posts")
    assert post.media[0].kind == "video" and post.media[0].alt_text == "alt text"
    assert post.media[0].url.endswith("thumbnail.jpg")


def test_external_cards_and_sensitive_labels() -> None:
    fake = FakeBluesky()
    card = {"$type": "app.bsky.embed.external#view", "external": {
        "uri": "https://www.nejm.org/doi/full/10.1056/x", "title": "A trial", "description": ""}}
    labels = [{"val": "graphic-media", "src": "did:plc:ar7c4by46qjdydhdevvrndac", "ver": 1}]
    post = normalize_entry(FeedEntry({"post": fake.make_post("", embed=card, labels=labels)}))
    assert post.links == ("https://www.nejm.org/doi/full/10.1056/x",)
    assert post.text == "A trial" and post.sensitive
    rude = [{"val": "rude", "src": "did:plc:x"}]
    assert not normalize_entry(FeedEntry({"post": fake.make_post("x", labels=rude)})).sensitive


def _facet(start: Any, end: Any, feature: dict[str, Any]) -> dict[str, Any]:
    return {"index": {"byteStart": start, "byteEnd": end}, "features": [feature]}


def test_hostile_facets_and_control_characters_never_crash_or_cut_text() -> None:
    text = "Héllo 🩺 @doc.example.org #MedSky\x00\x1b[31m end"
    facets = [
        _facet(0, 10_000, {"$type": "app.bsky.richtext.facet#link", "uri": "https://a.example"}),
        _facet(7, 9, {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:doc"}),  # mid-🩺
        _facet(5, 30, {"$type": "app.bsky.richtext.facet#tag", "tag": "MedSky"}),  # overlaps
        _facet(-3, "x", {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:neg"}),
        _facet(12, 28, {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:doc2"}),
        {"index": None, "features": "nope"},
    ]
    post = normalize_entry(FeedEntry({"post": FakeBluesky().make_post(text, facets=facets)}))
    assert post.text == "Héllo 🩺 @doc.example.org #MedSky[31m end"
    assert post.links == ("https://a.example",)
    assert post.mentions == ("did:plc:doc", "did:plc:neg", "doc.example.org")
    assert post.hashtags == ("MedSky",)


@given(st.text(max_size=40), st.lists(st.tuples(st.integers(-5, 200), st.integers(-5, 200)),
                                      max_size=6))
def test_any_facet_offsets_keep_the_whole_text(text: str, spans: list[tuple[int, int]]) -> None:
    facets = [_facet(a, b, {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:z"})
              for a, b in spans]
    post = normalize_entry(FeedEntry({"post": FakeBluesky().make_post(text, facets=facets)}))
    def visible(value: str) -> list[str]:
        return [c for c in value if not c.isspace() and c >= " " and c != "\x7f"]

    assert "\x00" not in post.text
    assert visible(post.text) == visible(text)  # every visible character kept, in order


@pytest.mark.parametrize(("kind", "value", "expected"), [
    ("list", "https://bsky.app/profile/curator.example.org/lists/3kabc",
     "at://curator.example.org/app.bsky.graph.list/3kabc"),
    ("feed", "https://bsky.app/profile/did:plc:abc/feed/medsky",
     "at://did:plc:abc/app.bsky.feed.generator/medsky"),
    ("user", "@CDC.gov", "cdc.gov"),
    ("user", "did:plc:abc", "did:plc:abc"),
    ("hashtag", "#MedSky", "MedSky"),
])
def test_targets_as_users_write_them(kind: str, value: str, expected: str) -> None:
    assert check_target(kind, value) == expected


@pytest.mark.parametrize(("kind", "value"), [
    ("list", "https://bsky.app/profile/x.org/feed/abc"), ("feed", "at://x.org/app.bsky.graph"
                                                          ".list/abc"), ("user", "not a handle")])
def test_wrong_targets_say_what_is_expected(kind: str, value: str) -> None:
    with pytest.raises(ValueError):
        check_target(kind, value)
