"""The conversation view on an X post: `T` asks first what the fetch will cost in reads
against the account's daily budget; `n` sends nothing at all, `y` fetches and shows the
replies, and the reads spent count against the budget."""

from __future__ import annotations

from pathlib import Path

from aggregator.clock import ManualClock
from aggregator.collectors.registry import build_thread_source
from aggregator.collectors.twitter.api import TwitterApi
from aggregator.collectors.twitter.normalize import normalize_page
from aggregator.models import Page, Target
from aggregator.reader.feed import StorageFeedReader
from aggregator.reader.thread import ServiceThreadFetcher
from aggregator.settings import AccountSettings, Settings, SourceSettings
from aggregator.storage.db import open_database
from aggregator.storage.repository import Repository
from aggregator.threads import ThreadService
from tests.fakes.server import LoopbackServer
from tests.fakes.twitter import FakeX
from tests.tui.helpers import loaded, wait_for, wait_for_text
from tests.tui.seed import NOW
from tui.app import ReaderApp
from tui.screens.curator_dialogs import ConfirmDialog
from tui.screens.thread import ThreadScreen

SIZE = (100, 30)
ENV = "ROUNDS_X_BEARER"


async def test_t_on_an_x_post_asks_what_it_costs_before_fetching(tmp_path: Path) -> None:
    clock = ManualClock(NOW)
    fake = FakeX(clock)
    server = LoopbackServer(fake.handle).start()
    url = f"sqlite:///{tmp_path / 'reader.db'}"
    root = fake.make_tweet("snowman", "SGLT2 inhibitors below eGFR 20?")
    first = fake.make_tweet("happycamper", "The trials excluded them.", reply_to=root)
    fake.make_tweet("snowman", "Which trials [bold]exactly[/bold]?", reply_to=first)
    root["public_metrics"]["reply_count"] = 1
    db = open_database(url)
    repo = Repository(db, clock)
    settings = Settings(path=None, database_url=url, accounts={
        "xmed": AccountSettings("xmed", "twitter", server.base_url, bearer_token_env=ENV,
                                max_reads_per_day=1000)},
        sources=(SourceSettings("sglt2", "xmed", Target("hashtag", "sglt2")),))
    api = TwitterApi(fake.token, clock=clock, base_url=server.base_url)
    stored = normalize_page(api.fetch_tweets([root["id"]]))[0]  # as the collector stores it
    api.close()
    ids = repo.sync_sources(settings)
    repo.save_page(ids["sglt2"], Page((stored,), None), [[]])
    server.reset()
    fake.reads = fake.users_read = 0
    service = ThreadService(settings, repo, lambda account: build_thread_source(
        account, {ENV: fake.token}, clock, timeout=3), clock)
    app = ReaderApp(StorageFeedReader(db, repo, settings, clock, {}), None, poll_seconds=0,
                    opener=lambda url: True, threads=ServiceThreadFetcher(service))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            await pilot.press("T")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog),
                           what="the confirm dialog")
            await wait_for_text(pilot, app, "Fetch this conversation from X?",
                                "About 4 reads", "(0 of 1000")
            await pilot.press("n")
            await wait_for_text(pilot, app, "not fetched", "SGLT2 inhibitors below eGFR")
            assert isinstance(app.screen, ThreadScreen)
            assert server.log == []  # nothing reached X
            assert "Which trials" not in await wait_for_text(pilot, app, "not fetched")

            await pilot.press("r")  # asked again
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog),
                           what="the confirm dialog again")
            await pilot.press("y")
            text = await wait_for_text(pilot, app, "The trials excluded them.",
                                       "Which trials [bold]exactly[/bold]?", "fetched")
            assert text.index("SGLT2 inhibitors") < text.index("The trials excluded") \
                < text.index("Which trials")
            assert len(server.requests("/2/tweets/search/recent")) == 1
            spent = fake.reads + fake.users_read
            assert spent > 0
            assert repo.reads_since("xmed", repo.start_of_day()) == spent
    finally:
        server.stop()
        service.close()
        db.dispose()
