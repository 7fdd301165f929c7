"""Hostile content from strangers: stored and exported faithfully, inert on a terminal.

The fakes serve posts, names and error messages carrying terminal escape sequences (CSI,
OSC 52 clipboard writes, OSC 8 links, 8-bit C1), Rich/Textual markup, bidi overrides,
zero-width characters, a 100 KB post, HTML with <script>/<style>, and thousands of
hashtags. `rounds collect`, `rounds sources` and `rounds export` run as a user runs them
(subprocesses, -v logging on stderr).

CSV export is data for spreadsheets and scripts: it carries the text exactly as
received (escape bytes included) and is meant for a file (`-o`), not a terminal.
JSON Lines export escapes every control character (`ensure_ascii`).
"""

from __future__ import annotations

import asyncio
import csv
import html
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.bluesky import SYN_LIST, AllNetworks, FakeBluesky, xrpc_error
from tests.fakes.mastodon import TOKEN as MASTODON_TOKEN
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.server import LoopbackServer, Reply
from tests.fakes.twitter import TOKEN as X_TOKEN
from tests.fakes.twitter import FakeX, problem

CSI = "\x1b[2J\x1b[31m"
OSC52 = "\x1b]52;c;ZXZpbCBjbGlwYm9hcmQ=\x07"
OSC8 = "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\"
C1 = "\x9b2J\x9d0;title\x9c"
MARKUP = "[bold red]loud[/bold red] [@click=app.quit]quit[/] [link=https://evil.example]x[/link]"
BIDI = "\u202etxt.exe"
ZERO_WIDTH = "zero\u200bwidth\u200d\ufeff"
HOSTILE = f"Hostile {CSI} {OSC52} {OSC8} {C1} {MARKUP} {BIDI} {ZERO_WIDTH} end"
HOSTILE_NAME = f"Dr {CSI}Evil{OSC52} [bold]{BIDI}"
LIST_ID = "666"
# What must never reach a terminal raw.
FORBIDDEN = ("\x1b", "\x9b", "\x9d", "\x9c", "\x07", "\u202e", "\u200b", "\ufeff")

REPORT_NETWORK = "all"  # for the `make reliability` table


def assert_inert(text: str, what: str) -> None:
    found = [repr(c) for c in FORBIDDEN if c in text]
    assert not found, f"{what} carries {found}"


@dataclass
class Hostile:
    cfg: Path
    mastodon: FakeMastodon
    x: FakeX
    sky: FakeBluesky


def mastodon_statuses(fake: FakeMastodon) -> list[dict]:
    evil = fake.make_status(content=(
        f"<p>{html.escape(HOSTILE, quote=False)}</p><script>alert('pwned')</script>"
        "<style>p { color: red }</style><p>after</p>"))
    evil["account"] = {**evil["account"], "display_name": HOSTILE_NAME,
                       "note": f"<p>{html.escape(HOSTILE)}</p>"}
    evil["spoiler_text"] = f"CW {CSI}{BIDI}"
    big = fake.make_status(content="<p>" + "longword " * 12_000 + "</p>")  # ~108 KB
    tags = [f"tag{i}" for i in range(3000)]
    many = fake.make_status(content="<p>" + " ".join(
        f'<a href="https://example.social/tags/{t}" class="mention hashtag">#<span>{t}</span></a>'
        for t in tags) + "</p>")
    many["tags"] = [{"name": t, "url": f"https://example.social/tags/{t}"} for t in tags]
    return [evil, big, many]


