"""`i` in the reader: the opened post's images below its text, fetched from a loopback
image host in a worker, drawn in half-blocks (the headless driver's terminal answers no
graphics query), with alt text always shown as inert text; a sensitive post shows a
placeholder first; `[reader] images = "off"` never fetches; "auto" loads as a post opens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual_image.widget import HalfcellImage

from aggregator.clock import ManualClock
from aggregator.media.cache import ImageCache
from aggregator.media.fetch import ImageFetcher
from aggregator.models import Media
from aggregator.reader.feed import StorageFeedReader
from aggregator.reader.images import CachedImageLoader
from tests.fakes.images import ImageHost
from tests.fakes.server import Reply
from tests.tui.conftest import TOPIC_NAMES, Opened
from tests.tui.helpers import loaded, main, selected, wait_for, wait_for_text
from tests.tui.screen_text import screen_text
from tests.tui.seed import NOW, Seeder, post
from tui.app import ReaderApp
from tui.widgets.image_view import PLACEHOLDER, ImageView

HOSTILE_ALT = "[bold]Chart[/bold] \x1b]52;c;SGVsbG8=\x07 of \u202eevil\u200b outcomes"
HOSTILE_SHOWN = "[bold]Chart[/bold] of evil outcomes"  # escapes and hidden marks gone


@pytest.fixture
def host() -> Iterator[ImageHost]:
    h = ImageHost()
    h.server.start()
    yield h
    h.server.stop()


def seeded(path: Path, host: ImageHost) -> Seeder:
    """Newest first: two images (the first with hostile alt text), a sensitive post with
    one, a post whose image does not decode, a post without images."""
    s = Seeder(path)
    s.save("cardiology", [
        post(1, minutes_ago=1, text="Two figures from the trial.",
             media=(Media("image", host.url("/img/chart.png"), HOSTILE_ALT),
                    Media("image", host.url("/img/photo.jpg"), "Photo of the poster"))),
        post(2, minutes_ago=2, text="Wound care case (graphic).", sensitive=True,
             media=(Media("image", host.url("/img/figure.webp"), "Wound before debridement"),)),
        post(3, minutes_ago=3, text="A broken upload.",
             media=(Media("image", host.url("/img/truncated.jpg")),)),
        post(4, minutes_ago=4, text="No pictures here."),
    ])
    return s


def reader_app(s: Seeder, tmp_path: Path, *, mode: str = "on-demand") -> ReaderApp:
    images = None
    if mode != "off":
        cache = ImageCache(tmp_path / "cache", 50 * 1024 * 1024, ManualClock(NOW))
        images = CachedImageLoader(ImageFetcher(), cache, auto=mode == "auto")
    return ReaderApp(StorageFeedReader(s.db, s.repo, s.settings, s.clock, TOPIC_NAMES),
                     None, poll_seconds=0, opener=Opened(), images=images)


def view(app: ReaderApp) -> ImageView:
    return main(app).pane.images


def pictures(app: ReaderApp) -> list[HalfcellImage]:
    return list(view(app).query(HalfcellImage))


async def test_i_shows_each_image_in_turn_with_its_alt_text(host: ImageHost,
                                                            tmp_path: Path) -> None:
    app = reader_app(seeded(tmp_path / "r.db", host), tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await loaded(pilot, app)
        await wait_for_text(pilot, app, "Media (i shows the images)")
        assert host.requests() == 0  # nothing fetched until asked
        await pilot.press("enter", "i")
        await wait_for(pilot, lambda: pictures(app), what="a picture in the pane")
        shown = await wait_for_text(pilot, app, "Image 1 of 2", "PNG 64×32", "i: next",
                                    f"alt: {HOSTILE_SHOWN}")
        assert "▀" in shown  # half-blocks
        for bad in ("\x1b", "\u202e", "\u200b", "\x07"):
            assert bad not in shown and bad not in app.export_screenshot()
        assert pictures(app)[0].size.width == 64  # the picture's own width: not stretched

        await pilot.press("i")
        await wait_for_text(pilot, app, "Image 2 of 2", "JPEG 1200×800",
                            "alt: Photo of the poster")
        await wait_for(pilot, lambda: len(pictures(app)) == 1)
        await pilot.press("i")  # round again: from the cache this time
        await wait_for_text(pilot, app, "Image 1 of 2", "PNG 64×32, 1 KB (cached)")
        assert host.requests("/img/chart.png") == 1


async def test_a_sensitive_image_waits_for_a_second_i(host: ImageHost, tmp_path: Path) -> None:
    app = reader_app(seeded(tmp_path / "r.db", host), tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.press("j")
        await wait_for(pilot, lambda: main(app).pane.detail is not None
                       and main(app).pane.detail.id == selected(app).id)
        await pilot.press("i")
        await wait_for_text(pilot, app, PLACEHOLDER, "sensitive media",
                            "alt: Wound before debridement")
        assert host.requests() == 0 and not pictures(app)
        await pilot.press("i")
        await wait_for(pilot, lambda: pictures(app), what="the picture after the second i")
        await wait_for_text(pilot, app, "WebP 64×32")
        assert PLACEHOLDER not in screen_text(app)
        await pilot.press("k", "j")  # away and back: hidden again
        await wait_for(pilot, lambda: not view(app).display and not pictures(app))
        assert PLACEHOLDER not in screen_text(app)


async def test_what_does_not_decode_says_so_and_no_images_says_so(host: ImageHost,
                                                                  tmp_path: Path) -> None:
    app = reader_app(seeded(tmp_path / "r.db", host), tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.press("j", "j")
        await wait_for(pilot, lambda: main(app).pane.detail is not None
                       and main(app).pane.detail.id == selected(app).id)
        await pilot.press("i")
        await wait_for_text(pilot, app, "could not decode the image", "alt: (no description)")
        assert not pictures(app)
        await pilot.press("j")
        await wait_for(pilot, lambda: main(app).pane.detail is not None
                       and main(app).pane.detail.text == "No pictures here.")
        await pilot.press("i")
        await wait_for(pilot, lambda: main(app).status.activity == "this post has no images",
                       what=lambda: main(app).status.activity)


async def test_a_late_image_never_lands_on_another_post(host: ImageHost,
                                                        tmp_path: Path) -> None:
    app = reader_app(seeded(tmp_path / "r.db", host), tmp_path)
    body, kind = host.images["/img/chart.png"]
    host.server.faults.arm(Reply(200, body, {"Content-Type": kind}, delay=1.0), "/img/chart")
    async with app.run_test(size=(100, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.press("i")
        await wait_for(pilot, lambda: host.requests("/img/chart.png") == 1)
        await pilot.press("j")  # the sensitive post, while the chart is on its way
        await wait_for(pilot, lambda: main(app).pane.detail is not None
                       and main(app).pane.detail.sensitive)
        await app.workers.wait_for_complete()  # the chart has arrived, late
        await pilot.pause()
        assert not pictures(app) and not view(app).display
        assert "Image 1 of 2" not in screen_text(app)


async def test_off_never_fetches(host: ImageHost, tmp_path: Path) -> None:
    app = reader_app(seeded(tmp_path / "r.db", host), tmp_path, mode="off")
    async with app.run_test(size=(100, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.press("enter", "i")
        await wait_for(pilot, lambda: "images are off" in main(app).status.activity,
                       what=lambda: main(app).status.activity)
        await app.workers.wait_for_complete()
        assert host.requests() == 0 and not pictures(app)


async def test_auto_loads_as_a_post_opens_but_not_a_sensitive_one(host: ImageHost,
                                                                  tmp_path: Path) -> None:
    app = reader_app(seeded(tmp_path / "r.db", host), tmp_path, mode="auto")
    async with app.run_test(size=(100, 40)) as pilot:
        await loaded(pilot, app)
        assert host.requests() == 0  # selecting is not opening
        await pilot.press("enter")
        await wait_for(pilot, lambda: pictures(app), what="the picture, without i")
        await wait_for_text(pilot, app, "Image 1 of 2")
        await pilot.press("escape", "j", "enter")
        await wait_for_text(pilot, app, PLACEHOLDER)
        assert host.requests("/img/figure.webp") == 0


@pytest.mark.parametrize("mode", ["on-demand", "auto", "off"])
def test_rounds_read_hands_the_reader_an_image_loader(tmp_path: Path, host: ImageHost,
                                                     mode: str) -> None:
    import os

    from aggregator.cli.app import AppContext
    from aggregator.cli.read import build_reader_app

    s = seeded(tmp_path / "r.db", host)
    config = tmp_path / "rounds.toml"
    config.write_text(f'[reader]\nimages = "{mode}"\nimage_max_mb = 3\nimage_cache_mb = 7\n')
    ctx = AppContext(config=str(config), database_url=s.url, environ={}, clock=s.clock)
    images = build_reader_app(ctx).main_screen.images
    if mode == "off":
        assert images is None
    else:
        assert isinstance(images, CachedImageLoader) and images.auto == (mode == "auto")
        assert images.fetcher.max_bytes == 3 * 1024 * 1024
        assert images.cache is not None and images.cache.limit_bytes == 7 * 1024 * 1024
        assert images.cache.directory == (Path(os.environ["XDG_CACHE_HOME"]) / "grandrounds"
                                          / "images")
    ctx.db.dispose()
