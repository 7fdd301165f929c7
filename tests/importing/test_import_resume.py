"""A `rounds import` killed midway (SIGKILL, after some batches) and run again stores
every post exactly once, and the rerun reports the first run's posts as already present."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from aggregator.importing.reading import CHUNK as BATCH
from aggregator.importing.reading import WORKER_MIN_BYTES
from aggregator.storage.db import open_database
from aggregator.storage.schema import posts
from tests.conftest import process_alive, wait_until
from tests.importing import builders

POSTS = 12_000


def big_twarc2(path: Path, n: int) -> set[str]:
    """`n` tweets as twarc2 response lines of 100, cloned from a recorded search page."""
    page = builders.body("twitter/v2/tweets_search_recent.json")
    template = page["data"][0]
    keys = set()
    with path.open("w") as out:
        for start in range(0, n, 100):
            data = []
            for i in range(start, min(start + 100, n)):
                tweet = copy.deepcopy(template)
                tweet["id"] = str(1275000000000000000 + i)
                tweet["text"] = f"Post {i}: statins after a myocardial infarction, week {i % 52}"
                keys.add(tweet["id"])
                data.append(tweet)
            out.write(json.dumps({"data": data, "meta": {"result_count": len(data)}}) + "\n")
    return keys


def stored(db_url: str) -> int:
    try:
        db = open_database(db_url)
    except Exception:  # the first process may still be creating the schema
        return 0
    try:
        with db.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(posts)).scalar_one())
    except Exception:
        return 0
    finally:
        db.dispose()


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found



def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "(gone)"


def config(tmp_path: Path, db_url: str) -> Path:
    cfg = tmp_path / "rounds.toml"
    cfg.write_text(f'[database]\nurl = "{db_url}"\n')
    cfg.chmod(0o600)
    return cfg


def wait_for_a_commit(proc: subprocess.Popen[str], db_url: str) -> None:
    """Until the import's first transaction has committed (it must still be running)."""
    deadline = time.monotonic() + 120
    while stored(db_url) == 0:
        assert proc.poll() is None, "the import ended before its first commit was seen"
        assert time.monotonic() < deadline, "no batch committed in 120 s"
        time.sleep(0.02)


def rounds(cfg: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "aggregator.cli", "--config", str(cfg),
                             *args], env=dict(os.environ), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("how", [(), ("--one-process",)], ids=["worker", "one-process"])
def test_killed_import_resumes_with_every_post_once(tmp_path: Path, db_url: str,
                                                    how: tuple[str, ...]) -> None:
    """Both ways of reading: a 1.7 MB input is read in a worker process by default."""
    path = tmp_path / "big.jsonl"
    keys = big_twarc2(path, POSTS)
    assert path.stat().st_size >= WORKER_MIN_BYTES  # big enough for a worker by default
    cfg = config(tmp_path, db_url)

    proc = rounds(cfg, "import", str(path), "--source", "big", *how)
    wait_for_a_commit(proc, db_url)
    workers = children(proc.pid)
    assert bool(workers) == (not how), "the import's worker process"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert wait_until(lambda: not any(process_alive(pid) for pid in workers)), \
        f"the worker process outlived the killed import: {[cmdline(p) for p in workers]}"
    before = stored(db_url)
    assert 0 < before < POSTS, f"the kill did not land midway: {before}"
    assert before % BATCH == 0, "a chunk was stored in part"

    rerun = rounds(cfg, "import", str(path), "--source", "big")
    out, err = rerun.communicate(timeout=300)

    assert rerun.returncode == 0, err
    assert out.strip() == (f"read {POSTS}, stored {POSTS - before}, already present "
                           f"{before}, bad 0")
    export = rounds(cfg, "export")
    out, _ = export.communicate(timeout=300)
    exported = [json.loads(line)["key"] for line in out.splitlines()]
    assert len(exported) == len(set(exported)) == POSTS, "a post was stored twice or lost"
    assert set(exported) == keys


def test_a_worker_that_dies_midway_leaves_a_summary_of_what_was_kept(
        tmp_path: Path, db_url: str) -> None:
    """The reading process killed (out of memory, say) after a commit: the import stops
    with one line, and its summary counts the posts that stayed, not those rolled back."""
    path = tmp_path / "big.jsonl"
    total = 20_000
    big_twarc2(path, total)
    cfg = config(tmp_path, db_url)

    proc = rounds(cfg, "import", str(path), "--source", "big")
    wait_for_a_commit(proc, db_url)
    workers = [p for p in children(proc.pid) if "spawn_main" in cmdline(p)]
    assert len(workers) == 1, [cmdline(p) for p in children(proc.pid)]
    os.kill(workers[0], signal.SIGKILL)
    out, err = proc.communicate(timeout=300)

    assert proc.returncode != 0
    kept = stored(db_url)
    assert 0 < kept < total, f"the worker was not killed midway: {kept} stored"
    lines = err.strip().splitlines()
    assert lines[-2] == f"read {kept}, stored {kept}, already present 0, bad 0", err
    assert lines[-1].startswith("error: the worker process ended"), err
    assert "Traceback" not in err

    rerun = rounds(cfg, "import", str(path), "--source", "big")
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert out.strip() == (f"read {total}, stored {total - kept}, already present {kept}, "
                           "bad 0")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_import_says_what_it_kept_and_records_the_run(
        tmp_path: Path, sig: signal.Signals) -> None:
    """Ctrl-C reaches both processes (the terminal signals the whole group), SIGTERM only
    the importer. Either way: out at once with 130/143, a summary that counts exactly what
    the archive holds (an interrupt during a commit used to leave it a transaction short),
    the run recorded as interrupted, no worker left behind."""
    path = tmp_path / "big.jsonl"
    total = 20_000
    big_twarc2(path, total)
    db_url = f"sqlite:///{tmp_path / 'rounds.db'}"
    cfg = config(tmp_path, db_url)

    proc = subprocess.Popen([sys.executable, "-m", "aggregator.cli", "--config", str(cfg),
                             "import", str(path), "--source", "big"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    wait_for_a_commit(proc, db_url)
    workers = [p for p in children(proc.pid) if "spawn_main" in cmdline(p)]
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=20)  # not 30 s waiting on its own lock

    assert proc.returncode == (130 if sig == signal.SIGINT else 143), err
    assert "Traceback" not in err and "locked" not in err, err
    kept = stored(db_url)
    assert 0 < kept < total
    summary = [line for line in err.splitlines() if line.startswith("read ")]
    assert summary == [f"read {kept}, stored {kept}, already present 0, bad 0"], err
    assert wait_until(lambda: not any(process_alive(pid) for pid in workers))
    db = open_database(db_url)
    try:
        with db.engine.connect() as conn:
            runs = conn.execute(text("SELECT outcome, error, new FROM runs")).all()
    finally:
        db.dispose()
    assert [tuple(r) for r in runs] == [("error", "interrupted", kept)]
