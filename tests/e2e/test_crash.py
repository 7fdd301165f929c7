"""A `rounds collect` killed mid-run and run again stores every post exactly once."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from aggregator.storage.db import open_database
from aggregator.storage.schema import posts
from tests.fakes.mastodon import TAG, TOKEN, FakeMastodon
from tests.fakes.server import LoopbackServer, Slowed


@pytest.fixture
def slow_fake() -> Iterator[tuple[FakeMastodon, LoopbackServer]]:
    api = FakeMastodon()
    server = LoopbackServer(Slowed(api, 0.08)).start()
    yield api, server
    server.stop()


def rounds(cfg: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "ROUNDS_MED_TOKEN": TOKEN}
    return subprocess.Popen([sys.executable, "-m", "aggregator.cli", "--config", str(cfg), *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_killed_collect_resumes_without_loss_or_duplicates(
        tmp_path: Path, db_url: str, slow_fake: tuple[FakeMastodon, LoopbackServer]) -> None:
    api, server = slow_fake
    cfg = tmp_path / "rounds.toml"
    cfg.write_text(f'[database]\nurl = "{db_url}"\n[accounts.med]\nnetwork = "mastodon"\n'
                   f'base_url = "{server.base_url}"\ntoken_env = "ROUNDS_MED_TOKEN"\n'
                   f'[[sources]]\nname = "tag"\naccount = "med"\nhashtag = "{TAG}"\n'
                   'backfill = 2000\n')
    rng = random.Random(20261127)
    partial: list[tuple[int, int]] = []
    api.add_new(f"tag:{TAG}", 300)
    for round_ in range(3):
        if round_:
            api.add_new(f"tag:{TAG}", 150)  # forward passes: each page commits its cursor
        proc = rounds(cfg, "collect")
        time.sleep(rng.uniform(0.7, 1.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        partial.append((stored(db_url), len(api.timelines[f"tag:{TAG}"])))
        done = rounds(cfg, "collect")
        out, err = done.communicate(timeout=120)
        assert done.returncode == 0, err
        assert "Traceback" not in err
    export = rounds(cfg, "export")
    out, err = export.communicate(timeout=120)
    keys = [json.loads(line)["key"] for line in out.splitlines()]
    expected = {s["reblog"]["uri"] if s.get("reblog") else s["uri"]
                for s in api.timelines[f"tag:{TAG}"]}
    assert len(keys) == len(set(keys)), "a post was stored twice"
    assert set(keys) == expected, "a post was lost"
    assert any(0 < n < total for n, total in partial), f"no kill landed mid-run: {partial}"


def stored(db_url: str) -> int:
    db = open_database(db_url)
    with db.engine.connect() as conn:
        n = int(conn.execute(select(func.count()).select_from(posts)).scalar_one())
    db.dispose()
    return n
