"""Pilot helpers: wait until the reader's workers have answered."""

from __future__ import annotations

from textual.pilot import Pilot

from aggregator.storage.queries import PostRow
from tui.app import ReaderApp
from tui.screens.main import MainScreen


async def settle(pilot: Pilot[None], rounds: int = 4) -> None:
    for _ in range(rounds):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def main(app: ReaderApp) -> MainScreen:
    return app.main_screen


def selected(app: ReaderApp) -> PostRow:
    row = app.main_screen.posts.selected
    assert row is not None
    return row


def listed(app: ReaderApp) -> list[PostRow]:
    w = app.main_screen.posts.window
    rows = [w.row(i) for i in range(w.total)]
    return [r for r in rows if r is not None]
