"""`rounds demo`: build a demo archive from bundled sample posts and open the reader."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from aggregator.cli.app import AppContext, pass_app, rounds
from aggregator.demo import build_demo, demo_database_url, demo_settings, reset_sqlite
from aggregator.storage.db import open_database
from aggregator.storage.repository import Repository


@rounds.command()
@click.option("--no-tui", is_flag=True, help="Build the demo database, print a summary, exit.")
@pass_app
def demo(app: AppContext, no_tui: bool) -> None:
    """Try grandrounds on bundled sample posts (no account or network needed).

    Builds a fresh demo database (the user data dir's demo.db, or --database-url) through
    the real ingest path (normalize, classify, store), then opens the reader on it.
    """
    from aggregator.topics.wiring import make_classify

    url = app.database_url or demo_database_url()
    if app.database_url is None:
        reset_sqlite(url)
    settings = demo_settings(url)
    db = open_database(url)
    repo = Repository(db, app.clock)
    summary = build_demo(db, repo, settings, make_classify(settings), app.clock)
    if no_tui:
        console = Console()
        console.print(Text(f"demo database: {summary.url}"))
        console.print(Text(f"{summary.posts} posts: " + ", ".join(
            f"{n} {net}" for net, n in sorted(summary.by_network.items()))))
        table = Table("topic", "posts", box=None)
        for topic, n in summary.by_topic.items():
            table.add_row(Text(topic), str(n))
        console.print(table)
        db.dispose()
        return
    from aggregator.cli.read import topic_names
    from aggregator.reader.feed import StorageFeedReader
    from tui.app import ReaderApp

    reader = StorageFeedReader(db, repo, settings, app.clock, topic_names(None))
    ReaderApp(reader, None, poll_seconds=settings.reader.poll_seconds).run()
    db.dispose()
