"""Crash consistency: `rounds collect` SIGKILLed at seeded random points, again and again.

One collect process reads a Mastodon hashtag, an X list, a Bluesky list and an RSS feed
from slow loopback fakes (first runs page backwards, later runs forwards; Bluesky always
pages backwards and moves its cursor only on a pass's last page; the feed is one document
per pass, its whole window each time it changes). After every kill the SQLite archive
opens, passes `PRAGMA integrity_check` and holds no post twice; a final uninterrupted
run ends with every post served exactly once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.storage.db import open_database
from tests.fakes.bluesky import SYN_LIST, AllNetworks, FakeBluesky
from tests.fakes.feeds import FeedsFake
from tests.fakes.mastodon import TOKEN as MASTODON_TOKEN
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.server import LoopbackServer, Reply, Request, Slowed
from tests.fakes.twitter import TOKEN as X_TOKEN
from tests.fakes.twitter import FakeX

KILLS = 20
SEED = 20261127
LIST_ID = "3141592653"
FEED_PATH = "/feeds/crashy.xml"

REPORT_NETWORK = "all"  # for the `make reliability` table
Fakes = tuple[FakeMastodon, FakeX, FakeBluesky, FeedsFake, LoopbackServer]


class WithFeeds:
    """`AllNetworks`, and the feed fake under /feeds/."""

    def __init__(self, others: AllNetworks, feeds: FeedsFake) -> None:
        self.others, self.feeds = others, feeds

    def __call__(self, req: Request) -> Reply:
        return self.feeds(req) if req.path.startswith("/feeds/") else self.others(req)


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    yield from serve_fakes()


def serve_fakes() -> Iterator[Fakes]:
    """Every network's fake behind one slow loopback server (a request takes 15 ms)."""
    mastodon, x, sky, feeds = FakeMastodon(), FakeX(), FakeBluesky(), FeedsFake()
    mastodon.set_budget(1_000_000, 300)
    x.set_budget(1_000_000, 900)
    sky.limit = 1_000_000
    server = LoopbackServer(Slowed(WithFeeds(AllNetworks(mastodon, x, sky), feeds),
                                   0.015)).start()
    yield mastodon, x, sky, feeds, server
    server.stop()


