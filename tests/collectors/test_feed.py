"""The feed collector against the loopback feed server: real health feeds, polite polling,
redirects, rate limits, hostile and broken documents."""

# The feed fixtures are imported from feed_fixtures (conftest.py belongs to the shared
# suite); pytest finds them here, and test arguments of the same name "redefine" them:
# ruff: noqa: F811

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from aggregator.clock import ManualClock
from aggregator.collectors.feed.api import MalformedFeed, UnsafeFeed
from aggregator.collectors.feed.collector import FeedCollector
from aggregator.collectors.registry import build_collector
from aggregator.errors import NotFound, RateLimited
from tests.collectors.feed_fixtures import (  # noqa: F401  (fixtures, used by name)
    ACCOUNT,
    POLICY,
    collector,
    fake,
    run,
    server,
)
from tests.fakes.feeds import ATOM, FeedsFake, data, rss
from tests.fakes.server import LoopbackServer, Reply


def test_a_real_rss_feed_becomes_posts(fake: FeedsFake, server: LoopbackServer,
                                       collector: FeedCollector) -> None:
    fake.put("/news.rss", data("health-gov-au-news.rss.xml"))
    page, state = run(collector, server.base_url + "/news.rss")
    assert page.posts[0].key == (
        "https://www.health.gov.au/news/changes-to-hotspots-for-commonwealth-support-in-"
        "cairns-yarrabah-dubbo-and-melbourne")
    first, _, third = page.posts
    assert first.network == "feed" and first.url.startswith("https://www.health.gov.au/news/")
    assert first.created_at == datetime(2021, 8, 11, 12, 31, tzinfo=UTC)
    assert first.text.startswith("Changes to Hotspots for Commonwealth support in Cairns")
    assert "\n\nThe Australian Government Chief Medical Officer" in first.text
    assert "you've been asking" in third.text  # "&amp;#039;" in the real feed
    assert first.author.display_name == "Australian Government Department of Health"
    assert first.lang == "en" and first.edited_at is None
    assert state.cursor and page.requests == 1


def test_a_real_atom_feed_keeps_links_media_and_categories_and_drops_scripts(
        fake: FeedsFake, server: LoopbackServer, collector: FeedCollector) -> None:
    fake.put("/blog.atom", data("clinic-blog.atom.xml"), content_type=ATOM)
    page, _ = run(collector, server.base_url + "/blog.atom")
    flu, hygiene = page.posts
    assert flu.key == "tag:clinic.example.org,2026:/posts/flu-clinics"
    assert flu.text == ("Flu vaccination clinics open this week\n\nWalk-in influenza "
                        "vaccination for adults over 65.\n\nSee the WHO fact sheet.")
    assert "alert" not in flu.text
    assert flu.links == ("https://www.who.int/news-room/fact-sheets/detail/influenza-(seasonal)",)
    assert [(m.kind, m.url) for m in flu.media] == [
        ("image", "https://clinic.example.org/media/flu-poster.png")]
    assert flu.hashtags == ("vaccination", "influenza")
    assert flu.author.display_name == "Dr Ana Lima"
    # an entry with only <updated>: dated by it, and its author is the feed itself
    assert hygiene.created_at == datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
    assert hygiene.author.display_name == "Rounds at the Clinic"
    assert hygiene.author.key == server.base_url + "/blog.atom"
    assert hygiene.author.bio == "A primary-care team's notes"


def test_an_unchanged_feed_costs_one_conditional_request_and_stores_nothing(
        fake: FeedsFake, server: LoopbackServer, collector: FeedCollector) -> None:
    doc = fake.put("/news.rss", data("health-gov-au-news.rss.xml"), etag='W/"abc-123"')
    fake.put("/lm.rss", rss("LM", [{"guid": "urn:x:1", "title": "a"}]), etag=None,
             last_modified="Wed, 25 Nov 2026 10:00:00 GMT")
    _, state = run(collector, server.base_url + "/news.rss")
    _, lm_state = run(collector, server.base_url + "/lm.rss")
    server.reset()
    page, after = run(collector, server.base_url + "/news.rss", state)
    lm_page, lm_after = run(collector, server.base_url + "/lm.rss", lm_state)
    assert page.posts == () and lm_page.posts == ()
    assert (after, lm_after) == (state, lm_state)
    assert page.requests == lm_page.requests == 1
    sent = {r.path: r.headers for r in server.requests()}
    assert sent["/news.rss"]["if-none-match"] == doc.etag  # exactly as received
    assert sent["/lm.rss"]["if-modified-since"] == "Wed, 25 Nov 2026 10:00:00 GMT"


