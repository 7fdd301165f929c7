"""The conversation view end to end: T on a post fetches its thread from a loopback
Mastodon, shows it indented with the missing parent and a curated voice marked; a new
reader with the server gone opens the same thread from the archive."""

from __future__ import annotations

from pathlib import Path

from aggregator.clock import ManualClock
from aggregator.collectors.mastodon.normalize import normalize_status
from aggregator.collectors.registry import build_thread_source
from aggregator.curation.store import CurationStore
from aggregator.models import Author, Page, Target
from aggregator.reader.feed import StorageFeedReader
from aggregator.reader.thread import ServiceThreadFetcher
from aggregator.settings import AccountSettings, Settings, SourceSettings
from aggregator.storage.db import open_database
from aggregator.storage.repository import Repository
from aggregator.storage.threads import save_context
from aggregator.threads import ThreadService
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.server import LoopbackServer
from tests.tui.helpers import listed, loaded, wait_for, wait_for_text
from tests.tui.seed import NOW, Seeder, post, standard
from tui.app import ReaderApp
from tui.screens.thread import ThreadScreen

SIZE = (100, 30)


def stored_thread(path: Path) -> Seeder:
    """The standard archive, with the conversation of its newest post fetched once: a
    reply by a curated voice and a reply whose parent was deleted, stored as context."""
    s = standard(path)
    voice = Author("mastodon", "drvoice@heart.example", "drvoice@heart.example", "Dr Voice")
    answer = post(20, who=voice, minutes_ago=20,
                  text="Curated answer: eGFR < 20 was excluded from the trials.",
                  reply_to_id="2", reply_to_author="doc2@med.example")
    stranger = post(21, minutes_ago=10, text="[red]Not markup[/red] and \x1b[31mno escapes",
                    reply_to_id="20", reply_to_author="drvoice@heart.example")
    first = s.db.engine.connect()
    try:
        from sqlalchemy import select

        from aggregator.storage.schema import posts
        focus = int(first.execute(select(posts.c.id).where(posts.c.remote_id == "1"))
                    .scalar_one())
    finally:
        first.close()
    save_context(s.repo, focus, [answer, stranger], [])
    CurationStore(s.db, s.clock).ensure_voice("mastodon", "drvoice@heart.example")
    return s


def _app(url: str, base_url: str) -> ReaderApp:
    db = open_database(url)
    clock = ManualClock(NOW)
    repo = Repository(db, clock)
    settings = Settings(path=None, database_url=url, accounts={
        "med": AccountSettings("med", "mastodon", base_url)},
        sources=(SourceSettings("cardio", "med", Target("hashtag", "hoot")),))
    reader = StorageFeedReader(db, repo, settings, clock, {})
    service = ThreadService(settings, repo,
                            lambda account: build_thread_source(account, {}, clock, timeout=3),
                            clock)
    return ReaderApp(reader, None, poll_seconds=0, opener=lambda url: True,
                     threads=ServiceThreadFetcher(service))


async def test_a_conversation_is_fetched_once_then_opens_offline(tmp_path: Path) -> None:
    clock = ManualClock(NOW)
    fake = FakeMastodon(clock, seed=False)
    server = LoopbackServer(fake).start()
    url = f"sqlite:///{tmp_path / 'reader.db'}"
    gone = fake.make_status(content="<p>deleted parent</p>")
    anchor = fake.make_status(content="<p>Anchor post about SGLT2 inhibitors</p>")
    anchor.update(in_reply_to_id=gone["id"], in_reply_to_account_id=gone["account"]["id"])
    fake.add_statuses("tag:hoot", [anchor])
    voice = dict(anchor["account"], id="999", acct="drvoice@heart.example", username="drvoice",
                 display_name="Dr Voice", url="https://heart.example/@drvoice")
    first = fake.reply_to(anchor, content="<p>First reply: what about eGFR?</p>",
                          account=voice)
    fake.reply_to(first, content="<p>Nested answer [bold]not markup[/bold]</p>")
    # stored as a source would: the anchor only
    db = open_database(url)
    repo = Repository(db, clock)
    settings = Settings(path=None, database_url=url, accounts={
        "med": AccountSettings("med", "mastodon", server.base_url)},
        sources=(SourceSettings("cardio", "med", Target("hashtag", "hoot")),))
    ids = repo.sync_sources(settings)
    repo.save_page(ids["cardio"], Page((normalize_status(anchor),), None), [[]])
    CurationStore(db, clock).ensure_voice("mastodon", "drvoice@heart.example")
    db.dispose()

    app = _app(url, server.base_url)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            await pilot.press("T")
            text = await wait_for_text(pilot, app, "First reply: what about eGFR?",
                                       "Nested answer [bold]not markup[/bold]",
                                       "(post unavailable)", "◆ voice", "fetched")
            assert isinstance(app.screen, ThreadScreen)
            assert text.index("(post unavailable)") < text.index("Anchor post") \
                < text.index("First reply") < text.index("Nested answer")
            assert "▶" in text  # the post it was opened on
            assert len(fake_requests := server.requests("/context")) == 1, fake_requests
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, ThreadScreen))
            # the replies are context: not in the list
            assert [r.text for r in listed(app)] == ["Anchor post about SGLT2 inhibitors"]
    finally:
        server.stop()

    offline = _app(url, server.base_url)
    async with offline.run_test(size=SIZE) as pilot:
        await loaded(pilot, offline)
        await pilot.press("T")
        text = await wait_for_text(pilot, offline, "First reply: what about eGFR?",
                                   "Nested answer", "(post unavailable)", "fetched")
        assert "could not fetch" not in text
        await pilot.press("r")  # asked to refresh: the server is gone, said in one line
        await wait_for_text(pilot, offline, "could not fetch the conversation")
        assert "First reply: what about eGFR?" in await wait_for_text(pilot, offline,
                                                                      "Nested answer")
