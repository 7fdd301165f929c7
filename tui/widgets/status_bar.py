"""One line at the bottom: where you are, and what collection is doing."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.sanitize import sanitize_line


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar {
        height: 1; background: $panel; color: $text; padding: 0 1;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.place = ""
        self.activity = ""
        self.error = False

    def show_place(self, text: str) -> None:
        self.place = text
        self._draw()

    def show_activity(self, text: str, *, error: bool = False) -> None:
        self.activity = sanitize_line(text, 200)
        self.error = error
        self._draw()

    def _draw(self) -> None:
        line = Text(self.place, no_wrap=True, overflow="ellipsis")
        if self.activity:
            line.append("  │  ")
            line.append(self.activity, style="bold red" if self.error else "italic")
        self.update(line)
