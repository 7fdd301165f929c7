"""Mutes in the reader, driven by Pilot on a real SQLite archive: `M` mutes the selected
post's author or a hashtag, the views and counts leave muted posts out, the status line
says how many each view hid, and the chooser shows strangers' text inert."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from aggregator.models import Author
from aggregator.settings import MuteSettings
from aggregator.storage.db import open_database
from aggregator.storage.mutes import list_mutes
from tests.tui.conftest import SIZE, MakeApp
from tests.tui.helpers import listed, loaded, main, selected, wait_for, wait_for_text
from tests.tui.seed import NOW, Seeder, post
from tests.tui.test_snapshots import matches_snapshot
from tui.screens.mute_chooser import MuteChooser

JANE = Author("mastodon", "jane@cardio.example", "jane@cardio.example", "Dr Jane Heart")


def stored(seeded: Seeder) -> list[str]:
    db = open_database(seeded.url)
    try:
        return [m.shown for m in list_mutes(db)]
    finally:
        db.dispose()


def more_jane(seeded: Seeder) -> None:
    seeded.save("cardiology", [post(40, who=JANE, minutes_ago=200,
                                    text="Second thoughts on diuretics")])


async def test_M_mutes_the_author_hides_their_posts_and_says_how_many(
        make_app: MakeApp, seeded: Seeder) -> None:
    more_jane(seeded)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        rows = await loaded(pilot, app)
        assert rows[0].author_name == "Dr Jane Heart" and len(rows) == 5
        await wait_for(pilot, lambda: main(app).counts.get("all") == 5)
        await pilot.press("M")
        await wait_for(pilot, lambda: isinstance(app.screen, MuteChooser))
        await wait_for_text(pilot, app, "author @jane@cardio.example (Dr Jane Heart, "
                                        "Mastodon)", "hashtag #HeartFailure")
        await pilot.press("enter")  # the author is the first choice
        await wait_for(pilot, lambda: "2 hidden by mutes" in main(app).status.place,
                       what=lambda: main(app).status.place)
        assert "muted @jane@cardio.example: 2 posts hidden" in main(app).status.activity
        assert [r.author_name for r in listed(app)] == ["Dr Doc 2", "Dr Doc 3", "X Doc 4"]
        assert selected(app).author_name == "Dr Doc 2"  # the next post, not the top
        await wait_for(pilot, lambda: main(app).counts.get("all") == 3)
        await pilot.press("n")
        assert stored(seeded) == ["@jane@cardio.example"]

    again = make_app()  # stored: a new reader hides them too
    async with again.run_test(size=SIZE) as pilot:
        rows = await loaded(pilot, again)
        assert "Dr Jane Heart" not in [r.author_name for r in rows]
        await wait_for(pilot, lambda: "2 hidden by mutes" in main(again).status.place)


async def test_M_mutes_a_hashtag_in_every_view(make_app: MakeApp, seeded: Seeder) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("j", "j")
        await wait_for(pilot, lambda: main(app).pane.detail is not None
                       and "ASCO" in main(app).pane.detail.hashtags)
        await pilot.press("M")
        await wait_for(pilot, lambda: isinstance(app.screen, MuteChooser))
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: "1 hidden by mutes" in main(app).status.place)
        assert "muted #asco: 1 post hidden" in main(app).status.activity
        assert all("Immunotherapy" not in r.text for r in listed(app))
        main(app).open_view("topic:oncology")
        await wait_for(pilot, lambda: main(app).posts.window.exhausted)
        await wait_for(pilot, lambda: "no posts · 1 hidden by mutes" in main(app).status.place,
                       what=lambda: main(app).status.place)
    assert stored(seeded) == ["#asco"]


async def test_esc_cancels_the_chooser_and_mutes_nothing(make_app: MakeApp,
                                                         seeded: Seeder) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        rows = await loaded(pilot, app)
        await pilot.press("M")
        await wait_for(pilot, lambda: isinstance(app.screen, MuteChooser))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is main(app))
        assert len(listed(app)) == len(rows) and "hidden" not in main(app).status.place
    assert stored(seeded) == []


async def test_config_mutes_hide_until_they_expire(make_app: MakeApp, seeded: Seeder) -> None:
    seeded.settings = replace(seeded.settings, mutes=(
        MuteSettings("eGFR"), MuteSettings("network:twitter", NOW - timedelta(days=1)),
        MuteSettings("tag:heartfailure", NOW + timedelta(days=1))))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        rows = await loaded(pilot, app)
        assert [r.author_name for r in rows] == ["Dr Doc 3", "X Doc 4"]
        await wait_for(pilot, lambda: "All · 1/2 · 2 hidden by mutes" in main(app).status.place,
                       what=lambda: main(app).status.place)
        await wait_for(pilot, lambda: main(app).counts.get("all") == 2)
        assert main(app).counts.get("topic:cardiology") == 0  # both cardiology posts muted
        seeded.clock.advance(2 * 86400)  # the hashtag mute ends
        main(app).open_view("all")
        await wait_for(pilot, lambda: len(listed(app)) == 3
                       and "1 hidden by mutes" in main(app).status.place,
                       what=lambda: main(app).status.place)


async def test_the_chooser_shows_strangers_text_inert(make_app: MakeApp,
                                                      seeded: Seeder) -> None:
    evil = Author("mastodon", "evil@bad.example", "evil@bad.example",
                  "[bold red]Admin[/] \x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J")
    seeded.save("cardiology", [post(41, who=evil, minutes_ago=1, text="hello",
                                    hashtags=("[link=https://bad.example]x[/link]",
                                              "tag\x1b[31mred"))])
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.press("M")
        await wait_for(pilot, lambda: isinstance(app.screen, MuteChooser))
        text = await wait_for_text(pilot, app, "author @evil@bad.example ([bold red]Admin[/], "
                                   "Mastodon)", "#[link=https://bad.example]x[/link]",
                                   "#tagred")
        assert "\x1b" not in text and "\x07" not in text and "cm0gLXJmIH4" not in text


async def test_chooser_snapshots(make_app: MakeApp) -> None:
    for size, name in (((80, 24), "mute_chooser_80x24"), ((120, 40), "mute_chooser_120x40")):
        app = make_app()
        async with app.run_test(size=size) as pilot:
            await loaded(pilot, app)
            await pilot.press("M")
            await wait_for(pilot, lambda a=app: isinstance(a.screen, MuteChooser))
            await wait_for_text(pilot, app, "hashtag #HeartFailure")
            await matches_snapshot(pilot, app, name)
