"""Signals (issue 18 item 6): real `rounds` processes against slow loopback fakes, stopped
with SIGTERM or SIGINT at seeded random moments during a collection pass, an archive and
a curation sync. Each stops within a few seconds with one line (no traceback), keeps what
it reported as done, leaves nothing half-written, and the next run finishes the rest.
SIGHUP makes a running daemon re-read its configuration: new sources start, removed ones
stop, a broken file is refused with one line and the old configuration kept.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.cli import TERMINATED
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

REPORT_NETWORK = "all"
STOP_WITHIN = 5.0  # seconds from the signal to the exit
SIGNALS = [signal.SIGTERM, signal.SIGINT]
EXIT = {signal.SIGTERM: 143, signal.SIGINT: 130}
LAST_LINE = {signal.SIGTERM: TERMINATED, signal.SIGINT: "Aborted."}


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    yield from serve_fakes()


def _wait(predicate: object, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.005)
    return False


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
def test_collect_stopped_mid_page_keeps_what_it_stored(tmp_path: Path, fakes: Fakes,
                                                       sig: int) -> None:
    """Signals: `rounds collect` stopped mid-pass, three times, then finished by the next run"""
    server = fakes[-1]
    cfg = all_networks_config(tmp_path, server.base_url)
    db = tmp_path / "rounds.db"
    rng = random.Random(SEED + sig)
    interrupted = 0
    for round_ in range(2):  # (X lists serve the newest 800 posts: stay under that)
        fill(fakes, scale=2 if round_ == 0 else 1)  # new posts: forward passes stopped too
        seen = len(server.log)
        proc = start_collect(cfg)
        at = rng.randint(1, 15)  # requests into the pass: a page, a source, another network
        _wait(lambda p=proc, n=seen + at: len(server.log) >= n or p.poll() is not None)
        if proc.poll() is not None:
            break  # (it finished first: nothing left to interrupt)
        took, _out, err = _stop(proc, sig)
        interrupted += 1
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
    assert len(keys) == len(set(keys)), "a post was stored twice"
    assert set(keys) == served_keys(fakes), "a post was lost"
