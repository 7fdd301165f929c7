"""Signals (issue 18 item 6): real `rounds` processes against slow loopback fakes, stopped
with SIGTERM or SIGINT at seeded random moments during a collection pass, an archive and
a curation sync. Each stops within a few seconds with one line (no traceback), keeps what
it reported as done, leaves nothing half-written, and the next run finishes the rest.
SIGHUP makes a running daemon re-read its configuration: new sources start, removed ones
stop, a broken file is refused with one line and the old configuration kept.
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
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aggregator.cli import TERMINATED, main
from tests.conftest import wait_until
from tests.fakes.mastodon import TOKEN as MASTODON_TOKEN
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.mastodon_lists import MastodonListsFake
from tests.fakes.server import LoopbackServer, Slowed
from tests.reliability.daemonloop import write_config
from tests.reliability.test_crash import (
    SEED,
    Fakes,
    all_networks_config,
    check_archive,
    exported_keys,
    fill,
    serve_fakes,
    served_keys,
    start_collect,
)
from tests.reliability.test_torn import archive_of_1000_posts, start_archive, wait_for_part_file

REPORT_NETWORK = "all"
STOP_WITHIN = 5.0  # seconds from the signal to the exit
SIGNALS = [signal.SIGTERM, signal.SIGINT]
EXIT = {signal.SIGTERM: 143, signal.SIGINT: 130}
LAST_LINE = {signal.SIGTERM: TERMINATED, signal.SIGINT: "Aborted."}


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    yield from serve_fakes()


def _stop(proc: subprocess.Popen[str], sig: int) -> tuple[float, str, str]:
    """Sends `sig`; (seconds until the process exited, stdout, stderr)."""
    sent = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    return time.monotonic() - sent, out, err


def _runs(db: Path) -> list[tuple[str, int, str | None]]:
    conn = sqlite3.connect(db)
    try:
        return [(r[0], int(r[1]), r[2]) for r in conn.execute(
            "SELECT outcome, new, error FROM runs ORDER BY id")]
    finally:
        conn.close()


@pytest.mark.parametrize("sig", SIGNALS, ids=["SIGTERM", "SIGINT"])
def test_collect_stopped_mid_page_keeps_what_it_stored(
        tmp_path: Path, fakes: Fakes, sig: int,
        record_property: Callable[[str, object], None]) -> None:
    """Signals: `rounds collect` stopped mid-pass, twice, then finished by the next run"""
    server = fakes[-1]
    cfg = all_networks_config(tmp_path, server.base_url)
    db = tmp_path / "rounds.db"
    rng = random.Random(SEED + sig)
    interrupted, slowest = 0, 0.0
    for round_ in range(2):  # (X lists serve the newest 800 posts: stay under that)
        fill(fakes, scale=2 if round_ == 0 else 1)  # new posts: forward passes stopped too
        seen = len(server.log)
        proc = start_collect(cfg)
        at = rng.randint(1, 15)  # requests into the pass: a page, a source, another network
        wait_until(lambda p=proc, n=seen + at: len(server.log) >= n or p.poll() is not None)
        if proc.poll() is not None:
            break  # (it finished first: nothing left to interrupt)
        took, _out, err = _stop(proc, sig)
        interrupted += 1
        slowest = max(slowest, took)
        assert took < STOP_WITHIN, took
        assert proc.returncode == EXIT[sig], (proc.returncode, err)
        assert "Traceback" not in err and err.strip().splitlines() == [LAST_LINE[sig]], err
        stored = check_archive(db)  # whole, no post twice
        runs = _runs(db)
        assert all(outcome != "running" for outcome, _, _ in runs), runs  # each run closed
        assert ("error", "interrupted") in {(o, e) for o, _, e in runs}, runs
        assert sum(new for _, new, _ in runs) <= stored  # what a run reported is stored
    assert interrupted == 2
    done = start_collect(cfg)
    _out, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    keys = exported_keys(cfg)
    served = served_keys(fakes)
    record_property("slowest stop after the signal", f"{slowest:.2f} s")
    record_property("posts lost / duplicated",
                    f"{len(served - set(keys))} / {len(keys) - len(set(keys))}")
    assert len(keys) == len(set(keys)), "a post was stored twice"
    assert set(keys) == served, "a post was lost"


# ---------------------------------------------------------------------- archive


def test_archive_stopped_mid_file_leaves_no_file_and_the_next_run_writes_it_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Signals: `rounds archive` stopped mid-file by SIGINT, then SIGTERM, then finished"""
    cfg, stored = archive_of_1000_posts(tmp_path, monkeypatch)
    out = tmp_path / "archive"
    for sig in (signal.SIGINT, signal.SIGTERM):
        proc = start_archive(cfg, out)
        assert wait_for_part_file(proc, out) is not None, "the archive ended before a signal"
        took, _out, err = _stop(proc, sig)
        assert took < STOP_WITHIN, took
        assert proc.returncode == EXIT[sig], err
        assert "Traceback" not in err and err.strip().splitlines()[-1] == LAST_LINE[sig]
        assert not list(out.rglob("*.part")), "a temporary file was left behind"
        assert not list(out.rglob("manifest.json")), "reported complete"
    capsys.readouterr()
    assert main(["--config", cfg, "archive", "--settle", "0", str(out)]) == 0
    assert f"archived {stored} posts" in capsys.readouterr().out
    assert main(["--config", cfg, "archive", "--verify", str(out)]) == 0


