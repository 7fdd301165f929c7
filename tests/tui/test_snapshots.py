"""Screenshots of the main screen, the reading pane and the help screen, compared with
checked-in SVGs. Regenerate after an intended change with ROUNDS_UPDATE_SNAPSHOTS=1.

Under load the screen reaches its final look later than the workers answer, so a
comparison waits (in small steps, up to a timeout) for the screen to match and only then
fails, with the diff. pytest-textual-snapshot (issue 13 item 7) was considered and not
taken for now: it takes one screenshot when the app is idle, so under load it needs the
same waiting in a run_before hook, and it would add a dependency and re-home every golden
file for the same screens."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest
from textual.pilot import Pilot

from aggregator.clock import ManualClock
from aggregator.media.cache import ImageCache
from aggregator.media.fetch import ImageFetcher
from aggregator.models import Media
from aggregator.reader.feed import StorageFeedReader
from aggregator.reader.images import CachedImageLoader
from tests.fakes.images import encode, quadrants
from tests.tui.conftest import SIZE, TOPIC_NAMES, MakeApp
from tests.tui.helpers import loaded, settle, wait_for
from tests.tui.seed import NOW, Seeder, post, with_links
from tui.app import ReaderApp
from tui.screens.help import HelpScreen
from tui.screens.links import LinksScreen

SNAPSHOTS = Path(__file__).parent / "snapshots"
# Read at import: the suite's autouse fixture clears ROUNDS_* variables for each test.
UPDATE = os.environ.get("ROUNDS_UPDATE_SNAPSHOTS") == "1"


async def matches_snapshot(pilot: Pilot[None], app: ReaderApp, name: str,
                           timeout: float = 30.0) -> None:
    golden = SNAPSHOTS / f"{name}.svg"
    if UPDATE or not golden.exists():
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        SNAPSHOTS.mkdir(exist_ok=True)
        golden.write_text(app.export_screenshot(title="grandrounds"), encoding="utf-8")
        if not UPDATE:
            raise AssertionError(f"{golden} did not exist; written, check it and re-run")
        return
    expected = golden.read_text(encoding="utf-8")
    shot: list[str] = []

    def same() -> bool:
        shot[:] = [app.export_screenshot(title="grandrounds")]
        return shot[0] == expected

    try:
        await wait_for(pilot, same, timeout=timeout)
    except AssertionError:
        svg = shot[0]
        diff = "".join(list(difflib.unified_diff(
            expected.splitlines(True), svg.splitlines(True), "golden", "now"))[:60])
        raise AssertionError(f"{name} differs from {golden} "
                             f"(ROUNDS_UPDATE_SNAPSHOTS=1 to accept):\n{diff}") from None


async def test_main_screen(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("j")
        await loaded(pilot, app)
        await matches_snapshot(pilot, app, "main_screen")


async def test_reading_pane(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.main_screen.pane.is_maximized)
        await matches_snapshot(pilot, app, "reading_pane")


async def test_help_screen(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await matches_snapshot(pilot, app, "help_screen")


async def test_small_terminal(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        await matches_snapshot(pilot, app, "main_80x24")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_links_screen(make_app: MakeApp, tmp_path: Path, size: tuple[int, int]) -> None:
    app = make_app(with_links(tmp_path / "links.db"))
    async with app.run_test(size=size) as pilot:
        await loaded(pilot, app)
        await pilot.press("enter", "l")
        await wait_for(pilot, lambda: isinstance(app.screen, LinksScreen))
        await pilot.press("down", "down")  # the hostile link highlighted
        await matches_snapshot(pilot, app, f"links_{size[0]}x{size[1]}")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_thread_screen(make_app: MakeApp, tmp_path: Path, size: tuple[int, int]) -> None:
    from tests.tui.test_thread import stored_thread
    from tui.screens.thread import ThreadScreen

    app = make_app(stored_thread(tmp_path / "thread.db"))
    async with app.run_test(size=size) as pilot:
        await loaded(pilot, app)
        await pilot.press("T")
        await wait_for(pilot, lambda: isinstance(app.screen, ThreadScreen))
        await matches_snapshot(pilot, app, f"thread_{size[0]}x{size[1]}")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_reading_pane_with_an_image(tmp_path: Path, size: tuple[int, int]) -> None:
    """The picture in half-blocks under the post, its caption and alt text. The image is
    in the cache already (fixed URL, no port in the text): the same screen every run."""
    s = Seeder(tmp_path / "r.db")
    url = "https://cdn.example/media/forest-plot.png"
    s.save("cardiology", [post(1, minutes_ago=1, text="Forest plot from the trial.",
                               media=(Media("image", url, "Forest plot: HR 0.74"),))])
    cache = ImageCache(tmp_path / "cache", 1024 * 1024, ManualClock(NOW))
    cache.put(url, encode(quadrants(96, 48), "PNG"))
    app = ReaderApp(StorageFeedReader(s.db, s.repo, s.settings, s.clock, TOPIC_NAMES), None,
                    poll_seconds=0, images=CachedImageLoader(ImageFetcher(), cache))
    async with app.run_test(size=size) as pilot:
        await loaded(pilot, app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.main_screen.pane.is_maximized)
        await settle(pilot)  # the picture is sized to the pane: the maximized one
        await pilot.press("i")
        await wait_for(pilot, lambda: app.main_screen.pane.images.picture is not None)
        await matches_snapshot(pilot, app, f"image_{size[0]}x{size[1]}")
