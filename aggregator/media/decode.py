"""Decode a downloaded image with Pillow into a small RGB picture the reader can draw.

Only PNG, JPEG, GIF and WebP are opened (Pillow is not asked to guess among its other
formats); the pixel count is checked from the header before anything is decoded, so a
small file announcing a huge image is refused without the memory; the first frame of an
animation is shown; transparency is laid over a dark background; the result is shrunk to
fit `box` pixels (a JPEG is decoded at a reduced scale directly, which is most of the speed).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from aggregator.errors import MediaError
from aggregator.textutil import size_text

BOX = 1280  # the largest side of a decoded picture: more than a terminal shows
MAX_PIXELS = 40_000_000  # announced size refused beyond this (a decompression bomb)
FORMATS = ("PNG", "JPEG", "GIF", "WEBP")
BACKGROUND = (24, 24, 27)


@dataclass(frozen=True, slots=True)
class Picture:
    """A decoded image: `image` (RGB, at most BOX on its largest side) and what it was."""

    image: Image.Image
    width: int  # of the original
    height: int
    format: str
    size: int  # bytes downloaded (or read from the cache)
    cached: bool = False

    def describe(self) -> str:
        return f"{self.format} {self.width}×{self.height}, {size_text(self.size)}"


def decode(data: bytes, *, box: int = BOX, max_pixels: int = MAX_PIXELS,
           cached: bool = False) -> Picture:
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as im:
            width, height = im.size
            if width * height > max_pixels:
                raise MediaError(f"image not shown: {width}×{height} pixels is too large to "
                                 "decode")
            fmt = im.format or "image"
            if fmt == "JPEG":
                im.draft("RGB", (box, box))  # decode at 1/2, 1/4 or 1/8 scale
            im.seek(0)
            im.load()
            picture = _flatten(im)
    except MediaError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError,
            Image.DecompressionBombError) as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise MediaError(f"could not decode the image ({reason})") from None
    picture.thumbnail((box, box))
    return Picture(picture, width, height, "WebP" if fmt == "WEBP" else fmt, len(data), cached)


def _flatten(im: Image.Image) -> Image.Image:
    """RGB, with any transparency laid over the background colour."""
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        ground = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
        ground.alpha_composite(rgba)
        return ground.convert("RGB")
    return im.convert("RGB")