def bluesky_posts(fake: FakeBluesky) -> list[dict]:
    """Hostile text and name, facets pointing anywhere (past the end, negative, into the
    middle of a character, overlapping, not numbers), a 100 KB text, 2000 tags."""
    size = len(HOSTILE.encode())
    facets = [{"index": {"byteStart": a, "byteEnd": b}, "features": [
        {"$type": "app.bsky.richtext.facet#link", "uri": f"https://evil.example/{OSC52}"},
        {"$type": "app.bsky.richtext.facet#mention", "did": f"did:plc:{CSI}"},
        {"$type": "app.bsky.richtext.facet#tag", "tag": f"Med{BIDI}Sky"}]}
        for a, b in ((0, size * 9), (-4, 3), (9, 10), (2, size - 1), ("0", None))]
    evil = fake.make_post(HOSTILE, facets=facets, handle="evil.example.org")
    evil["author"]["displayName"] = HOSTILE_NAME
    big = fake.make_post("longword " * 12_000)
    many = fake.make_post("tags")
    many["record"]["tags"] = [f"t{i}" for i in range(2000)]
    return [evil, big, many]


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[Hostile]:
    mastodon, x, sky = FakeMastodon(), FakeX(), FakeBluesky()
    sky.add_items(f"list:{SYN_LIST}", [{"post": p} for p in bluesky_posts(sky)])
    x.users[x.user_by_name("snowman")["id"]]["name"] = HOSTILE_NAME
    mastodon.add_statuses("tag:hostile", mastodon_statuses(mastodon))
    x.add_tweets(f"list:{LIST_ID}", [
        x.make_tweet("snowman", f"{HOSTILE} #MedTwitter"),
        x.make_tweet("snowman", "long one", note_text="note " * 21_000),
        x.make_tweet("snowman", " ".join(f"#h{i}" for i in range(2000))),
    ])
    server = LoopbackServer(AllNetworks(mastodon, x, sky)).start()
    # errors that echo server text: a Mastodon list and an X list that answer with it
    server.faults.arm(Reply.json({"error": f"Nope {HOSTILE}"}, 404), "/timelines/list/", 99)
    server.faults.arm(problem(403, f"Forbidden {OSC52}", f"Denied {HOSTILE}"), "/2/lists/9/", 99)
    server.faults.arm(xrpc_error(400, f"Invalid{CSI}", f"Refused {HOSTILE}"), "getFeed", 99)
    cfg = tmp_path / "rounds.toml"
    cfg.write_text(f"""
[database]
url = "sqlite:///{tmp_path / 'rounds.db'}"
[accounts.med]
network = "mastodon"
base_url = "{server.base_url}"
token_env = "ROUNDS_MED_TOKEN"
[accounts.x]
network = "twitter"
base_url = "{server.base_url}"
bearer_token_env = "ROUNDS_X_BEARER"
[accounts.sky]
network = "bluesky"
base_url = "{server.base_url}"
[[sources]]
name = "tag"
account = "med"
hashtag = "hostile"
[[sources]]
name = "xlist"
account = "x"
list = "{LIST_ID}"
[[sources]]
name = "refused-list"
account = "med"
list = "12345"
[[sources]]
name = "refused-xlist"
account = "x"
list = "9"
[[sources]]
name = "skylist"
account = "sky"
list = "{SYN_LIST}"
[[sources]]
name = "refused-skyfeed"
account = "sky"
feed = "at://did:plc:evil/app.bsky.feed.generator/evil"
""")
    cfg.chmod(0o600)
    yield Hostile(cfg, mastodon, x, sky)
    server.stop()


def rounds(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ROUNDS_MED_TOKEN": MASTODON_TOKEN, "ROUNDS_X_BEARER": X_TOKEN,
           "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "aggregator.cli", "-v", "--config", str(cfg),
                           *args], env=env, capture_output=True, text=True, timeout=120,
                          encoding="utf-8", errors="surrogateescape")


def by_author_text(records: list[dict], needle: str) -> dict:
    found = [r for r in records if needle in r["text"]]
    assert found, needle
    return found[0]


