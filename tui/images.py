"""Which picture widget the reader draws images with: Kitty graphics (TGP), Sixel, or
coloured Unicode half-blocks, from `textual-image`.

textual-image asks the terminal what it supports when it is first imported, by writing
queries to the terminal and reading the answers from stdin. That only works before Textual
starts (Textual then owns stdin), so `rounds read` calls `detect_graphics()` before it runs
the app, and only when images are on. Tests and the demo draw half-blocks: the same on
every machine, which is what golden snapshots need.
"""

from __future__ import annotations

from typing import Literal, cast

from textual.widget import Widget

Graphics = Literal["halfcell", "tgp", "sixel"]


def detect_graphics() -> Graphics:
    """Ask the terminal (before the app runs): Sixel, Kitty's TGP, else half-blocks."""
    from textual_image import renderable
    from textual_image.widget import Image  # noqa: F401  (fills the cell-size cache now)

    if renderable.Image is renderable.SixelImage:
        return "sixel"
    if renderable.Image is renderable.TGPImage:
        return "tgp"
    return "halfcell"


def picture_widget(graphics: Graphics, image: object) -> Widget:
    """A widget drawing `image` (a PIL image) the chosen way."""
    from textual_image import widget as w

    kind = {"tgp": w.TGPImage, "sixel": w.SixelImage}.get(graphics, w.HalfcellImage)
    return cast(Widget, kind(image))


def cell_size() -> tuple[int, int]:
    """A terminal cell in pixels (width, height), as textual-image measured it before
    the app started (10×20 where the terminal did not say)."""
    from textual_image._terminal import get_cell_size

    size = get_cell_size()
    return (size.width or 10, size.height or 20)
