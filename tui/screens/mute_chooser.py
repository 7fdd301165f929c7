"""The `M` chooser: mute the selected post's author or one of its hashtags.

The author's handle, name and the hashtags are strangers' data: shown as sanitized
plain text, one line each, never as markup."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from aggregator.reader.feed import NETWORK_NAMES, PostDetail
from tui.sanitize import sanitize_line

TITLE = "Mute (Enter), Esc to cancel"
NOTE = "Muted posts are hidden, not deleted: rounds mutes list / remove"
MAX_TAGS = 12  # a post stuffed with hashtags still fits the screen
WIDTH = 64  # characters of a choice, at most


def choices(detail: PostDetail) -> list[tuple[str, str, Text]]:
    """(kind, value, label) of each thing the post offers to mute: its author, then its
    hashtags (the first of each spelling, case ignored)."""
    handle = sanitize_line(detail.author.handle, WIDTH).lstrip("@")
    name = sanitize_line(detail.author.name, WIDTH)
    label = Text("author ", style="dim", no_wrap=True, overflow="ellipsis", end="")
    label.append(f"@{handle}", style="bold")
    network = NETWORK_NAMES.get(detail.network, detail.network)
    label.append(f" ({name}, {network})" if name and name != handle else f" ({network})")
    out = [("author", str(detail.id), label)]
    seen: set[str] = set()
    for tag in detail.hashtags:
        shown = sanitize_line(tag, WIDTH).lstrip("#")
        if shown and shown.casefold() not in seen and len(seen) < MAX_TAGS:
            seen.add(shown.casefold())
            text = Text("hashtag ", style="dim", no_wrap=True, overflow="ellipsis", end="")
            text.append(f"#{shown}", style="bold")
            out.append(("tag", shown, text))
    return out


class MuteChooser(ModalScreen[tuple[str, str] | None]):
    """Answers ("author", post id) or ("tag", hashtag), or None when cancelled."""

    DEFAULT_CSS = """
    MuteChooser { align: center middle; }
    MuteChooser > Vertical {
        width: auto; min-width: 48; max-width: 100%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    MuteChooser OptionList { height: auto; max-height: 16; border: none; width: auto; }
    MuteChooser #mute-note { color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, detail: PostDetail) -> None:
        super().__init__()
        self.items = choices(detail)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(TITLE)
            yield OptionList(*(Option(label, id=str(i))
                               for i, (_, _, label) in enumerate(self.items)), id="mutes")
            yield Label(NOTE, id="mute-note", markup=False)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        kind, value, _ = self.items[int(event.option.id or 0)]
        self.dismiss((kind, value))

    def action_cancel(self) -> None:
        self.dismiss(None)
