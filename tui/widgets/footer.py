"""The key footer, with help and quit first.

Textual's Footer lists the focused widget's keys first and the app's last, so at 80
columns `? Help` fell off the end and `q Quit` was cut to "q Q". The two keys a new user
needs most come first here; the rest follow in Textual's order, then the keys in LAST,
and the end is cut as needed.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

FIRST = ("help", "quit")  # actions, in the order shown
# Keys a reader uses least: last, so at 80 columns these are the ones cut (help lists them).
LAST = ("mute", "toggle_star")


def _rank(widget: Widget) -> int:
    if isinstance(widget, FooterKey) and widget.action in FIRST:
        return FIRST.index(widget.action)
    if isinstance(widget, FooterKey) and widget.action in LAST:
        return len(FIRST) + 1 + LAST.index(widget.action)
    return len(FIRST)


class KeysFooter(Footer):
    def compose(self) -> ComposeResult:
        yield from sorted(super().compose(), key=_rank)  # stable: the rest keep their order
