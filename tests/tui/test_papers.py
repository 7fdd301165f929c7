"""Papers in the reader, driven by Pilot on a real SQLite archive: the sidebar's Papers
ranks the works by distinct voices; Enter on one shows the posts discussing it, Enter on
a post shows it in the lists; `o` opens the work's link, `p` moves through the periods;
strangers' titles and names are shown as text. Goldens at 80x24 and 120x40."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from textual.pilot import Pilot

from aggregator.models import Author
from tests.tui.conftest import SIZE, MakeApp, Opened
from tests.tui.helpers import (
    loaded,
    main,
    open_from_sidebar,
    selected,
    wait_for,
    wait_for_text,
)
from tests.tui.seed import Seeder, author, post, standard
from tests.tui.test_snapshots import matches_snapshot
from tui.app import ReaderApp
from tui.screens.papers import PapersScreen

ALI = Author("mastodon", "ali@med.example", "ali@med.example", "Ali Renal")
EVIL = Author("mastodon", "evil@x.example", "evil@x.example", "[bold red]Evil[/]\x1b[2J")
CARD = ('{"card": {"url": "https://doi.org/10.1000/hf.2026", '
        '"title": "SGLT2 inhibitors for everyone with HFrEF: the guideline"}}')
PUBMED = "https://pubmed.ncbi.nlm.nih.gov/38012345/"


def with_papers(path: Path) -> Seeder:
    """The standard archive (Jane's post shares doi:10.1000/hf.2026, boosted by Doc 3),
    Ali sharing it too (with its card), a PubMed paper two voices shared, a hostile
    stranger's trial, and a preprint from two months ago."""
    s = standard(path)
    s.save("cardiology", [
        replace(post(30, who=ALI, minutes_ago=40, text="Journal club tonight: "
                     "doi:10.1000/HF.2026.", links=()), raw=CARD),
        replace(post(31, who=author(2), minutes_ago=100, text="Five days is enough",
                     links=(PUBMED,)),
                raw='{"card": {"url": "' + PUBMED + '", "title": "[i]Five[/i] days - PubMed"}}'),
        post(33, who=EVIL, minutes_ago=300, text="[bold red]trial[/] NCT05123456"),
        post(34, who=author(4), minutes_ago=60 * 24 * 60, text="arXiv:2401.01234 preprint"),
    ])
    s.save("x-health", [post(32, network="twitter", who=author(4, "twitter"),
                             minutes_ago=200, text="Short courses", links=(PUBMED,))])
    return s


async def open_papers(pilot: Pilot[None], app: ReaderApp) -> PapersScreen:
    await loaded(pilot, app)
    screen = await open_from_sidebar(pilot, app, "papers", PapersScreen)
    await wait_for(pilot, lambda: screen.works is not None)
    return screen


async def test_papers_ranked_by_voices_and_enter_shows_the_posts(
        make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app(with_papers(tmp_path / "p.db"))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_papers(pilot, app)
        assert screen.works is not None
        assert [(w.ident, w.voices, w.posts) for w in screen.works] == [
            ("10.1000/hf.2026", 3, 2),  # Jane, Doc 3's boost, Ali
            ("38012345", 2, 2), ("NCT05123456", 1, 1)]  # the preprint is 60 days old
        shown = await wait_for_text(
            pilot, app, "3 works shared by your voices, last 30 days, most voices first",
            "3 voices   2 posts  SGLT2 inhibitors for everyone with HFrEF: the guideline",
            "doi:10.1000/hf.20", "[i]Five[/i] days - PubMed", "PMID 38012345",
            "Enter: its posts · doi:10.1000/hf.2026 · https://doi.org/10.1000/hf.2026 · first "
            "seen 2026-11-27 · ")
        await pilot.press("enter")  # the first work: its posts
        shown = await wait_for_text(pilot, app, "2 posts discussing it", "Journal club",
                                    "Dr Jane Heart")
        lines = shown.splitlines()
        ali = next(i for i, line in enumerate(lines) if "Journal club" in line)
        assert "Ali Renal" in lines[ali] and "New #HeartFailure" in lines[ali - 1]
        await pilot.press("down", "down", "enter")  # Ali's post: shown in the lists
        await wait_for(pilot, lambda: app.screen is main(app))
        await wait_for(pilot, lambda: main(app).posts.selected is not None
                       and selected(app).author_name == "Ali Renal",
                       what=lambda: str(main(app).posts.selected))
        assert main(app).view_id == "all"


async def test_open_link_period_and_strangers_text(make_app: MakeApp, tmp_path: Path) -> None:
    opened = Opened()
    app = make_app(with_papers(tmp_path / "p.db"), opener=opened)
    async with app.run_test(size=SIZE) as pilot:
        await open_papers(pilot, app)
        await pilot.press("o")
        await wait_for(pilot, lambda: opened == ["https://doi.org/10.1000/hf.2026"])
        await wait_for_text(pilot, app, "opened https://doi.org/10.1000/hf.2026")
        await pilot.press("p")  # all time: the preprint too
        shown = await wait_for_text(pilot, app, "4 works", "all time", "arXiv:2401.01234")
        assert "\x1b" not in shown
        await pilot.press("p")  # last 7 days
        await wait_for_text(pilot, app, "3 works", "last 7 days")
        await pilot.press("down", "down", "enter")  # the stranger's trial
        await wait_for_text(pilot, app, "[bold red]Evil[/]", "[bold red]trial[/] NCT05123456")
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: app.screen is main(app))


async def test_no_papers_says_what_to_do(make_app: MakeApp, tmp_path: Path) -> None:
    s = Seeder(tmp_path / "empty.db")
    s.save("cardiology", [post(1, text="No papers here", minutes_ago=5)])
    app = make_app(s)
    async with app.run_test(size=SIZE) as pilot:
        await open_papers(pilot, app)
        await wait_for_text(pilot, app, "0 works", "No papers shared in this period")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_papers_screen(make_app: MakeApp, tmp_path: Path, size: tuple[int, int]) -> None:
    app = make_app(with_papers(tmp_path / "p.db"))
    async with app.run_test(size=size) as pilot:
        await open_papers(pilot, app)
        await pilot.press("enter")
        await wait_for_text(pilot, app, "2 posts discussing it")
        await matches_snapshot(pilot, app, f"papers_{size[0]}x{size[1]}")

