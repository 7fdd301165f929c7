"""Pilot helpers: wait until the reader shows what a test needs.

Under CPU load, workers, layout and repaints lag behind by an unknown time, so a test
never waits for time: it waits for the condition its assertion needs (`wait_for`,
`wait_for_text`), in small steps, and fails with a message that says what it waited for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen

from aggregator.reader.feed import PostRow
from tests.tui.screen_text import screen_text
from tui.app import ReaderApp
from tui.screens.main import MainScreen
from tui.widgets.sidebar import Sidebar

TIMEOUT = 60.0  # seconds; only a safety net for a test that would otherwise hang
STEP = 0.02


async def settle(pilot: Pilot[None], rounds: int = 4) -> None:
    """Let the workers started so far answer (a start, not a guarantee: assert with
    `wait_for` what must have happened)."""
    for _ in range(rounds):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def wait_for(pilot: Pilot[None], condition: Callable[[], object], *,
                   timeout: float = TIMEOUT, what: str | Callable[[], str] = "") -> None:
    """Pause in small steps until `condition()` is true; fail after `timeout` seconds
    with `what` (a text, or a function giving one: the state that was seen)."""
    deadline = time.monotonic() + timeout
    await pilot.pause()
    while not condition():
        if time.monotonic() > deadline:
            seen = what() if callable(what) else what
            raise AssertionError(f"waited {timeout:g} s, still not true: {seen or condition}")
        await pilot.pause(STEP)


async def wait_for_text(pilot: Pilot[None], app: App[object], *texts: str,
                        timeout: float = TIMEOUT) -> str:
    """Wait until every text is on the screen; returns the screen's text."""
    def missing() -> list[str]:
        shown = screen_text(app)
        return [t for t in texts if t not in shown]

    await wait_for(pilot, lambda: not missing(), timeout=timeout,
                   what=lambda: f"not on screen: {missing()!r}\n{screen_text(app)}")
    return screen_text(app)


async def loaded(pilot: Pilot[None], app: ReaderApp) -> list[PostRow]:
    """Wait until the current view's first page is in and a post selected (if any)."""
    posts = app.main_screen.posts

    def ready() -> bool:
        w = posts.window
        return app.main_screen._ready and bool(w.pages or w.exhausted) and (
            w.total == 0 or (posts.selected is not None
                             and app.main_screen.pane.detail is not None))

    await wait_for(pilot, ready, what="the first page and the selected post")
    await settle(pilot, 1)
    return listed(app)


S = TypeVar("S", bound=Screen[Any])


async def open_from_sidebar(pilot: Pilot[None], app: ReaderApp, view_id: str,
                            kind: type[S]) -> S:
    """Enter on a sidebar entry that is a screen of its own (Catch-up, Trends, Papers)."""
    await loaded(pilot, app)
    sidebar = main(app).query_one(Sidebar)
    sidebar.focus()
    sidebar.highlighted = sidebar.get_option_index(view_id)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, kind))
    screen = app.screen
    assert isinstance(screen, kind)
    return screen


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