def start_collect(cfg: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "ROUNDS_MED_TOKEN": MASTODON_TOKEN, "ROUNDS_X_BEARER": X_TOKEN}
    return subprocess.Popen([sys.executable, "-m", "aggregator.cli", "--config", str(cfg),
                             "collect"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def all_networks_config(tmp_path: Path, base_url: str) -> Path:
    """rounds.toml: one source per network on the fakes, the archive in tmp_path/rounds.db."""
    db_path = tmp_path / "rounds.db"
    cfg = tmp_path / "rounds.toml"
    cfg.write_text(f"""
[database]
url = "sqlite:///{db_path}"
[accounts.med]
network = "mastodon"
base_url = "{base_url}"
token_env = "ROUNDS_MED_TOKEN"
[accounts.x]
network = "twitter"
base_url = "{base_url}"
bearer_token_env = "ROUNDS_X_BEARER"
[accounts.sky]
network = "bluesky"
base_url = "{base_url}"
[accounts.feeds]
network = "feed"
[[sources]]
name = "tag"
account = "med"
hashtag = "crashy"
backfill = 5000
[[sources]]
name = "xlist"
account = "x"
list = "{LIST_ID}"
backfill = 5000
[[sources]]
name = "skylist"
account = "sky"
list = "{SYN_LIST}"
backfill = 5000
[[sources]]
name = "journal"
account = "feeds"
feed = "{base_url}{FEED_PATH}"
backfill = 5000
""")
    cfg.chmod(0o600)
    return cfg


def fill(fakes: Fakes, scale: int = 1) -> None:
    """Posts on every fake: enough for several pages each."""
    mastodon, x, sky, feeds, _server = fakes
    mastodon.add_statuses("tag:crashy", [mastodon.make_status() for _ in range(400 * scale)])
    x.add_tweets(f"list:{LIST_ID}", [x.make_tweet("snowman", f"p{i}")
                                     for i in range(150 * scale)])
    sky.add_new(f"list:{SYN_LIST}", 300 * scale)
    feeds.add_items(FEED_PATH, 200 * scale)


def served_keys(fakes: Fakes) -> set[tuple[str, str]]:
    """(network, key) of every post the fakes serve."""
    mastodon, x, sky, feeds, _server = fakes
    return {("mastodon", s["uri"]) for s in mastodon.timelines["tag:crashy"]} | {
        ("twitter", t) for t in x.timelines[f"list:{LIST_ID}"]} | {
        ("bluesky", i["post"]["uri"]) for i in sky.feeds[f"list:{SYN_LIST}"]} | {
        ("feed", guid) for guid in feeds.guids(FEED_PATH)}


def exported_keys(cfg: Path) -> list[tuple[str, str]]:
    """(network, key) of every post `rounds export` writes, one entry per record."""
    export = subprocess.run([sys.executable, "-m", "aggregator.cli", "--config", str(cfg),
                             "export"], capture_output=True, text=True, timeout=120, check=True)
    return [(r["network"], r["key"]) for r in map(json.loads, export.stdout.splitlines())]


def check_archive(path: Path) -> int:
    """integrity_check is ok, grandrounds opens it, no post twice; returns the post count."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        dupes = conn.execute("SELECT network, key, COUNT(*) FROM posts GROUP BY network, key "
                             "HAVING COUNT(*) > 1").fetchall()
        assert not dupes, dupes
        count = int(conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0])
    finally:
        conn.close()
    open_database(f"sqlite:///{path}").dispose()
    return count


def test_sigkilled_collect_keeps_the_archive_whole(
        tmp_path: Path, fakes: Fakes) -> None:
    """SIGKILL `rounds collect` 20 times at random points"""
    mastodon, x, sky, feeds, server = fakes
    db_path = tmp_path / "rounds.db"
    cfg = all_networks_config(tmp_path, server.base_url)
    rng = random.Random(SEED)
    fill(fakes)
    counts = []
    for round_ in range(KILLS):
        if round_ % 4 == 3:  # new posts now and then: forward passes get killed too
            mastodon.add_statuses("tag:crashy", [mastodon.make_status() for _ in range(60)])
            x.add_tweets(f"list:{LIST_ID}", [x.make_tweet("snowman", f"r{round_}-{i}")
                                             for i in range(25)])
            sky.add_new(f"list:{SYN_LIST}", 40)
            feeds.add_items(FEED_PATH, 30)
        seen = len(server.log)
        proc = start_collect(cfg)
        deadline = time.monotonic() + 20
        while len(server.log) == seen and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)  # until it talks to the server: a kill mid-collection
        time.sleep(rng.uniform(0.0, 0.35))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        counts.append(check_archive(db_path))
    print("stored after each kill:", counts)

    done = start_collect(cfg)
    _out, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    assert "Traceback" not in err
    keys = exported_keys(cfg)
    expected = served_keys(fakes)
    assert len(keys) == len(set(keys)), "a post was stored twice"
    assert set(keys) == expected, "a post was lost"
    total = len(expected)
    assert any(0 < n < total for n in counts), f"no kill landed mid-collection: {counts}"
    assert check_archive(db_path) == total


_KILL_MID_UPGRADE = """
import os, signal, sys
from sqlalchemy import event
from sqlalchemy.engine import Engine
from aggregator.storage.db import open_database

@event.listens_for(Engine, "after_cursor_execute")
def _die(conn, cursor, statement, params, context, executemany):
    if statement.lstrip().upper().startswith("CREATE TABLE") and sys.argv[2] in statement:
        os.kill(os.getpid(), signal.SIGKILL)  # as a power cut would, mid-upgrade

open_database(sys.argv[1])
"""


@pytest.mark.parametrize("table", ["post_topics", "works", "topic_days"])
def test_killed_during_first_upgrade_leaves_an_archive_the_next_run_creates(
        tmp_path: Path, table: str) -> None:
    """A process SIGKILLed during its first upgrade: the next command creates the archive.

    (Each CREATE TABLE used to commit on its own on SQLite: the kill left some tables and no
    schema revision, and every later command refused the file as "not grandrounds'".)"""
    url = f"sqlite:///{tmp_path / 'rounds.db'}"
    proc = subprocess.run([sys.executable, "-c", _KILL_MID_UPGRADE, url, table],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    with sqlite3.connect(tmp_path / "rounds.db") as conn:
        left = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert left == []  # the upgrade was one transaction: nothing of it stayed
    db = open_database(url)  # the next command migrates from scratch
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one() == 0
    finally:
        db.dispose()
