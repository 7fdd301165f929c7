"""Post images: fetched from a loopback host over real HTTP, size-capped, sniffed,
decoded with Pillow, and kept in a size-limited on-disk cache."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from aggregator.clock import ManualClock
from aggregator.errors import MediaError
from aggregator.media.cache import ImageCache, default_cache_dir
from aggregator.media.decode import BOX, decode
from aggregator.media.fetch import ImageFetcher
from aggregator.reader.images import CachedImageLoader
from tests.fakes.images import HUGE, ImageHost
from tests.tui.seed import NOW

MB = 1024 * 1024


def loader(tmp_path: Path, *, limit: int = 200 * MB,
           max_bytes: int = 10 * MB) -> CachedImageLoader:
    cache = ImageCache(tmp_path / "images", limit, ManualClock(NOW))
    return CachedImageLoader(ImageFetcher(max_bytes=max_bytes), cache)


@pytest.mark.parametrize(("path", "fmt", "size"), [
    ("/img/chart.png", "PNG", (64, 32)),
    ("/img/photo.jpg", "JPEG", (1200, 800)),
    ("/img/figure.webp", "WebP", (64, 32)),  # served as application/octet-stream
    ("/img/anim.gif", "GIF", (48, 48)),
    ("/img/logo.png", "PNG", (40, 20)),  # transparent
])
def test_each_format_is_fetched_and_decoded(host: ImageHost, tmp_path: Path, path: str,
                                            fmt: str, size: tuple[int, int]) -> None:
    picture = loader(tmp_path).load(host.url(path))
    assert (picture.format, (picture.width, picture.height)) == (fmt, size)
    assert picture.image.mode == "RGB" and max(picture.image.size) <= BOX
    assert picture.describe().startswith(f"{fmt} {size[0]}×{size[1]}, ")
    if path == "/img/chart.png":  # the colours survive: top left red, top right blue
        assert picture.image.getpixel((2, 2)) == (220, 38, 38)
        assert picture.image.getpixel((60, 2)) == (37, 99, 235)
    if path == "/img/logo.png":  # transparency over the dark background, not black
        assert picture.image.getpixel((0, 0)) == (24, 24, 27)


def test_the_first_frame_of_an_animation_is_shown(host: ImageHost, tmp_path: Path) -> None:
    picture = loader(tmp_path).load(host.url("/img/anim.gif"))
    assert picture.image.getpixel((2, 2)) != (0, 0, 0)  # frame 2 is black


def test_a_large_photo_is_shrunk_to_the_box(host: ImageHost) -> None:
    picture = decode(host.images["/img/photo.jpg"][0], box=300)
    assert picture.image.size == (300, 200)
    assert (picture.width, picture.height) == (1200, 800)


def test_a_50_mb_image_is_refused_before_its_body_is_read(host: ImageHost,
                                                          tmp_path: Path) -> None:
    with pytest.raises(MediaError) as caught:
        loader(tmp_path).load(host.url("/img/huge.jpg"))
    assert str(caught.value) == "image refused: 50 MB from 127.0.0.1 is over the 10 MB limit"
    assert host.sent_huge < HUGE  # the fake stopped: the client closed the connection


def test_without_a_content_length_the_cap_stops_the_read(host: ImageHost,
                                                         tmp_path: Path) -> None:
    images = loader(tmp_path, max_bytes=2 * MB)
    with pytest.raises(MediaError) as caught:
        images.load(host.url("/img/huge-unsized.jpg"))
    assert str(caught.value) == "image refused: more than 2 MB from 127.0.0.1 (the limit)"
    assert images.cache is not None and images.cache.size() == 0


@pytest.mark.parametrize(("path", "message"), [
    ("/img/truncated.jpg", "could not decode the image (image file is truncated"),
    ("/img/error.png", "image not shown: 127.0.0.1 sent something that is not a PNG, JPEG, "
                       "GIF or WebP image (text/html)"),
    ("/img/gone.png", "image not fetched: 127.0.0.1 answered HTTP 404"),
    ("/img/bomb.png", "image not shown: 10000×5000 pixels is too large to decode"),
])
def test_what_cannot_be_shown_says_why_in_one_line(host: ImageHost, tmp_path: Path,
                                                   path: str, message: str) -> None:
    images = loader(tmp_path)
    with pytest.raises(MediaError) as caught:
        images.load(host.url(path))
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
    assert images.cache is not None and images.cache.size() == 0  # nothing kept
    images.load(host.url("/img/chart.png"))  # and the next one still works


@pytest.mark.parametrize("url", ["file:///etc/passwd", "javascript:alert(1)",
                                 "ftp://127.0.0.1/x.png", "data:image/png;base64,AAAA",
                                 "//127.0.0.1/img/chart.png", "https:///no-host.png"])
def test_only_http_and_https_urls_are_fetched(host: ImageHost, tmp_path: Path,
                                              url: str) -> None:
    with pytest.raises(MediaError, match=r"is not an http\(s\) URL$"):
        loader(tmp_path).load(url)
    assert host.requests() == 0


def test_an_unreachable_host_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(MediaError, match=r"^image not fetched: cannot reach 127\.0\.0\.1 "):
        loader(tmp_path).load(f"http://127.0.0.1:{port}/x.png")


def test_a_cached_image_makes_no_request(host: ImageHost, tmp_path: Path) -> None:
    images = loader(tmp_path)
    first = images.load(host.url("/img/photo.jpg"))
    second = images.load(host.url("/img/photo.jpg"))
    assert host.requests("/img/photo.jpg") == 1
    assert (first.cached, second.cached) == (False, True)
    assert second.image.tobytes() == first.image.tobytes()
    # another process (or the next run) reads the same cache
    assert loader(tmp_path).load(host.url("/img/photo.jpg")).cached
    assert host.requests("/img/photo.jpg") == 1


def test_a_damaged_cache_file_is_fetched_again(host: ImageHost, tmp_path: Path) -> None:
    images = loader(tmp_path)
    url = host.url("/img/chart.png")
    images.load(url)
    assert images.cache is not None
    images.cache.path_for(url).write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    assert not images.load(url).cached
    assert host.requests("/img/chart.png") == 2


def test_the_cache_drops_the_least_recently_used_beyond_its_limit(tmp_path: Path) -> None:
    clock = ManualClock(NOW)
    cache = ImageCache(tmp_path / "c", 3000, clock)
    for name in ("a", "b", "c"):
        cache.put(f"https://i.example/{name}", name.encode() * 1000)
        clock.advance(10)
    assert cache.get("https://i.example/a") == b"a" * 1000  # a is used again: b is oldest
    clock.advance(10)
    cache.put("https://i.example/d", b"d" * 1000)
    assert cache.get("https://i.example/b") is None
    assert all(cache.get(f"https://i.example/{n}") for n in "acd")
    assert cache.size() <= 3000
    cache.put("https://i.example/big", b"x" * 4000)  # over the whole limit: not kept
    assert cache.get("https://i.example/big") is None and cache.size() == 3000
    names = sorted(p.name for p in (tmp_path / "c").iterdir())
    assert all(len(n) == 64 + 4 and n.endswith(".img") for n in names)  # no URL in a name


def test_the_cache_lives_under_xdg_cache_home(tmp_path: Path) -> None:
    assert default_cache_dir() == Path(os.environ["XDG_CACHE_HOME"]) / "grandrounds" / "images"
