"""Strangers' text is inert: markup shows literally, escapes never reach the terminal,
bidi and zero-width characters are gone, huge posts and words don't break the layout."""

from __future__ import annotations

from pathlib import Path

from aggregator.models import Author
from tests.tui.conftest import SIZE, MakeApp
from tests.tui.helpers import loaded, main, selected, settle, wait_for, wait_for_text
from tests.tui.screen_text import screen_text
from tests.tui.seed import Match, Seeder, post
from tui.sanitize import sanitize

MARKUP = "[@click=app.quit]x[/]"
OSC52 = "\x1b]52;c;SGVsbG8=\x07"
CLEAR = "\x1b[2J"
HOSTILE = f"{MARKUP} click me [b]bold?[/b] {OSC52}{CLEAR}evil\u202eright-to-left\u200bhidden"


def hostile_archive(path: Path) -> Seeder:
    s = Seeder(path)
    villain = Author("mastodon", "v@evil.example", "v@evil.example", f"[b]Villain[/] {CLEAR}",
                     bio=f"{OSC52}bio [link=https://evil.example]here[/link] \x1b]8;;https://x\x07")
    s.save("cardiology", [
        post(1, who=villain, minutes_ago=1, text=HOSTILE,
             links=(f"https://evil.example/{MARKUP}",)),
        post(2, minutes_ago=2, text="big " + "lorem ipsum dolor sit amet " * 4000),
        post(3, minutes_ago=3, text="w" * 5000),
    ], [[Match(f"topic-{MARKUP}", "keyword", MARKUP)], [], []])
    return s


def test_sanitize_strips_controls_and_keeps_markup_text() -> None:
    assert sanitize(HOSTILE) == f"{MARKUP} click me [b]bold?[/b] evilright-to-lefthidden"
    assert sanitize("a\x9b31mb\x9d8;;u\x07c\x00d\te") == "abcd    e"


async def test_markup_and_escapes_are_inert(make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app(hostile_archive(tmp_path / "evil.db"))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await wait_for_text(pilot, app, MARKUP, "[b]bold?[/b]", "[b]Villain[/]",
                            "[link=https://evil.example]here[/link]")
        await pilot.click("#pane", offset=(3, 5))  # a live [@click] would quit here
        await pilot.click("#posts", offset=(8, 1))  # the selected post: opens it
        # (Enter now would open its conversation: `T`)
        await wait_for(pilot, lambda: main(app).pane.is_maximized)
        await settle(pilot)
        assert app.is_running
        svg = app.export_screenshot()
        for bad in ("\x1b", "\u202e", "\u200b", "\x07"):
            assert bad not in svg and bad not in screen_text(app)
        await pilot.press("escape", "j", "enter")  # the 100 KB post
        await wait_for(pilot, lambda: "press o to open" in str(
            main(app).pane.query_one("#pane-body").render()))
        assert app.is_running
        await pilot.press("escape", "j")  # the 5,000-character word
        await wait_for(pilot, lambda: main(app).pane.detail is not None
                       and main(app).pane.detail.id == selected(app).id
                       and any("w" * 60 in line for line in screen_text(app).splitlines()))
        lines = screen_text(app).splitlines()
        assert len(lines) == SIZE[1] and all(len(line) <= SIZE[0] for line in lines)
        assert lines[0].startswith("All") or lines[0].startswith(" All")
        assert any("w" * 60 in line for line in lines)  # folded, not cut off or overflowing
