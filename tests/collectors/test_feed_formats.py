"""Feed formats end to end through the loopback feed server: a real Atom document (an arXiv
API answer, tests/data/feeds/PROVENANCE.md) with its traps, and JSON Feed 1.1 and 1.0."""

# The feed fixtures are imported from feed_fixtures (conftest.py belongs to the shared
# suite); pytest finds them here, and test arguments of the same name "redefine" them:
# ruff: noqa: F811

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from aggregator.clock import ManualClock
from aggregator.collectors.feed.api import FeedApi, MalformedFeed
from aggregator.collectors.feed.collector import FeedCollector
from tests.collectors.feed_fixtures import (  # noqa: F401  (fixtures, used by name)
    POLICY,
    collector,
    fake,
    run,
    server,
)
from tests.fakes.feeds import ATOM, JSON_FEED, FeedsFake, data
from tests.fakes.server import LoopbackServer

# ------------------------------------------------------------------ a real Atom document


def test_a_real_arxiv_atom_answer_reads_as_a_user_expects(
        fake: FeedsFake, server: LoopbackServer, collector: FeedCollector) -> None:
    fake.put("/arxiv.atom", data("arxiv-query.atom.xml"), content_type=ATOM)
    page, state = run(collector, server.base_url + "/arxiv.atom")
    assert page.warnings == () and state.cursor and page.requests == 1
    # newest first, by <published>
    assert [p.key for p in page.posts] == [
        "http://arxiv.org/abs/1802.03292v1", "http://arxiv.org/abs/1503.01162v1",
        "http://arxiv.org/abs/1501.05039v1", "http://arxiv.org/abs/quant-ph/0210005v1"]
    logic, boston, data_science, quantum = page.posts

    # a type="text" summary is kept as sent (hard-wrapped lines), after the title
    assert data_science.text == (
        "Defining Data Science\n\nData science is gaining more and more and widespread "
        "attention, but no\nconsensus viewpoint on what data science is has emerged. As a "
        "new science, its\nobjects of study and scientific issues should not be covered by "
        "established\nsciences. Data in cyberspace have formed what we call datanature. In "
        "the\npresent paper, data science is defined as the science of exploring "
        "datanature.")
    assert data_science.url == "http://arxiv.org/abs/1501.05039v1"  # the alternate, not the pdf
    assert data_science.created_at == datetime(2015, 1, 21, 2, 41, 55, tzinfo=UTC)
    assert data_science.edited_at is None and data_science.links == ()
    assert data_science.hashtags == ("cs.DB", "cs.CY")

    # trap: several <author>s; feedparser's `author` is the last one, we show the first
    assert data_science.author.display_name == "Yangyong Zhu"
    assert boston.author.display_name == "Peter Garik"
    assert quantum.author.display_name == "Michael A. Nielsen"
    # trap: a title wrapped over three indented lines reads as one line
    assert boston.text.startswith(
        "Report on a Boston University Conference December 7-8, 2012 on 'How Can the "
        "History and Philosophy of Science Contribute to Contemporary U.S. Science "
        "Teaching?'\n\nThis is an editorial report")
    # trap: an old-style arXiv id with a slash is a key like any other
    assert quantum.url == "http://arxiv.org/abs/quant-ph/0210005v1"
    # trap: classification codes as category terms are kept as the publisher wrote them
    assert logic.hashtags == ("cs.LO", "03B70, 68Q99", "F.4.1; F.4.m; K.2")


def test_a_feed_title_typed_html_is_shown_as_text_on_entries_without_an_author(
        fake: FeedsFake, server: LoopbackServer, collector: FeedCollector) -> None:
    """The arXiv feed's title is type="html": feedparser keeps it as markup ("&amp;")."""
    body = data("arxiv-query.atom.xml").replace(
        b"    <author>\n      <name>Assaf Kfoury</name>\n    </author>\n", b"")
    fake.put("/arxiv.atom", body, content_type=ATOM)
    page, _ = run(collector, server.base_url + "/arxiv.atom")
    logic = page.posts[0]
    assert logic.author.display_name == (
        "ArXiv Query: search_query=all:science&id_list=&start=0&max_results=10")
    assert logic.author.key == server.base_url + "/arxiv.atom"


# ------------------------------------------------------------------ JSON Feed


def test_a_json_feed_reads_like_any_feed(fake: FeedsFake, server: LoopbackServer,
                                         collector: FeedCollector) -> None:
    fake.put("/notes.json", data("clinic-notes.feed.json"), content_type=JSON_FEED)
    url = server.base_url + "/notes.json"
    page, state = run(collector, url)
    assert page.warnings == () and state.cursor
    sepsis, handover = page.posts
    assert sepsis.key == "https://ward.example.org/notes/sepsis-bundle"
    assert sepsis.url == "https://ward.example.org/notes/sepsis-bundle"
    assert sepsis.text == ("Sepsis bundle: what changed\n\nThe one-hour bundle now starts at "
                           "triage.\n\nRead the guidelines.")
    assert "alert" not in sepsis.text
    assert sepsis.links == ("https://www.sccm.org/SurvivingSepsisCampaign/Guidelines",)
    assert sepsis.author.display_name == "Dr Kofi Mensah"
    assert sepsis.author.url == "https://ward.example.org/team/mensah"
    assert sepsis.created_at == datetime(2026, 11, 19, 7, 30, tzinfo=UTC)  # +01:00 -> UTC
    assert sepsis.edited_at == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert sepsis.hashtags == ("sepsis", "critical care")
    assert [(m.kind, m.url) for m in sepsis.media] == [
        ("image", "https://ward.example.org/media/bundle.png"),
        ("audio", "https://ward.example.org/media/round.mp3")]
    assert sepsis.lang == "en-GB"
    # content_text is plain text; an id without a scheme is qualified with the feed's URL;
    # no author: the feed itself, shown with its title
    assert handover.key == url + "#note-17"
    assert handover.text == "Handover checklist:\n1. lines\n2. cultures"
    assert handover.url == "https://www.who.int/news-room/fact-sheets/detail/sepsis"
    assert handover.author.display_name == "Ward Notes"
    assert handover.author.bio == "A hospitalist team's notes"
    # an unchanged JSON Feed costs one conditional request, like XML
    server.reset()
    again, after = run(collector, url, state)
    assert again.posts == () and after == state
    assert server.requests("/notes.json")[0].headers["if-none-match"]


