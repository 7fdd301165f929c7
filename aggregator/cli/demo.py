"""`rounds demo`: build a demo archive from bundled sample posts and open the reader."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from aggregator.cli.app import AppContext, pass_app, rounds
from aggregator.clock import Clock
from aggregator.demo import (
    DemoSummary,
    build_demo,
    demo_database_url,
    demo_server,
    demo_service,
    demo_settings,
    reset_sqlite,
)
from aggregator.settings import Settings
from aggregator.storage.db import Database, open_database
from aggregator.storage.repository import Repository


def demo_reader_app(db: Database, repo: Repository,  # type: ignore[no-untyped-def]
                    settings: Settings, clock: Clock, *, images_from: str | None = None):
    """The reader on the demo archive: collect (R) from the demo server, curation (c),
    conversations (T) and, given the demo server's URL in `images_from`, images (i)."""
    from aggregator.cli.read import topic_names
    from aggregator.collectors.registry import build_thread_source
    from aggregator.curation.store import CurationStore
    from aggregator.demo import DEMO_ENVIRON
    from aggregator.reader.curator import StorageCurator
    from aggregator.reader.feed import ServiceRefresher, StorageFeedReader
    from aggregator.reader.thread import ServiceThreadFetcher
    from aggregator.threads import ThreadService
    from tui.app import ReaderApp

    reader = StorageFeedReader(db, repo, settings, clock, topic_names(None))
    refresher = ServiceRefresher(demo_service(settings, db, repo, clock))
    threads = ServiceThreadFetcher(ThreadService(
        settings, repo, lambda account: build_thread_source(account, DEMO_ENVIRON, clock),
        clock))
    images = None
    if images_from is not None:
        from aggregator.demo.samples_media import DemoImageLoader
        from aggregator.media.fetch import ImageFetcher

        images = DemoImageLoader(images_from, ImageFetcher())
    return ReaderApp(reader, refresher, poll_seconds=settings.reader.poll_seconds,
                     curator=StorageCurator(CurationStore(db, clock)), threads=threads,
                     images=images)


@rounds.command()
@click.option("--no-tui", is_flag=True, help="Build the demo database, print a summary, exit.")
@pass_app
def demo(app: AppContext, no_tui: bool) -> None:
    """Try grandrounds on bundled sample posts (no account, token or network needed).

    Starts a small API server on 127.0.0.1 that serves fictional Mastodon, X and Bluesky
    sample posts and three health news feeds (RSS and Atom), builds a fresh demo database
    (the user data dir's demo.db, or --database-url) by collecting from it through the real
    collectors, adds two curated lists with their history, then opens the reader on it: R
    collects the posts the server published since.
    """
    url = app.database_url or demo_database_url()
    if app.database_url is None:
        reset_sqlite(url)
    db = open_database(url)
    try:
        with demo_server(app.clock) as server:
            settings = demo_settings(url, server.base_url)
            repo = Repository(db, app.clock)
            summary = build_demo(db, repo, settings, app.clock, server)
            if no_tui:
                _print_summary(summary, Console())
                return
            demo_reader_app(db, repo, settings, app.clock, images_from=server.base_url).run()
    finally:
        db.dispose()


def _print_summary(summary: DemoSummary, console: Console) -> None:
    console.print(Text(f"demo database: {summary.url}"))
    console.print(Text(f"{summary.posts} posts: " + ", ".join(
        f"{n} {net}" for net, n in sorted(summary.by_network.items()))))
    console.print(Text(f"collected from the demo server: {len(summary.results)} sources, "
                       f"{sum(r.new for r in summary.results)} new posts; "
                       f"{summary.held_back} more wait for R in the reader"))
    for result in summary.results:
        if result.error:
            console.print(Text(f"  {result.name}: {result.error}", style="red"))
    console.print(Text("curated lists: " + ", ".join(
        f"{name} ({n} members)" for name, n in summary.lists.items())))
    table = Table("topic", "posts", box=None)
    for topic, n in summary.by_topic.items():
        table.add_row(Text(topic), str(n))
    console.print(table)
