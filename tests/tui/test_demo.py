"""`rounds demo`: fictional samples served by the demo's own loopback server, collected
through the real collectors, with curated lists; then the reader on them (R and c)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual.pilot import Pilot

from aggregator.cli import main as rounds_main
from aggregator.cli.demo import demo_reader_app
from aggregator.cli.read import topic_names
from aggregator.clock import SystemClock
from aggregator.curation.store import CurationStore
from aggregator.demo import (
    DemoServer,
    DemoSummary,
    build_demo,
    demo_server,
    demo_settings,
    generate,
    generate_bluesky,
)
from aggregator.demo.samples import load_spec
from aggregator.demo.samples_feeds import load_feeds
from aggregator.reader.feed import VIEW_COUNT_CAP, PostDetail, StorageFeedReader, View
from aggregator.settings import Settings
from aggregator.storage.db import Database, open_database
from aggregator.storage.repository import Repository
from aggregator.topics.taxonomy import load_taxonomy
from tests.tui.helpers import listed, main, settle
from tests.tui.screen_text import screen_text
from tui.window import PAGE_SIZE

MAIN_TOPICS = ("cardiology", "oncology", "infectious_disease", "vaccines", "mental_health",
               "public_health")


@dataclass
class Demo:
    db: Database
    repo: Repository
    settings: Settings
    server: DemoServer
    summary: DemoSummary
    clock: SystemClock


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    # The system clock: the server moves the samples' times to "now", as in `rounds demo`.
    clock = SystemClock()
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    db = open_database(url)
    with demo_server(clock) as server:
        settings = demo_settings(url, server.base_url)
        repo = Repository(db, clock)
        yield Demo(db, repo, settings, server, build_demo(db, repo, settings, clock, server),
                   clock)
    db.dispose()


def reader(d: Demo) -> StorageFeedReader:
    return StorageFeedReader(d.db, d.repo, d.settings, d.clock, topic_names(None))


async def until(pilot: Pilot[None], condition: Callable[[], bool], what: str) -> None:
    """Wait for a condition (never for a fixed time): settle until it holds."""
    for _ in range(400):
        if condition():
            return
        await settle(pilot, 1)
        await asyncio.sleep(0.02)
    raise AssertionError(f"never happened: {what}\n{screen_text(pilot.app)}")  # type: ignore[arg-type]


def test_no_tui_collects_from_the_demo_server_and_prints_what_it_holds(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert rounds_main(["--database-url", url, "demo", "--no-tui"]) == 0
    out = capsys.readouterr().out
    assert "mastodon" in out and "twitter" in out and "bluesky" in out and "cardiology" in out
    assert f"{sum(len(f['entries']) for f in load_feeds())} feed" in out
    assert "Clinicians (4 members)" in out and "Public health (6 members)" in out
    assert "wait for R" in out


def test_every_topic_has_posts_and_main_topics_have_six(demo: Demo) -> None:
    assert all(not r.error for r in demo.summary.results), demo.summary.results
    topics = [View(f"topic:{t.id}", t.name) for t in load_taxonomy(None).topics]
    counts = reader(demo).count_views(topics)
    assert all(counts[v.id] > 0 for v in topics), counts
    assert all(demo.summary.by_topic[t] >= 6 for t in MAIN_TOPICS), demo.summary.by_topic
    assert demo.summary.by_topic["type:paper"] >= 6 and demo.summary.by_topic["type:preprint"]


def test_x_samples_have_topics_boosts_replies_and_quotes(demo: Demo) -> None:
    x = reader(demo).list_posts("network:twitter", "", before=None, limit=100)
    assert len(x) >= 15
    details = [reader(demo).get_post(row.id) for row in x]
    assert sum(1 for row in x if row.topics) >= len(x) - 1
    assert any(row.boosted_by for row in x) and any(d.boosted_by for d in details)
    assert any(d.reply_to for d in details) and any(d.quote_of for d in details)
    mastodon = reader(demo).list_posts("network:mastodon", "", before=None, limit=100)
    assert any(r.boosted_by for r in mastodon) and any(r.has_media for r in mastodon)
    m_details = [reader(demo).get_post(r.id) for r in mastodon]
    assert any(d.reply_to for d in m_details) and any(d.quote_of for d in m_details)


def test_the_demo_has_curated_lists_with_members_and_history(demo: Demo) -> None:
    store = CurationStore(demo.db, demo.clock)
    members = store.members("Clinicians")
    assert {v.name for v in members} >= {"Dr Amara Okafor", "Dr Sam Whitfield"}
    amara = next(v for v in members if v.name == "Dr Amara Okafor")
    assert amara.role == "physician" and amara.topics == ("cardiology",)
    assert {i.network for i in amara.identities} == {"mastodon", "twitter"}
    actions = {e.action for e in store.history("Clinicians")}
    assert actions == {"added", "moved", "removed"}
    times = {e.at.date() for e in store.history("Public health")}
    assert len(times) >= 4  # changes happened on different days


def test_the_sample_files_are_what_the_generator_writes() -> None:
    spec = load_spec()
    for name, (make, _) in generate.GENERATORS.items():
        committed = json.loads((generate.DATA / name).read_text(encoding="utf-8"))
        assert committed == json.loads(json.dumps(make(spec))), f"regenerate {name}"


async def test_reader_R_collects_new_posts_from_the_demo_server_and_c_curates(
        demo: Demo) -> None:
    assert demo.summary.held_back > 0
    app = demo_reader_app(demo.db, demo.repo, demo.settings, demo.clock)
    app.opener = lambda url: None
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        before = len(listed(app))
        assert before == min(demo.summary.posts, PAGE_SIZE)  # the first page of the list
        assert reader(demo).count_views([View("all", "All")])["all"] == min(
            demo.summary.posts, VIEW_COUNT_CAP)  # the sidebar says "99+"
        texts = {r.text for r in listed(app)}
        requests = demo.server.requests
        await pilot.press("R")
        await until(pilot, lambda: len(listed(app)) > before, "new posts in the list")
        await until(pilot, lambda: "new posts" in main(app).status.activity, "R's summary")
        new = [r for r in listed(app) if r.text not in texts]
        assert new and any("SGLT2" in r.text for r in new)
        assert any(r.network == "bluesky" and "colchicine" in r.text for r in new)
        assert demo.server.requests > requests  # it went to the loopback server
        assert f"{demo.summary.held_back} new posts" in main(app).status.activity

        feeds = len(load_feeds())
        assert demo.server.not_modified == feeds  # unchanged feeds: one empty 304 each

        await pilot.press("R")  # nothing new the second time
        await until(pilot, lambda: "0 new posts" in main(app).status.activity, "second R")
        assert len(listed(app)) == before + demo.summary.held_back
        assert demo.server.not_modified == 2 * feeds

        await pilot.press("c")
        expected = ("Recent changes", "Clinicians", "Public health", "Dr Amara Okafor",
                    "@amara@cardio.example", "physician", "removed Dr Priya Raman",
                    "moved Lucía Fernández")
        # the members and the history load in workers of their own: wait for all of them
        await until(pilot, lambda: all(e in screen_text(app) for e in expected), "curator")


# --------------------------------------------------------------------------- feeds


def topics_of(post: PostDetail) -> set[str]:
    return {t.topic for t in post.topics}


def test_feed_entries_are_posts_with_topics_between_the_other_networks_posts(
        demo: Demo) -> None:
    feeds = load_feeds()
    rows = reader(demo).list_posts("network:feed", "", before=None, limit=100)
    assert len(rows) == sum(len(f["entries"]) for f in feeds) == demo.summary.by_network["feed"]
    assert all(row.topics for row in rows), [r.text for r in rows if not r.topics]
    details = {d.text.partition("\n")[0]: d for d in (reader(demo).get_post(r.id) for r in rows)}
    assert {d.author.name for d in details.values()} >= {
        "Demo Public Health Agency: news", "Notes from the heart failure clinic"}
    measles = details["Measles catch-up vaccination campaign starts in schools"]
    assert measles.url == "https://www.agency.example/news/measles-catch-up-campaign"
    assert "vaccines" in topics_of(measles) and "Vaccination" in measles.hashtags
    pdf = details["Drug safety communication: severe hypoglycaemia with demoglitazide and "
                  "clarithromycin"]
    assert [m.url for m in pdf.media] == [
        "https://www.agency.example/safety/dsc-2026-03-demoglitazide.pdf"]
    assert "pharma_regulation" in topics_of(pdf)
    paper = details["Maternal pertussis vaccination and infant hospital admission: a "
                    "test-negative study"]
    assert paper.author.name == "Becker T, Lindqvist M"  # the entry's authors (Atom)
    assert [(m.kind, m.url) for m in paper.media] == [
        ("image", "https://journal.example/visual-abstracts/demo.2026.0903.png")]
    heat = details["Heat-health advisory: amber alert for the weekend"]
    assert heat.links == ("https://www.agency.example/heat/checklist",)
    assert "<" not in heat.text and "heat stroke" in heat.text  # HTML read as text
    assert "climate_health" in topics_of(heat)
    for topic in ("vaccines", "infectious_disease", "cardiology", "mental_health",
                  "public_health"):
        assert reader(demo).list_posts(f"topic:{topic}", "network:feed", before=None,
                                       limit=100), topic
    # entries are dated across the demo's days, between the posts of the other networks
    others = reader(demo).list_posts("all", "-network:feed", before=None, limit=500)
    when = sorted(r.created_at for r in rows)
    assert min(r.created_at for r in others) < when[0] < when[-1] < max(
        r.created_at for r in others)


def test_the_reader_lists_the_feeds_as_a_network_and_as_sources(demo: Demo) -> None:
    views = reader(demo).list_views()
    feeds = next(v for v in views if v.id == "network:feed")
    assert (feeds.label, feeds.group) == ("Feeds", "Networks")
    sources = {v.label for v in views if v.group == "Sources"}
    assert {f["id"] for f in load_feeds()} <= sources
    counts = reader(demo).count_views([feeds])
    assert counts["network:feed"] == demo.summary.by_network["feed"]


# --------------------------------------------------------------------------- Bluesky


def test_bluesky_samples_have_topics_reposts_replies_quotes_and_images(demo: Demo) -> None:
    sky = reader(demo).list_posts("network:bluesky", "", before=None, limit=100)
    assert len(sky) >= 15
    assert all(row.topics for row in sky), [r.text for r in sky if not r.topics]
    details = [reader(demo).get_post(row.id) for row in sky]
    assert any(d.boosted_by for d in details) and any(row.boosted_by for row in sky)
    assert any(d.reply_to and d.reply_to.post_id for d in details)  # the parent is stored
    assert any(d.quote_of and d.quote_of.post_id for d in details)
    alts = [m.alt_text for d in details for m in d.media]
    assert any("stroke risk" in alt for alt in alts)
    assert {"MedSky", "IDsky"} <= {t for d in details for t in d.hashtags}
    assert all(d.key.startswith("at://did:plc:demo") for d in details)
    assert all(d.url.startswith("https://bsky.app/profile/") and ".example/post/" in d.url
               for d in details)
    for topic in ("cardiology", "infectious_disease", "vaccines", "public_health"):
        on_topic = reader(demo).list_posts(f"topic:{topic}", "network:bluesky", before=None,
                                           limit=100)
        assert len(on_topic) >= 3, topic


def test_a_bluesky_link_after_an_emoji_is_in_links_whole(demo: Demo) -> None:
    rows = reader(demo).list_posts("network:bluesky", "registry", before=None, limit=10)
    post = next(reader(demo).get_post(r.id) for r in rows if "🫀 Our registry" in r.text)
    assert post.links == ("https://doi.org/10.5555/demo.2026.0801",)
    assert post.text.endswith("#cardiology #MedSky doi.org/10.5555/demo...")  # as shown
    heat = reader(demo).list_posts("network:bluesky", "alert", before=None, limit=10)
    assert heat and "🌡️ Heat–health alert" in heat[0].text


def test_bluesky_facets_point_at_utf8_bytes_of_what_they_mark() -> None:
    """The generator's facets, checked the way Bluesky reads them: byteStart/byteEnd cut
    the UTF-8 bytes of the text; a character count would cut after the emoji wrongly."""
    data = json.loads((generate.DATA / "bluesky.json").read_text(encoding="utf-8"))
    checked = 0
    non_ascii_before_link = 0
    for item in data["feed"]:
        record = item["post"]["record"]
        raw = record["text"].encode("utf-8")
        for facet in record.get("facets", []):
            marked = raw[facet["index"]["byteStart"]:facet["index"]["byteEnd"]].decode()
            feature = facet["features"][0]
            kind = feature["$type"].rpartition("#")[2]
            if kind == "link":
                assert marked == generate_bluesky.short_url(feature["uri"])
                before = raw[:facet["index"]["byteStart"]]
                non_ascii_before_link += len(before) != len(before.decode())
            elif kind == "tag":
                assert marked == f"#{feature['tag']}"
            else:
                assert marked.startswith("@") and marked.endswith(".example")
            checked += 1
    assert checked > 40 and non_ascii_before_link >= 4


@pytest.mark.parametrize(("query", "reply", "parent"), [
    ("network:mastodon frail CKD", "frail patients over 85 with CKD",
     "New randomized trial in heart failure"),
    ("network:bluesky registry frailty", "Does the registry say anything about frailty",
     "Our registry of 12,000 patients"),
])
async def test_T_fetches_a_demo_conversation_from_the_demo_server(
        demo: Demo, query: str, reply: str, parent: str) -> None:
    """The demo server answers Mastodon's statuses/:id/context and Bluesky's getPostThread,
    so T shows a conversation fetched from it, not an error."""
    app = demo_reader_app(demo.db, demo.repo, demo.settings, demo.clock)
    app.opener = lambda url: None
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *query, "enter")
        await until(pilot, lambda: [r.text for r in listed(app)] != []
                    and all(reply in r.text for r in listed(app)), "the reply alone listed")
        await pilot.press("T")
        await until(pilot, lambda: "fetched just now" in screen_text(app)
                    or "could not fetch" in screen_text(app), "the fetch's outcome")
        shown = screen_text(app)
        assert "could not fetch" not in shown
        assert parent in shown and reply in shown


async def test_i_shows_a_demo_image_drawn_by_the_demo_server(demo: Demo) -> None:
    """The sample posts' images are on fictional hosts: the demo server draws them, and the
    reader fetches and decodes them as any image (with the alt text shown)."""
    app = demo_reader_app(demo.db, demo.repo, demo.settings, demo.clock,
                          images_from=demo.server.base_url)
    app.opener = lambda url: None
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"network:mastodon statin adherence", "enter")
        await until(pilot, lambda: len(listed(app)) == 1, "the visual abstract listed")
        await pilot.press("enter")
        await until(pilot, lambda: app.main_screen.pane.detail is not None, "post opened")
        await pilot.press("i")
        await until(pilot, lambda: app.main_screen.pane.images.picture is not None
                    or "could not" in screen_text(app), "the picture")
        assert app.main_screen.pane.images.picture is not None, screen_text(app)
        assert "bar chart of statin adherence" in screen_text(app)  # the alt text


async def test_T_on_a_demo_tweet_asks_the_cost_then_fetches_the_conversation(
        demo: Demo) -> None:
    """X bills reads: the reader asks first, and the demo server answers the conversation
    search and the lookup of the first post as X does."""
    from tui.screens.curator_dialogs import ConfirmDialog

    app = demo_reader_app(demo.db, demo.repo, demo.settings, demo.clock)
    app.opener = lambda url: None
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"network:x FIT test quick", "enter")
        await until(pilot, lambda: len(listed(app)) == 1, "the reply alone listed")
        await pilot.press("T")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the cost question")
        assert "reads" in screen_text(app)
        await pilot.press("y")
        await until(pilot, lambda: "fetched just now" in screen_text(app)
                    or "could not fetch" in screen_text(app), "the fetch's outcome")
        shown = screen_text(app)
        assert "could not fetch" not in shown
        assert "Colorectal cancer in people under 50" in shown and "FIT test" in shown


def test_trends_has_weeks_of_posts_and_something_rising(demo: Demo) -> None:
    t = reader(demo).trends()
    by_topic = {s.topic: s for s in t.series}
    active_days = sum(1 for n in by_topic["oncology"].counts if n)
    assert active_days >= 8  # posts spread over weeks, not only the last days
    assert {"vaccines", "public_health"} <= {r.id for r in t.rising_topics}
    assert any(r.ratio is not None for r in t.rising_topics)  # against a real baseline
    assert t.rising_tags and t.links
