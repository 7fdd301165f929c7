"""What the Catch-up and Papers screens share: a title line, one tree (a row per group or
work, its posts below), a status line and the keys; `say` writes the status line, `top_node`
finds the top-level row the cursor is in.

Subclasses set NAME (the widgets' ids: NAME-head, NAME-tree, NAME-status), LOADING (the
title line until the first answer) and HINT (the status line's first words).
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from tui.widgets.footer import KeysFooter

R = TypeVar("R")


class TreeScreen(Screen[R]):
    NAME: ClassVar[str]
    LOADING: ClassVar[str]
    HINT: ClassVar[str]
    DEFAULT_CSS = """
    TreeScreen .tree-head { height: auto; padding: 0 1; }
    TreeScreen Tree { height: 1fr; padding: 0 1; overflow-x: hidden; }
    TreeScreen .tree-status { height: 1; padding: 0 1; color: $text-muted; }
    TreeScreen .tree-status.error { color: $error; }
    """

    def compose(self) -> ComposeResult:
        yield Static(Text(self.LOADING, style="bold"), id=f"{self.NAME}-head",
                     classes="tree-head", markup=False)
        tree: Tree[str] = Tree(self.NAME, id=f"{self.NAME}-tree")
        tree.show_root = False
        tree.auto_expand = True  # Enter opens a row (and posts NodeExpanded)
        yield tree
        yield Static(Text(self.HINT), id=f"{self.NAME}-status", classes="tree-status",
                     markup=False)
        yield KeysFooter(compact=True, show_command_palette=False)

    @property
    def rows(self) -> Tree[str]:
        return self.query_one(f"#{self.NAME}-tree", Tree)

    def on_mount(self) -> None:
        self.rows.focus()
        self.reload()

    def reload(self) -> None:
        """Load the rows (in a worker); called once mounted."""

    def set_head(self, text: Text) -> None:
        self.query_one(f"#{self.NAME}-head", Static).update(text)

    def say(self, text: str, *, error: bool = False) -> None:
        status = self.query_one(f"#{self.NAME}-status", Static)
        status.update(Text(text))
        status.set_class(error, "error")

    def top_node(self) -> TreeNode[str] | None:
        """The top-level row the cursor is on or inside."""
        node = self.rows.cursor_node
        while node is not None and node.parent is not None and node.parent is not self.rows.root:
            node = node.parent
        return node
