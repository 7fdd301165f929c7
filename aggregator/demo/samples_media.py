"""The demo's image host: a picture for every image the sample posts carry, drawn here.

The sample posts' images live on fictional hosts (``journal.example``, ...), so the demo
server answers ``GET /media?u=URL`` with a PNG drawn for that URL (a small bar chart, the
same picture for the same URL on every run), and `DemoImageLoader` asks it instead of the
fictional host. The reader then goes through the real fetcher, size checks and decoder, as
with any image, offline.
"""

from __future__ import annotations

import hashlib
import io
from datetime import datetime
from urllib.parse import urlencode

from aggregator.demo.server import Answer
from aggregator.media.decode import BOX, Picture
from aggregator.media.fetch import ImageFetcher
from aggregator.reader.images import CachedImageLoader

PATH = "/media"
WIDTH, HEIGHT = 480, 300
_COLOURS = ((86, 58, 204), (10, 111, 216), (242, 163, 58), (46, 160, 67), (200, 60, 60))


def draw(url: str) -> bytes:
    """A bar chart whose bars and colours come from the URL's hash, as PNG."""
    from PIL import Image, ImageDraw  # the demo server only draws when an image is asked for

    seed = hashlib.sha256(url.encode()).digest()
    image = Image.new("RGB", (WIDTH, HEIGHT), (250, 250, 247))
    pen = ImageDraw.Draw(image)
    pen.line([(40, 20), (40, HEIGHT - 30), (WIDTH - 20, HEIGHT - 30)], fill=(60, 60, 60),
             width=3)
    bars = 4 + seed[0] % 4
    step = (WIDTH - 80) // bars
    for i in range(bars):
        top = 40 + seed[i + 1] % (HEIGHT - 110)
        colour = _COLOURS[(seed[10] + i) % len(_COLOURS)]
        pen.rectangle([52 + i * step, top, 40 + (i + 1) * step - 8, HEIGHT - 32], fill=colour)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


class MediaSamples:
    """``GET /media?u=URL``: the picture for URL (anonymous, like an image host)."""

    requires_token = False

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._drawn: dict[str, bytes] = {}

    def handles(self, path: str) -> bool:
        return path == PATH

    def answer(self, path: str, query: dict[str, str], base_url: str) -> Answer:
        url = query.get("u", "")
        if not url.startswith("https://"):
            return Answer(404, {"error": "Record not found"})
        if url not in self._drawn:
            self._drawn[url] = draw(url)
        return Answer(200, self._drawn[url], {"Content-Type": "image/png",
                                              "Cache-Control": "max-age=86400"})

    def publish_later(self) -> int:
        return 0


class DemoImageLoader(CachedImageLoader):
    """A `CachedImageLoader` that asks the demo server for the samples' fictional images
    (no disk cache: the demo leaves nothing behind)."""

    def __init__(self, base_url: str, fetcher: ImageFetcher) -> None:
        super().__init__(fetcher, None)
        self.base_url = base_url

    def load(self, url: str, box: int = BOX) -> Picture:
        return super().load(f"{self.base_url}{PATH}?{urlencode({'u': url})}", box)