def test_a_server_ignoring_conditional_requests_still_yields_nothing_twice(
        fake: FeedsFake, server: LoopbackServer, collector: FeedCollector) -> None:
    fake.put("/plain.rss", rss("P", [{"guid": "urn:x:1", "title": "a"}]), etag=None,
             conditional=False)
    first, state = run(collector, server.base_url + "/plain.rss")
    again, _ = run(collector, server.base_url + "/plain.rss", state)
    assert len(first.posts) == 1 and again.posts == ()


@pytest.mark.parametrize("status", [301, 308])
def test_a_permanent_redirect_is_followed_and_reported(
        status: int, fake: FeedsFake, server: LoopbackServer, collector: FeedCollector) -> None:
    fake.put("/new.rss", data("health-gov-au-news.rss.xml"))
    fake.redirects["/old.rss"] = (status, "/new.rss")
    page, _ = run(collector, server.base_url + "/old.rss")
    assert len(page.posts) == 3 and page.requests == 2
    assert any(f"moved permanently to {server.base_url}/new.rss" in w for w in page.warnings)


def test_a_temporary_redirect_is_followed_quietly(
        fake: FeedsFake, server: LoopbackServer, collector: FeedCollector) -> None:
    fake.put("/new.rss", data("health-gov-au-news.rss.xml"))
    fake.redirects["/tmp.rss"] = (302, server.base_url + "/new.rss")
    page, _ = run(collector, server.base_url + "/tmp.rss")
    assert len(page.posts) == 3 and page.warnings == ()


def test_redirect_loops_end(fake: FeedsFake, server: LoopbackServer,
                            collector: FeedCollector) -> None:
    fake.redirects["/a"] = (302, "/b")
    fake.redirects["/b"] = (302, "/a")
    with pytest.raises(Exception, match="more than 5 redirects"):
        run(collector, server.base_url + "/a")


def test_retry_after_is_honoured_on_429_and_503(
        fake: FeedsFake, server: LoopbackServer, collector: FeedCollector,
        clock: ManualClock) -> None:
    fake.put("/news.rss", data("health-gov-au-news.rss.xml"))
    later = format_datetime(clock.now() + timedelta(seconds=300), usegmt=True)
    server.faults.arm(Reply(429, b"slow down", {"Retry-After": "120"}), "/news.rss")
    server.faults.arm(Reply(503, b"busy", {"Retry-After": later}), "/news.rss")
    page, _ = run(collector, server.base_url + "/news.rss")
    assert len(page.posts) == 3
    assert clock.sleeps[:2] == [120.0, 180.0]  # 300 s after the first wait began
    assert len(server.requests("/news.rss")) == 3


def test_a_retry_after_beyond_the_bound_fails_the_source(
        fake: FeedsFake, server: LoopbackServer, collector: FeedCollector) -> None:
    fake.put("/news.rss", data("health-gov-au-news.rss.xml"))
    server.faults.arm(Reply(429, b"", {"Retry-After": "86400"}), "/news.rss")
    with pytest.raises(RateLimited):
        run(collector, server.base_url + "/news.rss")


def test_a_missing_feed_is_not_found(server: LoopbackServer, collector: FeedCollector) -> None:
    with pytest.raises(NotFound):
        run(collector, server.base_url + "/gone.rss")


def test_gzip_is_read_and_the_size_limit_counts_decompressed_bytes(
        fake: FeedsFake, server: LoopbackServer, clock: ManualClock) -> None:
    fake.put("/news.rss", data("health-gov-au-news.rss.xml"), gzip=True)
    bomb = rss("bomb", [{"guid": "urn:x:1", "description": " " * (6 * 1024 * 1024)}])
    fake.put("/bomb.rss", bomb, gzip=True)
    collector = build_collector(ACCOUNT, {}, clock, policy=POLICY)
    assert isinstance(collector, FeedCollector)
    page, _ = run(collector, server.base_url + "/news.rss")
    assert len(page.posts) == 3
    assert len(gzip.compress(bomb)) < 100_000
    with pytest.raises(MalformedFeed, match="larger than 5 MB"):
        run(collector, server.base_url + "/bomb.rss")


