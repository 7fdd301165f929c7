"""Trends in the reader, driven by Pilot on a real SQLite archive (five weeks of posts,
tests/test_trends.py): the sidebar's Trends draws a sparkline per topic, lists what is
rising and the most shared links; Enter on a rising topic opens its view, on a rising
hashtag the posts filtered by it; Esc returns. Golden screenshots at 80x24 and 120x40."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList, Sparkline

from tests.test_trends import seed
from tests.tui.conftest import MakeApp
from tests.tui.helpers import loaded, main, open_from_sidebar, wait_for
from tests.tui.test_snapshots import matches_snapshot
from tui.app import ReaderApp
from tui.screens.main import MainScreen
from tui.screens.trends import TrendsScreen


async def open_trends(pilot: Pilot[None], app: ReaderApp) -> TrendsScreen:
    screen = await open_from_sidebar(pilot, app, "trends", TrendsScreen)
    await wait_for(pilot, lambda: screen.trends is not None)
    await pilot.pause()
    return screen


async def test_trends_draws_and_enter_opens_the_posts(make_app: MakeApp,
                                                      tmp_path: Path) -> None:
    app = make_app(seed(tmp_path / "t.db"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_trends(pilot, app)
        lines = screen.query(Sparkline)
        assert len(lines) == 3  # cardiology, vaccines, oncology
        assert list(lines.first().data or []) == [2] * 30
        rising = screen.query_one("#trends-rising", OptionList)
        ids = [rising.get_option_at_index(i).id for i in range(rising.option_count)]
        assert ids[1:] == ["topic:vaccines", "tag:vaccines", "tag:measles", 'tag:x<y>&"z']
        await pilot.press("enter")  # the highlighted one: the rising topic
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        assert main(app).view_id == "topic:vaccines"
        screen = await open_trends(pilot, app)
        rising = screen.query_one("#trends-rising", OptionList)
        rising.highlighted = 3
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        assert (main(app).view_id, main(app).query_text) == ("all", "tag:measles")
        rows = await loaded(pilot, app)
        assert len(rows) == 6
        await open_trends(pilot, app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        assert main(app).view_id == "all" and main(app).query_text == "tag:measles"


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_trends_screen(make_app: MakeApp, tmp_path: Path, size: tuple[int, int]) -> None:
    app = make_app(seed(tmp_path / "t.db"))
    async with app.run_test(size=size) as pilot:
        await open_trends(pilot, app)
        await matches_snapshot(pilot, app, f"trends_{size[0]}x{size[1]}")
