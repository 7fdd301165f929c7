"""A loopback image host: PNG, JPEG, WebP and GIF made with Pillow at start, a JPEG cut in
half, an HTML error page served with status 200, and a 50 MB file streamed in 1 MB chunks
(never held in memory) with and without a Content-Length, counting what it really sent.

Like a CDN, it answers a path it does not know with 404 and sends images with their
real content types (and the WebP as `application/octet-stream`, as some object stores do:
the fetcher goes by the bytes, not the header)."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator

from PIL import Image, ImageDraw

from tests.fakes.server import LoopbackServer, Reply, Request

HUGE = 50 * 1024 * 1024
CHUNK = 1024 * 1024


def quadrants(width: int, height: int) -> Image.Image:
    """Four flat colours and a white diagonal: recognisable in half-blocks, and the same
    on every machine (no gradients for a resampler to round differently)."""
    im = Image.new("RGB", (width, height), (220, 38, 38))
    draw = ImageDraw.Draw(im)
    draw.rectangle((width // 2, 0, width, height // 2), fill=(37, 99, 235))
    draw.rectangle((0, height // 2, width // 2, height), fill=(22, 163, 74))
    draw.rectangle((width // 2, height // 2, width, height), fill=(234, 179, 8))
    return im


def encode(im: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **options)
    return out.getvalue()


def photo(width: int = 1200, height: int = 800) -> bytes:
    """A 1200×800 JPEG with detail, as a phone or a journal figure would send."""
    im = quadrants(width, height)
    draw = ImageDraw.Draw(im)
    for x in range(0, width, 40):
        draw.line((x, 0, width - x, height), fill=(255, 255, 255), width=3)
    return encode(im, "JPEG", quality=85)


def make_images() -> dict[str, tuple[bytes, str]]:
    """path -> (body, content type)."""
    square = quadrants(64, 32)
    jpeg = photo()
    frames = [quadrants(48, 48), Image.new("RGB", (48, 48), (0, 0, 0))]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    transparent = Image.new("RGBA", (40, 20), (0, 0, 0, 0))
    ImageDraw.Draw(transparent).ellipse((0, 0, 39, 19), fill=(250, 250, 250, 255))
    return {
        "/img/chart.png": (encode(square, "PNG"), "image/png"),
        "/img/photo.jpg": (jpeg, "image/jpeg"),
        "/img/figure.webp": (encode(square, "WEBP", lossless=True), "application/octet-stream"),
        "/img/anim.gif": (gif.getvalue(), "image/gif"),
        "/img/logo.png": (encode(transparent, "PNG"), "image/png"),
        "/img/truncated.jpg": (jpeg[: len(jpeg) // 2], "image/jpeg"),
        "/img/error.png": (b"<!doctype html><title>Rate limited</title>", "text/html"),
        "/img/bomb.png": (encode(Image.new("1", (10_000, 5_000)), "PNG"), "image/png"),
    }


class ImageHost:
    def __init__(self) -> None:
        self.images = make_images()
        self.sent_huge = 0  # bytes of the 50 MB file actually written
        self._lock = threading.Lock()
        self.server = LoopbackServer(self.handle)

    def url(self, path: str) -> str:
        return self.server.base_url + path

    def requests(self, path: str = "") -> int:
        return sum(1 for r in self.server.log if path in r.path)

    def _huge(self) -> Iterator[bytes]:
        block = b"\xff\xd8\xff\xe0" + bytes(CHUNK - 4)  # starts like a JPEG
        for _ in range(HUGE // CHUNK):
            with self._lock:
                self.sent_huge += CHUNK
            yield block
            block = bytes(CHUNK)

    def handle(self, req: Request) -> Reply:
        if req.path == "/img/huge.jpg":
            return Reply(200, headers={"Content-Type": "image/jpeg"}, stream=self._huge,
                         length=HUGE)
        if req.path == "/img/huge-unsized.jpg":  # no Content-Length: read until the cap
            return Reply(200, headers={"Content-Type": "image/jpeg"}, stream=self._huge)
        if req.path in self.images:
            body, kind = self.images[req.path]
            return Reply(200, body, {"Content-Type": kind})
        return Reply(404, b"not found", {"Content-Type": "text/plain"})
