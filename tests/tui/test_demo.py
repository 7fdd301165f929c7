"""`rounds demo`: bundled samples through the real ingest path, then the reader on them."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.cli import main as rounds_main
from aggregator.cli.read import topic_names
from aggregator.clock import ManualClock
from aggregator.demo import build_demo, demo_settings
from aggregator.reader.feed import StorageFeedReader
from aggregator.storage.db import open_database
from aggregator.storage.repository import Repository
from aggregator.topics.taxonomy import load_taxonomy
from aggregator.topics.wiring import make_classify
from tests.tui.helpers import listed, loaded, main, wait_for, wait_for_text
from tui.app import ReaderApp
from tui.screens.topic_picker import TopicPicker


def test_demo_no_tui_fills_every_topic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert rounds_main(["--database-url", url, "demo", "--no-tui"]) == 0
    out = capsys.readouterr().out
    assert "posts:" in out and "mastodon" in out and "twitter" in out
    db = open_database(url)
    from aggregator.reader.feed import View

    reader = StorageFeedReader(db, Repository(db, ManualClock()), demo_settings(url),
                               ManualClock(), topic_names(None))
    topics = [View(f"topic:{t.id}", t.name) for t in load_taxonomy(None).topics]
    counts = reader.count_views(topics)
    assert all(counts[v.id] > 0 for v in topics), counts
    db.dispose()


async def test_reader_opens_on_the_demo(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    clock = ManualClock()
    settings = demo_settings(url)
    db = open_database(url)
    repo = Repository(db, clock)
    summary = build_demo(db, repo, settings, make_classify(settings), clock)
    assert summary.by_network["mastodon"] > 50 and summary.by_network["twitter"] > 5
    app = ReaderApp(StorageFeedReader(db, repo, settings, clock, topic_names(None)),
                    None, poll_seconds=0, opener=lambda url: None)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await wait_for_text(pilot, app, "Cardiology", "Papers")
        assert len(listed(app)) >= 100
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TopicPicker))
        await pilot.press("enter")
        await wait_for(pilot, lambda: main(app).view_id.startswith("topic:"))
        await loaded(pilot, app)
        assert listed(app)
    db.dispose()
