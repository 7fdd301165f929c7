"""Concurrency on one SQLite file: the reader's queries while `rounds collect` writes,
and two overlapping cron runs (`rounds collect --due`, and plain `rounds collect`).

No "database is locked", both runs succeed, every post is stored exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.storage.db import open_database
from aggregator.storage.queries import count_views, list_posts, newest_marker
from tests.fakes.mastodon import TOKEN, FakeMastodon
from tests.fakes.server import LoopbackServer, Slowed

REPORT_NETWORK = "mastodon"  # for the `make reliability` table


@pytest.fixture
def slow_fake() -> Iterator[tuple[FakeMastodon, LoopbackServer]]:
    api = FakeMastodon()
    api.set_budget(1_000_000, 300)
    for tag in ("one", "two", "three"):
        api.add_statuses(f"tag:{tag}", [api.make_status() for _ in range(240)])
    server = LoopbackServer(Slowed(api, 0.01)).start()
    yield api, server
    server.stop()


def config(tmp_path: Path, server: LoopbackServer) -> Path:
    cfg = tmp_path / "rounds.toml"
    sources = "".join(f'[[sources]]\nname = "{t}"\naccount = "med"\nhashtag = "{t}"\n'
                      'backfill = 1000\nevery = "1m"\n' for t in ("one", "two", "three"))
    cfg.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "rounds.db"}"\n'
                   f'[accounts.med]\nnetwork = "mastodon"\nbase_url = "{server.base_url}"\n'
                   f'token_env = "ROUNDS_MED_TOKEN"\n{sources}')
    cfg.chmod(0o600)
    return cfg


def start(cfg: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "aggregator.cli", "--config", str(cfg),
                             *args], env={**os.environ, "ROUNDS_MED_TOKEN": TOKEN},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def exported_keys(cfg: Path) -> list[str]:
    done = subprocess.run([sys.executable, "-m", "aggregator.cli", "--config", str(cfg),
                           "export"], capture_output=True, text=True, timeout=60, check=True)
    return [json.loads(line)["key"] for line in done.stdout.splitlines()]


def expected_keys(api: FakeMastodon) -> set[str]:
    return {s["uri"] for t in ("one", "two", "three") for s in api.timelines[f"tag:{t}"]}


def test_reader_queries_while_collect_writes(
        tmp_path: Path, slow_fake: tuple[FakeMastodon, LoopbackServer]) -> None:
    """The reader's queries while rounds collect writes the same SQLite file"""
    api, server = slow_fake
    cfg = config(tmp_path, server)
    db = open_database(f"sqlite:///{tmp_path / 'rounds.db'}")
    proc = start(cfg, "collect")
    reads, seen = 0, set()
    try:
        while proc.poll() is None:
            rows = list_posts(db, None, limit=50)
            older = list_posts(db, None, before=rows[-1].key, limit=50) if rows else []
            count_views(db, [])
            newest_marker(db)
            seen.add(len(rows) + len(older))
            reads += 1
        _out, err = proc.communicate(timeout=60)
    finally:
        db.dispose()
    assert proc.returncode == 0, err
    assert "locked" not in err
    assert reads > 10 and len(seen) > 1, "the reads did not overlap the writes"
    keys = exported_keys(cfg)
    assert len(keys) == len(set(keys)) and set(keys) == expected_keys(api)


@pytest.mark.parametrize("args", [("collect", "--due"), ("collect",)],
                         ids=["collect --due", "collect"])
def test_overlapping_cron_runs(tmp_path: Path, slow_fake: tuple[FakeMastodon, LoopbackServer],
                               args: tuple[str, ...]) -> None:
    """Two overlapping cron runs of rounds collect"""
    api, server = slow_fake
    cfg = config(tmp_path, server)
    first = start(cfg, *args)
    time.sleep(0.3)
    second = start(cfg, *args)
    outs = [p.communicate(timeout=90) for p in (first, second)]
    for proc, (_out, err) in zip((first, second), outs, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err and "Traceback" not in err
    keys = exported_keys(cfg)
    assert len(keys) == len(set(keys)), "a post was stored twice"
    assert set(keys) == expected_keys(api), "a post was lost"
    # what the two runs did, together: each source collected, none read twice in full
    timeline_requests = server.requests("/timelines/tag/")
    assert len(timeline_requests) <= 2 * (3 * (240 // 40 + 1) + 3)
