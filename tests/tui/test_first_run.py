"""A first run and a small terminal: every empty screen and every key that cannot work
here says what to do next; at 80x24 help and quit stay visible, topic names stay whole,
and `o` without a browser shows the link."""

from __future__ import annotations

import webbrowser
from dataclasses import replace
from pathlib import Path

import pytest

from aggregator.reader.feed import StorageFeedReader
from tests.tui.conftest import SIZE, TOPIC_NAMES, MakeApp
from tests.tui.helpers import loaded, main, settle, wait_for, wait_for_text
from tests.tui.screen_text import screen_text
from tests.tui.seed import Seeder
from tui.app import ReaderApp
from tui.screens.help import HelpScreen
from tui.screens.topic_picker import TopicPicker

SMALL = (80, 24)


def empty_archive(tmp_path: Path, *, sources: bool) -> Seeder:
    s = Seeder(tmp_path / "empty.db")
    s.settings = replace(s.settings, path=tmp_path / "rounds.toml",
                         sources=s.settings.sources if sources else ())
    return s


def unwrapped(app: ReaderApp) -> str:
    """The screen's text with the post list's wrapped lines joined, for phrase checks."""
    return " ".join(line.split("│", 1)[-1].strip() for line in screen_text(app).splitlines())


async def test_empty_archive_without_sources_says_init_and_collect(
        make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app(empty_archive(tmp_path, sources=False))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await wait_for(pilot, lambda: "rounds init" in unwrapped(app), what=lambda: unwrapped(app))
        text = unwrapped(app)
        for expected in ("No posts yet, and no sources to collect from.",
                         "then run `rounds collect`", "`rounds demo`"):
            assert expected in text, text
        assert str(tmp_path / "rounds.toml") in "".join(text.split())  # wrapped if long
        await pilot.press("R")  # no refresher: how to add sources, not "not available"
        await wait_for(pilot, lambda: "rounds init" in main(app).status.activity)
        assert str(tmp_path / "rounds.toml") in main(app).status.activity
        assert "not available" not in main(app).status.activity


async def test_empty_archive_with_sources_says_press_R(make_app: MakeApp,
                                                       tmp_path: Path) -> None:
    class Nothing:
        def collect(self, progress: object) -> str:
            return "collected 3 sources: 0 new posts"

    app = make_app(empty_archive(tmp_path, sources=True), refresher=Nothing())
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await wait_for(pilot, lambda: "Press R to collect now" in unwrapped(app),
                       what=lambda: unwrapped(app))
        assert "`rounds collect`" in unwrapped(app) and "rounds demo" in unwrapped(app)


async def test_R_without_refresher_but_with_sources_says_run_collect(
        make_app: MakeApp, seeded: Seeder) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("R")
        await wait_for(pilot, lambda: main(app).status.activity)
        assert "rounds collect" in main(app).status.activity


async def test_empty_view_and_empty_filter_say_so(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        main(app).open_view("starred")
        await wait_for_text(pilot, app, "No starred posts yet: s stars the selected post.")
        await pilot.press("slash", *"zzzunmatched", "enter")
        await wait_for(pilot, lambda: "clear the filter" in unwrapped(app),
                       what=lambda: unwrapped(app))
        text = unwrapped(app)
        assert "No posts in Starred match the filter zzzunmatched." in text
        assert "press /, empty the box (Ctrl+U) and press Enter" in text
        assert "rounds init" not in text  # the archive is not empty


async def test_footer_shows_help_and_quit_first_at_80x24(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await loaded(pilot, app)
        footer = await wait_for_text(pilot, app, "? Help")
        assert footer.splitlines()[-1].lstrip().startswith("? Help q Quit"), footer


async def test_help_says_esc_closes_it(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await loaded(pilot, app)
        await pilot.press("question_mark")
        await wait_for_text(pilot, app, "Esc closes this help")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))


async def test_topic_picker_shows_whole_names_when_wide_enough(seeded: Seeder) -> None:
    long_names = dict(TOPIC_NAMES, oncology="Oncology and haematology (adult and paediatric)")
    reader = StorageFeedReader(seeded.db, seeded.repo, seeded.settings, seeded.clock,
                               long_names)
    app = ReaderApp(reader, None, poll_seconds=0, opener=lambda url: True)
    async with app.run_test(size=SMALL) as pilot:
        await loaded(pilot, app)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TopicPicker))
        await wait_for_text(pilot, app, long_names["oncology"], "Public health")


@pytest.mark.parametrize("opener_says", ["false", "raises"])
async def test_o_without_a_browser_shows_the_link(make_app: MakeApp, opener_says: str) -> None:
    calls: list[str] = []

    def opener(url: str) -> bool:
        calls.append(url)
        if opener_says == "raises":
            raise webbrowser.Error("could not locate runnable browser")
        return False

    app = make_app(opener=opener)
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        await loaded(pilot, app)
        await pilot.press("o")
        await wait_for(pilot, lambda: "no web browser" in main(app).status.activity)
        assert calls == ["https://med.example/@x/1"]
        assert "https://med.example/@x/1" in main(app).status.activity
        if opener_says == "raises":
            assert "could not locate runnable browser" in main(app).status.activity
        await wait_for_text(pilot, app, "https://med.example/@x/1")  # the toast, whole
        assert app.is_running
        await settle(pilot)