# ---------------------------------------------------------------------- curation sync


def test_lists_sync_stopped_mid_way_keeps_what_it_reported_and_the_rerun_finishes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Signals: `rounds lists sync` stopped by SIGTERM between and during list writes"""
    masto = MastodonListsFake(FakeMastodon())
    server = LoopbackServer(Slowed(masto, 0.05)).start()
    cfg = tmp_path / "rounds.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "rounds.db"}"\n'
                   f'[accounts.work]\nnetwork = "mastodon"\nbase_url = "{server.base_url}"\n'
                   'token_env = "ROUNDS_MED_TOKEN"\n')
    cfg.chmod(0o600)
    names = [f"nurse{i}@n.example" for i in range(12)]
    for name in names:
        masto.make_account(name)
    remote = masto.make_list("Nurses")
    env = {**os.environ, "ROUNDS_MED_TOKEN": MASTODON_TOKEN}
    rng = random.Random(SEED)
    try:
        monkeypatch.setenv("ROUNDS_MED_TOKEN", MASTODON_TOKEN)
        for args in (("lists", "create", "Nurses"), ("lists", "add", "Nurses", *names),
                     ("lists", "link", "Nurses", "--mastodon", f"work:{remote}")):
            assert main(["--config", str(cfg), *args]) == 0
        for _ in range(2):
            writes = len([r for r in server.log if r.method == "POST"])
            proc = subprocess.Popen([sys.executable, "-m", "aggregator.cli", "--config",
                                     str(cfg), "lists", "sync", "Nurses"], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            at = writes + rng.randint(1, 4)
            assert wait_until(lambda p=proc, n=at: p.poll() is not None or len(
                [r for r in server.log if r.method == "POST"]) >= n)
            took, out, err = _stop(proc, signal.SIGTERM)
            assert took < STOP_WITHIN and proc.returncode == 143, (took, err)
            assert err.strip().splitlines()[-1] == TERMINATED and "Traceback" not in err
            reported = [line.split("added ", 1)[1] for line in out.splitlines()
                        if line.strip().startswith("added ")]
            on_list = set(masto.accts(remote))
            assert set(reported) <= on_list, (reported, on_list)  # reported done is done
            assert len(on_list) < len(names)  # stopped before the end
        capsys.readouterr()
        assert main(["--config", str(cfg), "lists", "sync", "Nurses"]) == 0
        assert "in sync" in capsys.readouterr().out
        assert sorted(masto.accts(remote)) == sorted(names)
        added = [r.body for r in server.log
                 if r.method == "POST" and r.path.endswith("/accounts")]
        assert len(added) <= len(set(added)) + 2  # at most the write each signal cut short
    finally:
        server.stop()


# ---------------------------------------------------------------------- SIGHUP


def test_sighup_starts_new_sources_and_stops_removed_ones(tmp_path: Path) -> None:
    """Signals: SIGHUP to a running daemon: a new source starts, a removed one stops"""
    mastodon = FakeMastodon()
    server = LoopbackServer(mastodon).start()
    db_url = f"sqlite:///{tmp_path / 'rounds.db'}"
    cfg = write_config(tmp_path / "rounds.toml", db_url, server.base_url, mastodon=2, x=0,
                       every="1s")  # tag0, tag1
    log = tmp_path / "daemon.log"
    env = {**os.environ, "ROUNDS_MED_TOKEN": MASTODON_TOKEN}
    proc = subprocess.Popen([sys.executable, "-m", "aggregator.cli", "--config", str(cfg),
                             "daemon", "--log-format", "json", "--log-file", str(log)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def runs() -> Counter[str]:
        if not log.exists():
            return Counter()
        lines = [json.loads(x) for x in log.read_text().splitlines() if x.strip()]
        return Counter(x["source"] for x in lines if x.get("event") == "run")

    try:
        assert wait_until(lambda: runs()["tag1"] >= 2, 30), log.read_text() if log.exists() else ""
        write_config(cfg, db_url, server.base_url, mastodon=2, x=0, every="1s", first=1)
        proc.send_signal(signal.SIGHUP)  # now tag1 and tag2
        assert wait_until(lambda: runs()["tag2"] >= 2, 30), log.read_text()
        stopped_at = runs()["tag0"]
        assert wait_until(lambda: runs()["tag2"] >= 5, 30), log.read_text()
        assert runs()["tag0"] <= stopped_at + 1  # (a run in flight at the reload finishes)
        assert runs()["tag1"] >= 5  # kept its place and went on
        assert proc.poll() is None  # no restart
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        server.stop()
    assert proc.returncode == 0
    text = log.read_text()
    assert "configuration reloaded: 2 sources" in text and "unscheduled source:tag0" in text