def test_hostile_content_is_kept_exported_and_inert(hostile: Hostile) -> None:
    """Hostile posts, names and error texts through collect, sources and export"""
    done = rounds(hostile.cfg, "collect")
    assert done.returncode == 1, done.stderr  # the two refusing sources failed, clearly
    assert "Traceback" not in done.stderr
    assert_inert(done.stdout, "collect summary")
    assert_inert(done.stderr, "collect log")
    assert "refused-list" in done.stdout and "refused-xlist" in done.stdout
    assert "refused-skyfeed" in done.stdout
    assert "Denied Hostile" in done.stdout  # the server's words, made inert, not dropped
    assert "Refused Hostile" in done.stdout
    assert "new=3" in done.stdout

    listing = rounds(hostile.cfg, "sources")
    assert listing.returncode == 0, listing.stderr
    assert_inert(listing.stdout + listing.stderr, "rounds sources")
    assert "Denied Hostile" in listing.stdout

    exported = rounds(hostile.cfg, "export", "--raw")
    assert exported.returncode == 0, exported.stderr
    assert_inert(exported.stdout, "JSON Lines export")
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    assert len(records) == 9

    tweet = by_author_text(records, "Hostile")
    assert tweet["network"] in ("twitter", "mastodon", "bluesky")
    for r in records:
        if "Hostile" in r["text"]:
            # faithful: every sequence is still in the stored text, as data (Bluesky drops
            # C0 controls such as ESC and BEL when it reads a record: the rest stays)
            for piece in (CSI, OSC52, OSC8, C1, MARKUP, BIDI, ZERO_WIDTH):
                if r["network"] == "bluesky":
                    piece = "".join(c for c in piece if c >= " ")
                assert piece in r["text"], (r["network"], piece)
            assert r["author_name"] == HOSTILE_NAME or r["network"] == "bluesky"
    sky = next(r for r in records if r["network"] == "bluesky" and "Hostile" in r["text"])
    assert sky["text"] == "".join(c for c in HOSTILE if c >= " ")  # no facet cut it
    assert sky["id"] == sky["key"] and sky["author"] == "evil.example.org"
    assert sky["links"] == [f"https://evil.example/{OSC52}"]
    toot = next(r for r in records if r["network"] == "mastodon" and "Hostile" in r["text"])
    assert "alert(" not in toot["text"] and "color: red" not in toot["text"]
    assert "after" in toot["text"]
    assert "<script>alert('pwned')</script>" in toot["raw"]["content"]
    assert CSI in toot["spoiler"]
    assert any(len(r["text"]) >= 100_000 for r in records if r["network"] == "mastodon")
    assert any(len(r["text"]) >= 100_000 for r in records if r["network"] == "twitter")
    assert any(len(r["hashtags"]) == 3000 for r in records if r["network"] == "mastodon")
    assert any(len(r["hashtags"]) == 2000 for r in records if r["network"] == "twitter")
    assert any(len(r["text"]) >= 100_000 for r in records if r["network"] == "bluesky")
    assert any(len(r["hashtags"]) >= 2000 for r in records if r["network"] == "bluesky")

    as_csv = rounds(hostile.cfg, "export", "--format", "csv")
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout, newline="")))
    assert sorted(r["text"] for r in rows) == sorted(r["text"] for r in records)


def test_hostile_posts_are_inert_in_the_reader(hostile: Hostile) -> None:
    """Hostile posts selected and opened in the reader (Textual, headless)"""
    assert rounds(hostile.cfg, "collect").returncode == 1  # the refusing sources fail
    asyncio.run(_drive_reader(hostile.cfg))


async def _drive_reader(cfg: Path) -> None:
    from aggregator.clock import SystemClock
    from aggregator.reader.feed import StorageFeedReader
    from aggregator.settings import load_settings
    from aggregator.storage.db import open_database
    from aggregator.storage.repository import Repository
    from tests.tui.helpers import listed, selected, settle
    from tests.tui.screen_text import screen_text
    from tui.app import ReaderApp

    settings = load_settings(str(cfg), {})
    db = open_database(settings.database_url)
    clock = SystemClock()
    opened: list[str] = []
    app = ReaderApp(StorageFeedReader(db, Repository(db, clock), settings, clock, {}), None,
                    poll_seconds=0, opener=opened.append)
    try:
        async with app.run_test(size=(160, 60)) as pilot:
            await settle(pilot)
            rows = listed(app)
            assert len(rows) == 9
            hostile_seen = markup_seen = False
            for i in range(len(rows)):
                for keys in ((), ("enter",), ("escape",)):
                    if keys:
                        await pilot.press(*keys)
                        await settle(pilot, 2)
                    text = screen_text(app)
                    assert_inert(text, f"reader screen, post {i}, after {keys}")
                    assert app.is_running, f"the app quit on post {i}"
                    hostile_seen |= "Hostile" in text
                    markup_seen |= "[@click=app.quit]" in text or "[bold red]" in text
                assert selected(app).id == rows[i].id
                await pilot.press("j")
                await settle(pilot, 2)
            assert hostile_seen, "the hostile post was never on screen"
            assert markup_seen, "markup in a post was interpreted instead of shown"
            assert not opened
    finally:
        db.dispose()
