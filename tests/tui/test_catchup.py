"""Catch-up in the reader, driven by Pilot on a real SQLite archive: the sidebar's
Catch-up opens groups by author with counts, notable first; opening a group or `r` marks
it read (in a worker), the counts follow, and reading every group moves the mark."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from textual.pilot import Pilot

from aggregator.models import Author
from aggregator.reader.catchup import STATE_MARK
from aggregator.storage.db import open_database
from aggregator.storage.schema import posts
from tests.tui.conftest import SIZE, MakeApp
from tests.tui.helpers import loaded, main, open_from_sidebar, wait_for, wait_for_text
from tests.tui.seed import NOW, Seeder, post, standard
from tests.tui.test_snapshots import matches_snapshot
from tui.app import ReaderApp
from tui.screens.catchup import CatchupScreen

JANE = Author("mastodon", "jane@cardio.example", "jane@cardio.example", "Dr Jane Heart")
EVIL = Author("mastodon", "evil@x.example", "evil@x.example", "[bold red]Evil[/]\x1b[2J")


def with_counts(path: Path) -> Seeder:
    s = standard(path)
    s.save("cardiology", [
        post(20, who=JANE, minutes_ago=50, text="Routine clinic note", like_count=4,
             boost_count=1, reply_count=0),
        post(21, who=JANE, minutes_ago=70, text="Landmark trial: mortality down 30%",
             like_count=120, boost_count=40, reply_count=9),
        post(22, who=JANE, minutes_ago=80, text="Coffee", like_count=3, boost_count=0),
        post(23, who=EVIL, minutes_ago=100, text="[link=https://evil.example]click[/link]"),
    ])
    return s


def unread(seeded: Seeder) -> set[str]:
    db = open_database(seeded.url)
    try:
        with db.engine.connect() as conn:
            return {r.text for r in conn.execute(select(posts.c.text)
                                                 .where(posts.c.is_read.is_(False)))}
    finally:
        db.dispose()


async def open_catchup(pilot: Pilot[None], app: ReaderApp) -> CatchupScreen:
    await loaded(pilot, app)
    await wait_for(pilot, lambda: main(app).counts.get("catchup") is not None)
    screen = await open_from_sidebar(pilot, app, "catchup", CatchupScreen)
    await wait_for(pilot, lambda: screen.catchup is not None)
    return screen


async def test_catchup_groups_notable_first_and_marks_read(
        make_app: MakeApp, tmp_path: Path) -> None:
    seeded = with_counts(tmp_path / "c.db")
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await wait_for(pilot, lambda: main(app).counts.get("catchup") == 8,
                       what=lambda: str(main(app).counts))
        screen = await open_catchup(pilot, app)
        shown = await wait_for_text(pilot, app, "Dr Jane Heart", "4 new", "1 notable",
                                    "8 unread from 5 voices in the last 24 hours")
        assert "[bold red]" in shown  # strangers' markup shown as text, not applied
        await pilot.press("enter")  # Jane's group: opens, marks read
        shown = await wait_for_text(pilot, app, "✓ 4 read", "marked 4 read · 4 left")
        lines = shown.splitlines()
        trial = next(i for i, line in enumerate(lines) if "Landmark trial" in line)
        assert "♻40 ♥120" in lines[trial] and "×" in lines[trial]
        assert "Routine clinic note" in lines[trial + 1]  # then by boosts + likes
        assert "Landmark trial: mortality down 30%" not in unread(seeded)
        assert "Coffee" not in unread(seeded)
        await pilot.press("escape")
        await wait_for(pilot, lambda: main(app).counts.get("catchup") == 4,
                       what=lambda: str(main(app).counts))
        assert main(app).counts.get("all") == 4 and app.screen is main(app)
        assert screen.catchup is not None


async def test_reading_every_group_moves_the_mark(make_app: MakeApp, seeded: Seeder) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_catchup(pilot, app)
        assert screen.catchup is not None
        for _ in screen.catchup.groups:
            await pilot.press("r", "down")
        await wait_for_text(pilot, app, "all caught up")
        await wait_for(pilot, lambda: app.reader.get_state(STATE_MARK) == NOW.isoformat())
        assert unread(seeded) == set()
        await pilot.press("escape")
        await wait_for(pilot, lambda: main(app).counts.get("catchup") == 0)
        screen = await open_catchup(pilot, app)
        await wait_for_text(pilot, app, "Nothing new since your last catch-up.",
                            "since your last catch-up")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_catchup_screen(make_app: MakeApp, tmp_path: Path, size: tuple[int, int]) -> None:
    app = make_app(with_counts(tmp_path / "c.db"))
    async with app.run_test(size=size) as pilot:
        await open_catchup(pilot, app)
        await pilot.press("space")  # open the first group
        await wait_for_text(pilot, app, "marked 4 read")
        await matches_snapshot(pilot, app, f"catchup_{size[0]}x{size[1]}")