def test_a_wrong_declared_encoding_is_read_with_a_warning(
        fake: FeedsFake, server: LoopbackServer, collector: FeedCollector) -> None:
    body = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            '<title>Clinique</title><item><guid>urn:x:fr</guid><title>Fièvre chez '
            "l'enfant</title></item></channel></rss>").encode("latin-1")
    fake.put("/fr.rss", body, content_type="application/rss+xml; charset=utf-8")
    page, _ = run(collector, server.base_url + "/fr.rss")
    assert page.posts[0].text == "Fièvre chez l'enfant"
    assert any("encoding" in w for w in page.warnings)


def test_malformed_xml_is_one_clear_error(fake: FeedsFake, server: LoopbackServer,
                                          collector: FeedCollector) -> None:
    fake.put("/html", b"<html><body><p>Our feed moved, sorry</p></body></html>",
             content_type="text/html")
    fake.put("/junk", b"\x00\x01 this is not xml at all <<<", content_type=ATOM)
    for path in ("/html", "/junk"):
        with pytest.raises(MalformedFeed, match=r"not an RSS or Atom feed|not a readable"):
            run(collector, server.base_url + path)


def test_slightly_broken_xml_that_still_reads_is_kept_with_a_warning(
        fake: FeedsFake, server: LoopbackServer, collector: FeedCollector) -> None:
    fake.put("/amp.rss", b'<?xml version="1.0"?><rss version="2.0"><channel><title>Diet</title>'
             b"<item><guid>urn:x:salt</guid><title>Salt & sugar: the new guidance</title>"
             b"</item></channel></rss>")
    page, _ = run(collector, server.base_url + "/amp.rss")
    assert [p.text for p in page.posts] == ["Salt & sugar: the new guidance"]
    assert any("not well-formed XML" in w and "read leniently" in w for w in page.warnings)


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>t</title><item><guid>urn:x:1</guid>
<title>&xxe;</title></item></channel></rss>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<rss version="2.0"><channel><title>&lol9;</title></channel></rss>"""


@pytest.mark.parametrize("body", [XXE, LAUGHS, LAUGHS.decode().encode("utf-16")],
                         ids=["xxe", "billion-laughs", "billion-laughs-utf16"])
def test_documents_declaring_entities_are_refused_unexpanded(
        body: bytes, fake: FeedsFake, server: LoopbackServer,
        collector: FeedCollector) -> None:
    fake.put("/evil.rss", body)
    with pytest.raises(UnsafeFeed, match="declares XML entities") as err:
        run(collector, server.base_url + "/evil.rss")
    assert "root:" not in str(err.value) and "lollol" not in str(err.value)


def test_duplicate_guids_are_kept_once_with_a_warning(
        fake: FeedsFake, server: LoopbackServer, collector: FeedCollector) -> None:
    fake.put("/dup.rss", rss("D", [{"guid": "urn:x:1", "title": "first"},
                                   {"guid": "urn:x:1", "title": "again"},
                                   {"guid": "urn:x:2", "title": "other"}]))
    page, _ = run(collector, server.base_url + "/dup.rss")
    assert sorted(p.text for p in page.posts) == ["first", "other"]
    assert any("repeated an id" in w for w in page.warnings)


def test_keys_fall_back_to_link_then_a_hash_and_local_guids_are_qualified(
        fake: FeedsFake, server: LoopbackServer, collector: FeedCollector,
        clock: ManualClock) -> None:
    url = server.base_url + "/keys.rss"
    fake.put("/keys.rss", rss("K", [
        {'guid isPermaLink="false"': "42", "title": "local guid"},
        {"link": "https://example.org/only-link", "title": "link only"},
        {"title": "nothing else", "pubDate": "Thu, 26 Nov 2026 10:00:00 GMT"},
        {"title": "no date at all"},
        {"title": "from the future", "guid": "urn:x:f",
         "pubDate": "Fri, 01 Jan 2100 00:00:00 GMT"}]))
    page, _ = run(collector, url)
    by_text = {p.text: p for p in page.posts}
    assert by_text["local guid"].key == url + "#42"
    assert by_text["link only"].key == "https://example.org/only-link"
    assert by_text["nothing else"].key.startswith("sha256:")
    assert by_text["no date at all"].created_at <= clock.now()
    future = by_text["from the future"].created_at
    assert clock.now() - timedelta(seconds=1) < future <= clock.now()


def test_a_first_pass_takes_at_most_backfill_newest_entries(
        fake: FeedsFake, server: LoopbackServer, collector: FeedCollector) -> None:
    keys = fake.add_items("/many.rss", 30)
    page, _ = run(collector, server.base_url + "/many.rss", backfill=10)
    assert len(page.posts) == 10 and {p.key for p in page.posts} <= keys
    assert page.posts[0].text.startswith("Clinical note 29")
