"""The `t` topic picker: choose a topic view.

Unlike the sidebar, the picker is as wide as its longest topic name needs (up to the
screen's width), so whole names show whenever the terminal has room for them."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from aggregator.reader.feed import View
from tui.sanitize import sanitize_line
from tui.widgets.sidebar import prompt

TITLE = "Pick a topic (Enter), Esc to cancel"
NAME_LIMIT = 60  # as the sidebar keeps of a label


class TopicPicker(ModalScreen[str | None]):
    DEFAULT_CSS = """
    TopicPicker { align: center middle; }
    TopicPicker > Vertical {
        width: 40; max-width: 100%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface;
    }
    TopicPicker OptionList { height: auto; max-height: 20; border: none; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, topics: list[View], counts: dict[str, int], current: str) -> None:
        super().__init__()
        self.topics = topics
        self.counts = counts
        self.current = current

    def compose(self) -> ComposeResult:
        names = max((len(sanitize_line(v.label, NAME_LIMIT)) for v in self.topics), default=0)
        with Vertical() as box:
            # name, count (5), the option list's padding (2), the border (2), scrollbar (2)
            box.styles.width = max(len(TITLE) + 4, names + 11)
            yield Label(TITLE)
            options = [Option(prompt(v, self.counts.get(v.id), names), id=v.id)
                       for v in self.topics]
            yield OptionList(*options, id="topics")

    def on_mount(self) -> None:
        topics = self.query_one(OptionList)
        ids = [v.id for v in self.topics]
        if self.current in ids:
            topics.highlighted = ids.index(self.current)
        elif ids:
            topics.highlighted = 0
        topics.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
