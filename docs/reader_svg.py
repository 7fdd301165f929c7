"""Regenerate docs/reader.svg, the README's picture of the reader: the reader on a fresh
demo archive at 120x36, the third post selected.

    .venv/bin/python docs/reader_svg.py

Run it after a change to the main screen (its footer keys, layout or colours). The demo's
sample times follow the clock, so the relative times in the picture read as they did.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from aggregator.cli.demo import demo_reader_app
from aggregator.clock import SystemClock
from aggregator.demo import build_demo, demo_server, demo_settings
from aggregator.storage.db import open_database
from aggregator.storage.repository import Repository

OUT = Path(__file__).parent / "reader.svg"
SIZE = (120, 36)
SELECTED = 2  # the third post: one with links and topics


async def shoot(app) -> str:  # type: ignore[no-untyped-def]
    async with app.run_test(size=SIZE) as pilot:
        main = app.main_screen
        for _ in range(2000):  # wait for the page and the post, never for a fixed time
            await pilot.pause(0.01)
            detail, row = main.pane.detail, main.posts.selected
            if row is not None and detail is not None and detail.id == row.id:
                if main.posts.cursor == SELECTED:
                    break
                await pilot.press("j")
        else:
            raise SystemExit("the reader did not show the demo's posts")
        await app.workers.wait_for_complete()
        await pilot.pause()
        return str(app.export_screenshot(title="rounds read"))


def main() -> None:
    clock = SystemClock()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        db = open_database(url)
        try:
            with demo_server(clock) as server:
                settings = demo_settings(url, server.base_url)
                repo = Repository(db, clock)
                build_demo(db, repo, settings, clock, server)
                app = demo_reader_app(db, repo, settings, clock)
                app.main_screen.poll_seconds = 0
                svg = asyncio.run(shoot(app))
        finally:
            db.dispose()
    OUT.write_text(svg, encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