def test_json_feed_1_0_and_a_plain_json_content_type(
        fake: FeedsFake, server: LoopbackServer, collector: FeedCollector) -> None:
    doc = {"version": "https://jsonfeed.org/version/1",
           "title": "Old JSON Feed", "author": {"name": "Dr Ada Oduya"},
           "items": [{"id": 7, "title": "Measles catch-up clinic", "content_html":
                      "<p>Saturday &amp; Sunday</p>", "url": "https://old.example.org/7",
                      "author": {"name": "Nurse Lee", "url": "https://old.example.org/lee"},
                      "date_published": "2026-11-10T09:00:00-05:00"}]}
    fake.put("/old.json", json.dumps(doc).encode(), content_type="application/json")
    # the body alone says JSON even when the server calls it text/plain
    fake.put("/plain.json", b"\n  " + json.dumps(doc).encode(), content_type="text/plain")
    for path in ("/old.json", "/plain.json"):
        page, _ = run(collector, server.base_url + path)
        [post] = page.posts
        assert post.text == "Measles catch-up clinic\n\nSaturday & Sunday"
        assert post.key == server.base_url + path + "#7"  # a number id, as 1.0 allowed
        assert post.author.display_name == "Nurse Lee"
        assert post.author.url == "https://old.example.org/lee"
        assert post.created_at == datetime(2026, 11, 10, 14, 0, tzinfo=UTC)


def test_json_feed_fields_of_the_wrong_type_are_ignored_and_odd_items_skipped(
        fake: FeedsFake, server: LoopbackServer, collector: FeedCollector,
        clock: ManualClock) -> None:
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": ["not", "a", "string"],
           "items": ["just a string", 42,
                     {"id": "urn:x:odd", "title": 3.5, "content_text": "kept",
                      "tags": "not-a-list", "attachments": [{"url": 5}, "x"],
                      "date_published": "yesterday", "authors": [None, {"name": 9}]}]}
    fake.put("/odd.json", json.dumps(doc).encode(), content_type=JSON_FEED)
    page, _ = run(collector, server.base_url + "/odd.json")
    [post] = page.posts
    assert post.text == "kept" and post.hashtags == () and post.media == ()
    assert post.created_at <= clock.now()  # an unreadable date: first sight
    assert post.author.display_name == "127.0.0.1"  # no usable title: the feed's host
    assert any("2 JSON Feed items were not objects" in w for w in page.warnings)


@pytest.mark.parametrize(("body", "says"), [
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1', "not valid JSON"),
    (b'{"data": [,], "meta": }', "not valid JSON"),
    (b"[" * 5000 + b"]" * 5000, "not valid JSON"),  # nesting beyond orjson's 1024 levels
    (b'["https://jsonfeed.org/version/1.1"]', "a JSON list, not a JSON Feed object"),
    (b'{"version": "1.1", "items": []}', "without a JSON Feed version"),
    (b'{"items": []}', "without a JSON Feed version"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": {"id": "1"}}',
     "items are not a list"),
], ids=["truncated", "malformed", "too deep", "a list", "wrong version", "no version",
        "items not a list"])
def test_json_that_is_not_a_json_feed_is_one_clear_error(
        body: bytes, says: str, fake: FeedsFake, server: LoopbackServer,
        collector: FeedCollector) -> None:
    fake.put("/bad.json", body, content_type="application/json")
    with pytest.raises(MalformedFeed, match="not a readable JSON Feed") as err:
        run(collector, server.base_url + "/bad.json")
    assert says in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith(f"feed: {server.base_url}/bad.json: ")


def test_a_json_feed_over_the_size_limit_is_refused(
        fake: FeedsFake, server: LoopbackServer, clock: ManualClock) -> None:
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "Big",
           "items": [{"id": "urn:x:1", "content_text": "x" * 5000}]}
    fake.put("/big.json", json.dumps(doc).encode(), content_type=JSON_FEED)
    small = FeedCollector(FeedApi(clock=clock, policy=POLICY, timeout=5.0, max_bytes=4096))
    try:
        with pytest.raises(MalformedFeed, match=r"refused: larger than 4 KB$"):
            run(small, server.base_url + "/big.json")
    finally:
        small.close()


def test_an_xml_feed_served_as_json_is_still_read_as_xml(
        fake: FeedsFake, server: LoopbackServer, collector: FeedCollector) -> None:
    fake.put("/mislabelled", data("arxiv-query.atom.xml"), content_type="application/json")
    page, _ = run(collector, server.base_url + "/mislabelled")
    assert len(page.posts) == 4
