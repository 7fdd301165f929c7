"""What the reader needs to show a post's images: the `ImageLoader` protocol and its
implementation over the fetcher, the on-disk cache and the decoder (`aggregator.media`).

The reader is handed a loader by the composition root (`rounds read`) and calls `load`
from a thread worker: it may block on the network and on decoding. None means images are
off (`[reader] images = "off"`): the reader then never asks for one.
"""

from __future__ import annotations

import logging
from typing import Protocol

from aggregator.errors import MediaError
from aggregator.media.cache import ImageCache
from aggregator.media.decode import BOX, Picture, decode
from aggregator.media.fetch import ImageFetcher

__all__ = ["CachedImageLoader", "ImageLoader", "Picture"]

logger = logging.getLogger(__name__)


class ImageLoader(Protocol):
    auto: bool  # load the images of a post as it is opened, not only on `i`

    def load(self, url: str, box: int = BOX) -> Picture:
        """The decoded image at `url`, shrunk to fit `box` pixels (what the screen can
        show: drawing fewer pixels keeps the UI thread quick). Raises MediaError (one
        line) when it cannot be."""
        ...


class CachedImageLoader:
    def __init__(self, fetcher: ImageFetcher, cache: ImageCache | None, *,
                 auto: bool = False) -> None:
        self.fetcher = fetcher
        self.cache = cache
        self.auto = auto

    def load(self, url: str, box: int = BOX) -> Picture:
        box = max(16, min(box, BOX))
        data = self.cache.get(url) if self.cache is not None else None
        if data is not None:
            try:
                return decode(data, box=box, cached=True)
            except MediaError:  # a damaged cache file: forget it and fetch again
                logger.warning("image cache: %s did not decode; fetching it again", url)
                self.cache.discard(url)  # type: ignore[union-attr]
        data = self.fetcher.download(url)
        picture = decode(data, box=box)  # only what decodes is cached
        if self.cache is not None:
            self.cache.put(url, data)
        return picture
