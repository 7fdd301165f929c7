"""The reader driven by Pilot: every binding, on a real SQLite archive."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.storage import queries
from aggregator.storage.db import open_database
from tests.tui.conftest import SIZE, MakeApp, Opened
from tests.tui.helpers import listed, loaded, main, selected, settle, wait_for, wait_for_text
from tests.tui.screen_text import screen_text
from tests.tui.seed import Seeder, post
from tui.screens.help import HelpScreen
from tui.screens.topic_picker import TopicPicker


def reopen(seeded: Seeder, post_id: int) -> queries.PostDetail:
    db = open_database(seeded.url)
    try:
        return queries.get_post(db, post_id)
    finally:
        db.dispose()


async def test_first_screen_lists_views_posts_and_the_selected_post(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(120, 60)) as pilot:
        await loaded(pilot, app)
        await wait_for_text(pilot, app, "All", "Unread", "Starred", "Twitter only", "Cardiology",
                            "cardiology", "x-health", "Mastodon", "Dr Jane Heart",
                            "New #HeartFailure guideline", "Forest plot of mortality outcomes",
                            "boosted by Dr Doc 3", "via cardiology, oncology",
                            "hashtag: #HeartFailure")
        assert [r.author_name for r in listed(app)][:2] == ["Dr Jane Heart", "Dr Doc 2"]


async def test_j_k_and_arrows_move_the_selection(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        rows = await loaded(pilot, app)
        await pilot.press("j")
        assert selected(app).id == rows[1].id
        await pilot.press("down", "down")
        assert selected(app).id == rows[3].id
        await pilot.press("down")  # the last post: stays
        assert selected(app).id == rows[3].id
        await pilot.press("k", "up")
        assert selected(app).id == rows[1].id
        await wait_for(pilot, lambda: "Agree, but what about eGFR" in
                       screen_text(app).split("─" * 10)[-1], what=lambda: screen_text(app))
        await wait_for(pilot, lambda: "2/4" in main(app).status.place)


async def test_enter_opens_the_post_and_marks_it_read(make_app: MakeApp,
                                                      seeded: Seeder) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        first = selected(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: main(app).pane.has_focus and main(app).pane.is_maximized)
        assert selected(app).is_read
        await wait_for(pilot, lambda: reopen(seeded, first.id).is_read, what="saved as read")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not main(app).pane.is_maximized
                       and main(app).posts.has_focus)


async def test_r_toggles_read_and_s_stars_and_both_persist(make_app: MakeApp,
                                                           seeded: Seeder) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("j")
        target = selected(app)
        await pilot.press("r", "s")
        assert selected(app).is_read and selected(app).starred
        await wait_for_text(pilot, app, "★ starred")
        await wait_for(pilot, lambda: (reopen(seeded, target.id).is_read,
                                       reopen(seeded, target.id).starred) == (True, True))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await wait_for(pilot, lambda: selected(app).id == target.id)  # selection restored
        await pilot.press("r", "s")
        await wait_for(pilot, lambda: (reopen(seeded, target.id).is_read,
                                       reopen(seeded, target.id).starred) == (False, False))


async def test_o_opens_the_post_url_through_the_opener(make_app: MakeApp) -> None:
    opened = Opened()
    app = make_app(opener=opened)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("o")
        await pilot.press("j")  # the pane may still be loading: the worker opens it
        await pilot.press("o")
        await wait_for(pilot, lambda: len(opened) == 2, what=lambda: f"opened {opened}")
    assert opened == ["https://med.example/@x/1", "https://med.example/@x/2"]


async def test_t_picks_a_topic(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TopicPicker))
        # topics are sorted by name: Cardiology, Oncology, Public health, Vaccines
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: main(app).view_id == "topic:oncology")
        await wait_for(pilot, lambda: [r.text.split()[0] for r in listed(app)] ==
                       ["Immunotherapy"], what=lambda: f"listed {listed(app)}")
        await wait_for(pilot, lambda: "Topics: Oncology" in main(app).status.place)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TopicPicker))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is main(app))
        assert main(app).view_id == "topic:oncology"


async def test_n_jumps_to_the_next_unread(make_app: MakeApp, seeded: Seeder) -> None:
    rows = queries.list_posts(seeded.db, None)
    seeded.repo.set_flags(rows[1].id, is_read=True)
    seeded.repo.set_flags(rows[2].id, is_read=True)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("n")
        await wait_for(pilot, lambda: selected(app).id == rows[3].id)
        await pilot.press("n")
        await wait_for(pilot, lambda: "no more unread" in main(app).status.activity)
        assert selected(app).id == rows[3].id


async def test_sidebar_views_by_keyboard_and_mouse(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await wait_for(pilot, lambda: any(t.strip().startswith("X ")
                                          for t in screen_text(app).splitlines()))
        text = screen_text(app).splitlines()
        line = next(i for i, t in enumerate(text) if t.strip().startswith("X "))
        await pilot.click("#sidebar", offset=(3, line))
        await wait_for(pilot, lambda: main(app).view_id == "network:twitter")
        await loaded(pilot, app)
        assert [r.network for r in listed(app)] == ["twitter"]
        await pilot.click("#posts", offset=(10, 0))  # clicking the selected post opens it
        await wait_for(pilot, lambda: main(app).pane.is_maximized)


async def test_mouse_click_selects_a_post(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        rows = await loaded(pilot, app)
        await pilot.click("#posts", offset=(10, 4))  # two lines per post: the third post
        await wait_for(pilot, lambda: selected(app).id == rows[2].id)


async def test_mark_read_on_move(make_app: MakeApp, seeded: Seeder) -> None:
    app = make_app(mark_read_on_move=True)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        first = selected(app)
        await pilot.press("j")
        second = selected(app)
        await wait_for(pilot, lambda: reopen(seeded, first.id).is_read, what="saved as read")
        await settle(pilot)
    assert not reopen(seeded, second.id).is_read


async def test_help_screen_and_quit(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await wait_for_text(pilot, app, "jump to the next unread post")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_last_view_and_selection_are_restored(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TopicPicker))
        await pilot.press("enter")  # Cardiology
        await wait_for(pilot, lambda: main(app).view_id == "topic:cardiology")
        await loaded(pilot, app)
        await pilot.press("j")
        chosen = selected(app)
        await pilot.press("q")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await wait_for(pilot, lambda: main(app).view_id == "topic:cardiology")
        await wait_for(pilot, lambda: main(app).posts.selected is not None
                       and selected(app).id == chosen.id)


class WritingRefresher:
    """Stands in for a collect pass: writes a post through another Repository."""

    def __init__(self, seeder: Seeder, fail: bool = False) -> None:
        self.seeder, self.fail, self.calls = seeder, fail, 0

    def collect(self, progress: object) -> str:
        self.calls += 1
        progress("cardiology: 1 new")  # type: ignore[operator]
        if self.fail:
            raise RuntimeError("server said no")
        Seeder.save(self.seeder, "cardiology",
                    [post(900, minutes_ago=1, text="Fresh from the collector")])
        return "collected 1 sources: 1 new posts"


async def test_R_collects_in_a_worker_and_shows_new_posts(make_app: MakeApp,
                                                          seeded: Seeder) -> None:
    refresher = WritingRefresher(seeded)
    app = make_app(refresher=refresher)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("j")
        before = selected(app)
        await pilot.press("R")
        await wait_for(pilot, lambda: "1 new posts" in main(app).status.activity)
        assert refresher.calls == 1
        await wait_for(pilot, lambda: listed(app)[0].text == "Fresh from the collector",
                       what=lambda: f"listed {listed(app)[:1]}")
        assert selected(app).id == before.id  # the selection did not move


async def test_R_reports_failure_and_missing_collector(make_app: MakeApp,
                                                       seeded: Seeder) -> None:
    app = make_app(refresher=WritingRefresher(seeded, fail=True))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("R")
        await wait_for(pilot, lambda: "server said no" in main(app).status.activity)
        assert app.is_running
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("R")  # sources configured, no collect service: say what to run
        await wait_for(pilot, lambda: "rounds collect" in main(app).status.activity)


async def test_posts_written_elsewhere_appear_without_moving_the_selection(
        make_app: MakeApp, seeded: Seeder, tmp_path: Path) -> None:
    app = make_app(poll_seconds=0.05)
    collector = Seeder(tmp_path / "reader.db")  # another connection, as a daemon would
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("j", "j")
        chosen = selected(app)
        collector.save("cardiology", [post(700 + i, minutes_ago=1 + i / 10) for i in range(3)])
        await wait_for(pilot, lambda: len(listed(app)) == 7,
                       what=lambda: f"{len(listed(app))} posts listed")
        assert [r.text.split()[2] for r in listed(app)[:3]] == ["700", "701", "702"]
        assert selected(app).id == chosen.id
        await wait_for(pilot, lambda: "6/7" in main(app).status.place,
                       what=lambda: main(app).status.place)
        collector.db.dispose()


async def test_long_lists_page_in_and_keep_memory_bounded(make_app: MakeApp,
                                                          tmp_path: Path) -> None:
    big = Seeder(tmp_path / "big.db")
    for start in range(0, 3000, 500):
        big.save("cardiology", [post(i, minutes_ago=i) for i in range(start, start + 500)])
    app = make_app(big)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        posts = main(app).posts
        assert posts.window.total == 100  # one page, not the archive
        w = posts.window
        for _ in range(60):  # as far as the user scrolls, pages load behind the cursor
            if posts.cursor == 2999:
                break
            await pilot.press("pagedown")
            posts.move_to(posts.cursor + 100)
            await wait_for(pilot, lambda: posts.window.exhausted
                           or posts.window.total > posts.cursor + 1,
                           what=lambda: f"the page after post {posts.cursor}")
        assert posts.cursor == 2999 and posts.window.exhausted
        assert w is posts.window
        assert selected(app).text.startswith("Post number 2999 ")
        assert posts.window.cached_rows <= 20 * 100
        await pilot.press("home")
        await wait_for(pilot, lambda: posts.selected is not None
                       and selected(app).text.startswith("Post number 0 "))


@pytest.mark.parametrize("bad", ["topic:", "since:xyz", 'foo:"'])
async def test_invalid_filter_shows_an_error_inline(make_app: MakeApp, bad: str) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("slash")
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "filter-input")
        await pilot.press(*bad)
        await pilot.press("enter")
        await wait_for_text(pilot, app, "✗")
        assert app.is_running
        assert main(app).query_text == ""
        assert len(listed(app)) == 4
        await pilot.press("escape")
        await wait_for(pilot, lambda: main(app).posts.has_focus)


async def test_valid_filter_narrows_the_list_and_empty_clears_it(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("slash")
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "filter-input")
        await pilot.press(*"network:twitter", "enter")
        await wait_for(pilot, lambda: "filter: network:twitter" in main(app).status.place)
        await loaded(pilot, app)
        assert [r.network for r in listed(app)] == ["twitter"]
        await pilot.press("slash")
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "filter-input")
        await pilot.press("ctrl+u", "enter")
        await wait_for(pilot, lambda: len(listed(app)) == 4)


async def test_command_palette_offers_the_reader_actions(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Filter posts", "Pick a topic", "Next unread", "Toggle read", "Toggle star",
                "Open in browser", "Collect now", "Help: keys"} <= titles
        command = next(c for c in app.get_system_commands(app.screen) if c.title == "Toggle star")
        command.callback()
        await wait_for(pilot, lambda: selected(app).starred)


async def test_overlapping_polls_do_not_list_a_post_twice(make_app: MakeApp, seeded: Seeder,
                                                          tmp_path: Path) -> None:
    """Under load two polls can both find the same new posts before either answers."""
    from tui.messages import NewerLoaded

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        rows = await loaded(pilot, app)
        seeded.save("cardiology", [post(800 + i, minutes_ago=1 + i / 10) for i in range(2)])
        screen = main(app)
        newer = screen.reader.list_newer("all", "", after=rows[0].key, limit=10)
        assert len(newer) == 2
        marker = screen.reader.newest_marker()
        for _ in range(2):  # the same answer twice, as two overlapping polls give it
            screen.post_message(NewerLoaded(screen.posts.generation, newer, True, marker))
        await wait_for(pilot, lambda: len(listed(app)) >= 6)
        await settle(pilot)
        assert [r.id for r in listed(app)] == [r.id for r in newer + rows]
