"""Issue 18 item 7: one SQLite file, everything at once, for ten minutes (a 25-second
variant runs in `make test`):

* `rounds daemon` collecting three hashtags every second from the loopback fake, where
  new statuses arrive a whole page (40) at a time;
* the reader's read-side queries polling (the counts per source view, the newest marker,
  the first screen of each source's view), in this process;
* `rounds archive` and `rounds search` in a loop, each a real process;
* `rounds prune` once, half-way, deleting the posts of a fourth source that are two
  years old.

No `database is locked` (or any error) reaches anyone; the reader never sees part of a
page: every source's count it reads is a whole number of pages; the archive holds every
post exactly once; nothing is lost or stored twice.
"""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.storage.db import open_existing
from aggregator.storage.queries import (
    count_posts,
    count_views,
    list_posts,
    list_source_names,
    newest_marker,
    view_filter,
)
from tests.reliability.machine import (
    PAGE,
    Mastodon,
    post_count,
    rounds,
    spawn,
    stop,
    stored_keys,
    wait_for,
    write_config,
)

REPORT_NETWORK = "mastodon"
TAGS = ["icu", "ed", "peds"]
OLD = "history"  # its posts are two years old: what `rounds prune` deletes


class Loop:
    """A command run again and again in a thread until stopped; keeps every failure."""

    def __init__(self, name: str,
                 run: Callable[[], subprocess.CompletedProcess[str]]) -> None:
        self.name, self._run = name, run
        self.runs = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            done = self._run()
            self.runs += 1
            if done.returncode != 0 or "locked" in done.stderr or "Traceback" in done.stderr:
                self.failures.append(f"{self.name} exited {done.returncode}: {done.stderr}")

    def start(self) -> Loop:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=180)


def _archived(directory: Path) -> list[str]:
    keys = []
    for path in sorted(directory.rglob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            keys += [json.loads(line)["key"] for line in fh if line.strip()]
    return keys


@pytest.mark.parametrize("seconds", [
    pytest.param(25, id="25 s"),
    pytest.param(600, id="10 min", marks=pytest.mark.long),
])
def test_everything_at_once_on_one_sqlite_file(
        tmp_path: Path, mastodon: Mastodon, seconds: int,
        record_property: pytest.RecordProperty) -> None:
    """Daemon, reader, archive and search loops, and a prune, on one SQLite file"""
    db_path = tmp_path / "rounds.db"
    url = f"sqlite:///{db_path}"
    cfg = write_config(tmp_path / "rounds.toml", url, mastodon.server, [*TAGS, OLD], every="1s")
    for tag in TAGS:
        mastodon.add_pages(tag, 2)
    old = mastodon.add_pages(OLD, 2, created_at=datetime(2024, 6, 1, tzinfo=UTC))
    log = tmp_path / "daemon.log"
    daemon = spawn(cfg, "daemon", "--log-format", "json", "--log-file", str(log), log=log)
    archive_dir = tmp_path / "archive"
    loops: list[Loop] = []
    polls, seen, torn = 0, set(), []
    pages_added = 0
    pruned = ""
    try:
        wait_for(lambda: db_path.exists() and post_count(url) == (3 * 2 + 2) * PAGE, 60,
                 "the first passes")
        db = open_existing(url)
        ids = {name: sid for sid, name, _ in list_source_names(db)}
        views = [view_filter(f"source:{ids[t]}", source_id=ids[t]) for t in TAGS]
        loops = [
            Loop("rounds archive", lambda: rounds(cfg, "archive", str(archive_dir),
                                                  "--settle", "2")).start(),
            Loop("rounds search", lambda: rounds(cfg, "search", "Synthetic",
                                                 "--json", "-n", "200")).start(),
        ]
        rng = random.Random(18)
        started = time.monotonic()
        next_page = started
        prune_at = started + seconds / 2
        while (now := time.monotonic()) < started + seconds:
            if now >= next_page:  # a new page on one source, about every 0.3 s
                mastodon.add_pages(rng.choice(TAGS), 1)
                pages_added += 1
                next_page = now + 0.3
            if not pruned and now >= prune_at:
                done = rounds(cfg, "prune", "--older-than", "365d")
                assert done.returncode == 0 and "locked" not in done.stderr, done.stderr
                pruned = (done.stdout + done.stderr).strip()
            counts = count_views(db, views, cap=1_000_000)  # the sidebar's counts
            for tag in TAGS:
                n = count_posts(db, None, source_id=ids[tag], cap=1_000_000)
                shown = list_posts(db, None, source_id=ids[tag], limit=PAGE * 3)
                seen.add(n)
                if n % PAGE or counts[f"source:{ids[tag]}"] % PAGE:
                    torn.append(f"{tag}: {n} posts, sidebar {counts[f'source:{ids[tag]}']}")
                if len(shown) % PAGE:
                    torn.append(f"{tag}: first screen of {len(shown)} posts")
            newest_marker(db)
            polls += 1
        expected = {k for tag in TAGS for k in mastodon.keys(tag)}
        wait_for(lambda: set(stored_keys(url)) >= expected, 60, "the daemon to catch up")
        assert daemon.poll() is None, "the daemon exited"
        db.dispose()
    finally:
        for loop in loops:
            loop.stop()
        code = stop(daemon)
    assert code == 0, log.read_text()[-3000:]
    failures = [f for loop in loops for f in loop.failures]
    assert not failures, failures[:3]
    daemon_log = log.read_text()
    assert "locked" not in daemon_log and "Traceback" not in daemon_log, daemon_log[-3000:]
    assert not torn, torn[:5]
    assert len(seen) > 5, "the reader's polls did not overlap the writes"
    stored = set(stored_keys(url))
    assert stored == expected, "lost or kept what prune deleted"
    assert not stored & set(old)
    done = rounds(cfg, "archive", str(archive_dir), "--settle", "0")  # the rest
    assert done.returncode == 0, done.stderr
    archived = [k for k in _archived(archive_dir) if k not in set(old)]
    assert len(archived) == len(set(archived)), "a post archived twice"
    assert set(archived) == expected, "a post missing from the archive"
    assert rounds(cfg, "archive", "--verify", str(archive_dir)).returncode == 0
    runs = {loop.name: loop.runs for loop in loops}
    record_property("duration", f"{seconds} s")
    record_property("pages added while running", str(pages_added))
    record_property("reader polls", f"{polls} ({len(seen)} different counts seen)")
    record_property("half-written pages seen", "0")
    record_property("rounds archive runs", str(runs["rounds archive"]))
    record_property("rounds search runs", str(runs["rounds search"]))
    record_property("prune", pruned.splitlines()[-1] if pruned else "-")
    record_property("'database is locked' seen", "0")
    record_property("posts stored", str(len(stored)))
    record_property("posts lost", "0")
    record_property("posts duplicated", "0")

