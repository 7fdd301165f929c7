"""Issue 18 item 2: the disk fills up under `rounds collect`, `rounds archive` and
`rounds export --split`, on a real size-capped filesystem (an 8 MB tmpfs mounted for the
test; skipped where mounting is not allowed).

Each run that meets the full disk fails with one line naming the path ("disk full at
…"), leaves the database intact and its cursor at the last committed page, leaves no
file that looks complete but is not, and the next run after space returns finishes the
work: nothing lost, nothing stored or written twice.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.archive import MANIFEST, verify
from tests.fakes.server import Request
from tests.reliability.machine import (
    PAGE,
    Mastodon,
    fill,
    free_bytes,
    mounted_tmpfs,
    one_line_error,
    rounds,
    run_errors,
    spawn,
    stop,
    wait_for,
    write_config,
)

REPORT_NETWORK = "mastodon"


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "disk", "8m") as where:
        yield where


def _db(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def _integrity(path: Path) -> str:
    with _db(path) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def _stored(path: Path) -> list[str]:
    with _db(path) as conn:
        return [r[0] for r in conn.execute("SELECT key FROM posts")]


def _cursor(path: Path, source: str) -> str | None:
    with _db(path) as conn:
        row = conn.execute("SELECT cursor FROM sources WHERE name = ?", (source,)).fetchone()
    return None if row is None else row[0]


def _archived_keys(directory: Path) -> list[str]:
    keys = []
    for path in sorted(directory.rglob("*.jsonl*")):
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as fh:
            keys += [json.loads(line)["key"] for line in fh if line.strip()]
    return keys


def test_collect_on_a_full_disk(tmp_path: Path, disk: Path, mastodon: Mastodon,
                                record_property: pytest.RecordProperty) -> None:
    """rounds collect meets a full disk at page 3: one line, database intact, resumes"""
    db = disk / "rounds.db"
    cfg = write_config(tmp_path / "rounds.toml", f"sqlite:///{db}", mastodon.server, ["icu"])
    first = mastodon.add_pages("icu", 1)
    done = rounds(cfg, "collect")
    assert done.returncode == 0, done.stderr
    later = mastodon.add_pages("icu", 5)  # the next pass: five pages, oldest first
    asked: list[int] = []

    def fill_on_page_three(req: Request) -> None:
        asked.append(1)
        if len(asked) == 3:  # pages 1 and 2 are stored by now; page 3 will not fit
            fill(disk)

    mastodon.hook = fill_on_page_three
    done = rounds(cfg, "collect")
    mastodon.hook = None
    assert done.returncode == 1, done.stdout + done.stderr
    line = one_line_error(done.stderr)
    assert line.startswith(f"error: disk full at {db}"), line
    assert _integrity(db) == "ok"
    stored = _stored(db)
    assert set(stored) == set(first) | set(later[:2 * PAGE]), "not exactly the first two pages"
    page_two_newest = later[2 * PAGE - 1].rsplit("/", 1)[1]
    assert _cursor(db, "icu") == page_two_newest, "the cursor is not at page 2's end"
    free_when_full = free_bytes(disk)

    (disk / "ballast").unlink()  # space returns
    done = rounds(cfg, "collect")
    assert done.returncode == 0, done.stderr
    stored = _stored(db)
    assert len(stored) == len(set(stored)) == len(first) + len(later)
    assert set(stored) == mastodon.keys("icu")
    assert _integrity(db) == "ok"
    record_property("disk", "8 MB tmpfs, filled when page 3 of 5 was asked for")
    record_property("free when full", f"{free_when_full} bytes")
    record_property("pages kept from the failed pass", "2 of 5")
    record_property("posts lost", "0")
    record_property("posts duplicated", "0")


def _archive_setup(tmp_path: Path, disk: Path, mastodon: Mastodon) -> tuple[Path, list[str]]:
    """An archive on the big disk (tmp_path) with posts of three months; output on the
    small one."""
    cfg = write_config(tmp_path / "rounds.toml", f"sqlite:///{tmp_path / 'rounds.db'}",
                       mastodon.server, ["icu"])
    keys: list[str] = []
    for month in (6, 7, 8):  # months gone by: an export today adds a fourth file
        keys += mastodon.add_pages("icu", 3, created_at=datetime(2026, month, 3, tzinfo=UTC))
    done = rounds(cfg, "collect")
    assert done.returncode == 0, done.stderr
    return cfg, keys


def _partial(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.name.endswith(".part")]


def test_archive_on_a_full_disk(tmp_path: Path, disk: Path, mastodon: Mastodon,
                                record_property: pytest.RecordProperty) -> None:
    """rounds archive meets a full disk: one line, no manifest, redone whole later"""
    cfg, keys = _archive_setup(tmp_path, disk, mastodon)
    probe = tmp_path / "probe"  # how large each month's file is, on the big disk
    assert rounds(cfg, "export", "--split", "month", "-o", str(probe)).returncode == 0
    sizes = [p.stat().st_size for p in sorted(probe.glob("posts-*"))]
    out = disk / "archive"
    out.mkdir()
    ballast = fill(disk)
    os.truncate(ballast, ballast.stat().st_size - sizes[0] - sizes[1] // 2)  # 1.5 files' room
    done = rounds(cfg, "archive", str(out), "--settle", "0", "--no-gzip")
    assert done.returncode == 1, done.stdout + done.stderr
    line = one_line_error(done.stderr)
    assert line.startswith(f"error: disk full at {out}"), line
    assert not list(out.rglob(MANIFEST)), "a manifest vouches for an unfinished batch"
    assert not _partial(out), "a temporary file was left behind"
    written = [p.name for p in out.rglob("posts-*")]
    for path in out.rglob("posts-*"):  # what is there is whole (atomic), even unlisted
        assert len(path.read_text().splitlines()) == 3 * PAGE

    ballast.unlink()
    done = rounds(cfg, "archive", str(out), "--settle", "0", "--no-gzip")
    assert done.returncode == 0, done.stderr
    checked, problems = verify(out)
    assert not problems and checked == 3
    archived = _archived_keys(out)
    assert sorted(archived) == sorted(keys), "lost or doubled in the archive"
    record_property("files whole before the disk filled", f"{len(written)} of 3")
    record_property("posts lost", "0")
    record_property("posts duplicated", "0")


def test_export_split_on_a_full_disk(tmp_path: Path, disk: Path, mastodon: Mastodon,
                                     record_property: pytest.RecordProperty) -> None:
    """rounds export --split meets a full disk: the old manifest is gone, not lying"""
    cfg, keys = _archive_setup(tmp_path, disk, mastodon)
    out = disk / "export"
    done = rounds(cfg, "export", "--split", "month", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert verify(out) == (3, [])
    more = mastodon.add_pages("icu", 3)  # this month: the next export changes the files
    assert rounds(cfg, "collect").returncode == 0
    ballast = fill(disk)
    done = rounds(cfg, "export", "--split", "month", "-o", str(out))
    assert done.returncode == 1, done.stdout + done.stderr
    line = one_line_error(done.stderr)
    assert line.startswith(f"error: disk full at {out}"), line
    assert not (out / MANIFEST).exists(), "the old manifest still vouches for the files"
    assert not _partial(out)

    ballast.unlink()
    done = rounds(cfg, "export", "--split", "month", "-o", str(out))
    assert done.returncode == 0, done.stderr
    checked, problems = verify(out)
    assert not problems and checked == 4
    exported = _archived_keys(out)
    assert sorted(exported) == sorted(keys + more)
    record_property("posts lost", "0")
    record_property("posts duplicated", "0")


def test_daemon_on_a_full_disk(tmp_path: Path, disk: Path, mastodon: Mastodon,
                               record_property: pytest.RecordProperty) -> None:
    """rounds daemon meets a full disk: one log line, a pause, resumes when space returns"""
    db = disk / "rounds.db"
    cfg = write_config(tmp_path / "rounds.toml", f"sqlite:///{db}", mastodon.server, ["icu"],
                       every="1s")
    mastodon.add_pages("icu", 1)
    log = tmp_path / "daemon.log"  # on the big disk: the log tells the story
    proc = spawn(cfg, "daemon", "--log-format", "json", "--log-file", str(log), log=log)
    try:
        wait_for(lambda: _count(db) == PAGE, 60, "the first pass")
        ballast = fill(disk)
        mastodon.add_pages("icu", 3)
        wait_for(lambda: len(run_errors(log)) >= 2, 60, "the daemon to fail twice")
        failed = run_errors(log)
        assert len(_stored(db)) == PAGE, "a page was stored on a full disk"
        ballast.unlink()
        wait_for(lambda: _count(db) == 4 * PAGE, 60, "the daemon to resume")
        assert proc.poll() is None, "the daemon exited"
    finally:
        code = stop(proc)
    assert code == 0
    stored = _stored(db)
    assert len(stored) == len(set(stored)) and set(stored) == mastodon.keys("icu")
    assert _integrity(db) == "ok"
    text = log.read_text()
    assert "Traceback" not in text, text
    assert all(str(x["error"]).startswith(f"disk full at {db}") for x in failed), failed
    assert "reachable again" in text
    record_property("failed passes while full", str(len(failed)))
    record_property("pauses", ", ".join(f"{x['paused_seconds']:g} s" for x in failed))
    record_property("posts lost", "0")
    record_property("posts duplicated", "0")


def _count(db: Path) -> int:
    """Posts stored; 0 while the daemon has not created the database yet."""
    try:
        return len(_stored(db)) if db.exists() else 0
    except sqlite3.OperationalError:  # no such table yet
        return 0
