"""The opened post's images, below its text in the reading pane: one at a time, `i` for
the next. A caption always says which image it is and its alt text (inert text); a
sensitive post shows a placeholder first and its picture only at the next `i`.

Each request gets a new `generation`; an answer carrying an older one (the user moved to
another post, or pressed `i` again) is dropped, as the post list does with its pages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.text import Text
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Static

from aggregator.reader.feed import PostDetail
from aggregator.reader.images import Picture
from tui.images import Graphics, cell_size, picture_widget
from tui.sanitize import sanitize_line

PLACEHOLDER = "sensitive: press i again to show"
MAX_ROWS = 40  # a picture is never taller than this, nor than the pane


@dataclass(frozen=True, slots=True)
class Fetch:
    """Ask the loader for image `index` (its `url`), answering with `generation`."""

    generation: int
    index: int
    url: str
    box: int  # pixels on the largest side worth decoding for this pane


def fit(width: int, height: int, columns: int, rows: int,
        ratio: float = 2.0) -> tuple[int, int]:
    """Cells (columns, rows) for a width×height picture in at most columns×rows, keeping
    its shape on cells `ratio` times as tall as wide, never wider than one cell a pixel."""
    if width <= 0 or height <= 0:
        return 1, 1
    cols = max(1, min(columns, width, math.floor(ratio * rows * width / height)))
    return cols, max(1, min(rows, round(cols * height / width / ratio)))


class ImageView(Vertical):
    DEFAULT_CSS = """
    ImageView { height: auto; display: none; margin-top: 1; }
    ImageView > #image-caption { width: 1fr; height: auto; }
    ImageView > #image-placeholder {
        width: 40; max-width: 100%; height: 5; content-align: center middle;
        border: round $warning; color: $warning;
    }
    ImageView > .picture { height: auto; }
    """

    def __init__(self, graphics: Graphics = "halfcell", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.graphics = graphics
        self.generation = 0
        self.post_id: int | None = None
        self.urls: tuple[tuple[str, str], ...] = ()  # (url, alt text) of each image
        self.index = -1  # the image shown or asked for; -1: none yet
        self.hidden = False  # a sensitive post: its images only at the second `i`
        self.warned = False  # the placeholder is up (or was)
        self.picture: Picture | None = None

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static("", markup=False, id="image-caption")

    @property
    def caption(self) -> Static:
        return self.query_one("#image-caption", Static)

    def reset(self, detail: PostDetail | None) -> None:
        """A new post in the pane: forget the last one's images; nothing is fetched."""
        self.generation += 1
        self.post_id = detail.id if detail else None
        self.urls = tuple((m.url, m.alt_text) for m in (detail.media if detail else ())
                          if m.kind == "image" and m.url)
        self.index = -1
        self.hidden = bool(detail and detail.sensitive)
        self.warned = False
        self.picture = None
        self._clear()
        self.display = False

    @property
    def fresh(self) -> bool:
        """Nothing asked for yet on this post (`auto` starts here)."""
        return self.index == -1 and not self.warned

    def step(self) -> Fetch | str | None:
        """What `i` does next: None (no images), "placeholder" (a sensitive post's first
        `i`), or the next image to fetch."""
        if not self.urls:
            return None
        self.display = True
        if self.hidden and not self.warned:
            self.warned = True
            self._clear()
            self._say(0, "sensitive media", "warning")
            self.mount(Static(PLACEHOLDER, markup=False, id="image-placeholder"))
            return "placeholder"
        self.index = (self.index + 1) % len(self.urls)
        self.generation += 1
        self._clear()
        self._say(self.index, "loading…")
        return Fetch(self.generation, self.index, self.urls[self.index][0], self.box())

    def area(self) -> tuple[int, int]:
        """The cells a picture may take: the pane's width, and its height less the caption."""
        pane = self.parent
        rows = MAX_ROWS
        columns = self.content_region.width or 40
        if isinstance(pane, Widget) and pane.scrollable_content_region.height:
            rows = min(rows, max(4, pane.scrollable_content_region.height - 3))
            columns = self.content_region.width or pane.scrollable_content_region.width
        return columns, rows

    def box(self) -> int:
        """Pixels on the largest side the pane can show: two per cell down in half-blocks,
        a cell's pixel size with Kitty graphics or Sixel."""
        columns, rows = self.area()
        if self.graphics == "halfcell":
            return max(columns, 2 * rows)
        cell_width, cell_height = cell_size()
        return max(columns * cell_width, rows * cell_height)

    def show_picture(self, index: int, picture: Picture) -> None:
        self.picture = picture
        self._clear()
        more = " · i: next" if len(self.urls) > 1 else ""
        self._say(index, picture.describe() + (" (cached)" if picture.cached else "") + more)
        columns, rows = self.area()
        im = picture.image
        widget = picture_widget(self.graphics, im)
        widget.add_class("picture")
        cell_width, cell_height = cell_size()
        widget.styles.width, widget.styles.height = fit(
            im.width, im.height, columns, rows, cell_height / cell_width)
        self.mount(widget)

    def show_error(self, index: int, error: str) -> None:
        self._clear()
        self._say(index, sanitize_line(error, 300), "error")

    def _clear(self) -> None:
        for child in list(self.children):
            if child.id != "image-caption":
                child.remove()

    def _say(self, index: int, status: str, tone: str = "") -> None:
        alt = self.urls[index][1]
        t = Text(overflow="fold")
        t.append(f"Image {index + 1} of {len(self.urls)}", style="bold")
        style = {"error": "bold #ef4444", "warning": "bold #f97316"}.get(tone, "dim")
        t.append(f"  {status}", style=style)
        t.append("\nalt: ", style="bold")
        t.append(sanitize_line(alt, 1000) or "(no description)")
        self.caption.update(t)
