"""`l`: the opened post's links in full, where each really goes; Enter opens (http and
https only), y copies through OSC 52, Esc returns; strangers' links stay inert text."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.tui.conftest import SIZE, MakeApp, Opened
from tests.tui.helpers import loaded, main, selected, wait_for, wait_for_text
from tests.tui.seed import LINKS, with_links
from tui.links import inspect_link, post_links, visible_url
from tui.screens.links import LinksScreen

HOSTILE_SHOWN = "https://evil.example/[bold]x[/bold]%E2%80%AEelif%E2%80%8B%1B]52;c;SGVsbG8=%07"


@pytest.mark.parametrize(("raw", "host", "opens"), [
    ("https://doi.org/10.1000/x", "doi.org", True),
    ("HTTP://Example.ORG/a b", "example.org", True),
    ("https://www.bank.example@evil.example/login", "evil.example", True),
    ("https://evil.example\\@bank.example/", "bank.example", True),  # as a browser reads it
    ("https://аpple.example/", "xn--pple-43d.example", True),
    ("https://[::1]:8080/", "::1", True),
    ("javascript:alert(1)", "", False),
    ("JavaScript:alert(1)", "", False),
    ("java\tscript:alert(1)", "", False),
    ("file:///etc/passwd", "", False),
    ("data:text/html,<script>alert(1)</script>", "", False),
    ("mailto:someone@example.org", "", False),
    ("//evil.example/no-scheme", "evil.example", False),
    ("https:///no-host", "", False),
    ("https://bad\u200bhost.example/", "bad%e2%80%8bhost.example", False),
    ("https://evil.example:99999/", "", False),
    ("https://[::1/", "", False),
])
def test_where_a_link_goes_and_whether_it_opens(raw: str, host: str, opens: bool) -> None:
    link = inspect_link(raw)
    assert (link.host, link.can_open) == (host, opens), link
    if not opens:
        assert link.problem.startswith("not opened")


def test_hidden_and_acting_characters_are_shown_percent_encoded() -> None:
    assert visible_url(LINKS[2]) == HOSTILE_SHOWN
    assert visible_url("https://e.example/a b\nc\x9b31m") == "https://e.example/a%20b%0Ac%C2%9B31m"
    assert inspect_link("https://www.bank.example@evil.example/").warning
    # each link once, in order
    assert [link.url for link in post_links(["https://a.example", " https://a.example ",
                                             "https://b.example"])] == [
        "https://a.example", "https://b.example"]


async def test_l_lists_full_links_enter_opens_y_copies_esc_returns(
        make_app: MakeApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened = Opened()
    app = make_app(with_links(tmp_path / "links.db"), opener=opened)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.press("enter", "l")
        await wait_for(pilot, lambda: isinstance(app.screen, LinksScreen))
        shown = await wait_for_text(
            pilot, app, "Links in the post by Dr Doc 1  (6)",
            # the full address, not the post's shortened "nejm.org/doi/full/…"
            "https://www.nejm.org/doi/full/10.1056/NEJMoa2026001?utm_source=mastodon"
            "&utm_medium=social",
            HOSTILE_SHOWN,  # markup literal, hidden characters visible
            "evil.example  ⚠ the part before @ is not where it goes",
            "xn--pple-43d.example", "not opened: a javascript: link")
        for bad in ("\x1b", "\u202e", "\u200b", "\x07"):
            assert bad not in shown and bad not in app.export_screenshot()

        await pilot.press("enter")  # link 1
        await wait_for(pilot, lambda: opened == ["https://doi.org/10.1000/hf.2026"],
                       what=lambda: f"opened {opened}")
        await wait_for_text(pilot, app, "opened link 1 (doi.org) in the web browser")

        await pilot.press("end", "enter")  # javascript: is refused
        await wait_for_text(pilot, app, "link 6 not opened: a javascript: link; only http "
                                        "and https links are opened")
        assert opened == ["https://doi.org/10.1000/hf.2026"]

        writes: list[str] = []
        monkeypatch.setattr(app._driver, "write", writes.append)  # Textual's terminal output
        await pilot.press("home", "down", "down", "y")  # the hostile link
        await wait_for_text(pilot, app, "copied link 3, if your terminal allows OSC 52")
        payload = base64.b64encode(HOSTILE_SHOWN.encode()).decode()
        assert f"\x1b]52;c;{payload}\x07" in writes  # the escaped form: inert when pasted

        await pilot.press("enter")
        await wait_for(pilot, lambda: opened[-1] == HOSTILE_SHOWN)

        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is main(app))
        await pilot.press("o")  # o still opens the post itself
        await wait_for(pilot, lambda: opened[-1] == "https://med.example/@x/1",
                       what=lambda: f"opened {opened}")


async def test_a_post_without_links_says_so(make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app(with_links(tmp_path / "links.db"))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("j")
        await wait_for(pilot, lambda: main(app).pane.detail is not None
                       and main(app).pane.detail.id == selected(app).id)
        await pilot.press("l")
        await wait_for(pilot, lambda: "this post has no links; o opens the post itself"
                       in main(app).status.activity, what=lambda: main(app).status.activity)
        assert app.screen is main(app)


async def test_l_before_the_post_has_loaded_fetches_it(make_app: MakeApp,
                                                       tmp_path: Path) -> None:
    app = make_app(with_links(tmp_path / "links.db"))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        main(app).pane.show(None, app.reader.now(), app.reader.topic_name)  # as while loading
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LinksScreen))
        await wait_for_text(pilot, app, "https://doi.org/10.1000/hf.2026")


async def test_no_browser_is_said_in_the_links_screen(make_app: MakeApp,
                                                      tmp_path: Path) -> None:
    def no_browser(url: str) -> bool:
        return False  # what webbrowser.open answers when it finds no browser

    app = make_app(with_links(tmp_path / "links.db"), opener=no_browser)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LinksScreen))
        await pilot.press("enter")
        await wait_for_text(pilot, app, "link 1: no web browser could be opened; y copies it")
