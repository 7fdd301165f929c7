"""Screenshots of the main screen, the reading pane and the help screen, compared with
checked-in SVGs. Regenerate after an intended change with ROUNDS_UPDATE_SNAPSHOTS=1."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from tests.tui.conftest import SIZE, MakeApp
from tests.tui.helpers import settle
from tui.app import ReaderApp

SNAPSHOTS = Path(__file__).parent / "snapshots"
# Read at import: the suite's autouse fixture clears ROUNDS_* variables for each test.
UPDATE = os.environ.get("ROUNDS_UPDATE_SNAPSHOTS") == "1"


def compare(app: ReaderApp, name: str) -> None:
    svg = app.export_screenshot(title="grandrounds")
    golden = SNAPSHOTS / f"{name}.svg"
    if UPDATE or not golden.exists():
        SNAPSHOTS.mkdir(exist_ok=True)
        golden.write_text(svg, encoding="utf-8")
        if not UPDATE:
            raise AssertionError(f"{golden} did not exist; written, check it and re-run")
        return
    expected = golden.read_text(encoding="utf-8")
    if svg != expected:
        diff = "".join(list(difflib.unified_diff(
            expected.splitlines(True), svg.splitlines(True), "golden", "now"))[:60])
        raise AssertionError(f"{name} differs from {golden} "
                             f"(ROUNDS_UPDATE_SNAPSHOTS=1 to accept):\n{diff}")


async def test_main_screen(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j")
        await settle(pilot)
        compare(app, "main_screen")


async def test_reading_pane(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        compare(app, "reading_pane")


async def test_help_screen(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        compare(app, "help_screen")


async def test_small_terminal(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        compare(app, "main_80x24")
