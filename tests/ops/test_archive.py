"""Archival: export --split/--gzip with a manifest, `rounds archive` (incremental,
idempotent, verifiable), `rounds prune`."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from aggregator.cli import main
from aggregator.clock import SystemClock
from aggregator.storage.db import open_database
from aggregator.storage.schema import posts
from tests.fakes.mastodon import TAG
from tests.ops.conftest import OpsFake, WriteConfig


def _spread(fake: OpsFake) -> None:
    """Posts in other months than the recordings' (August 2026), and some from now."""
    api = fake.api
    api.add_statuses(f"tag:{TAG}", [
        api.make_status(created_at=datetime(2026, 6, 3, 9, tzinfo=UTC)),
        api.make_status(created_at=datetime(2026, 6, 30, 23, 59, tzinfo=UTC)),
        api.make_status(created_at=datetime(2026, 7, 1, 0, 0, 1, tzinfo=UTC)),
        api.make_status(), api.make_status()])


def _export_all(cfg: str, capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    capsys.readouterr()
    assert main(["--config", cfg, "export"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def _read_gz(path: Path) -> list[dict[str, object]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(directory)): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in directory.rglob("*") if p.is_file()}


def test_export_split_by_month_gzip_with_manifest(write_config: WriteConfig, tmp_path: Path,
                                                 fake: OpsFake,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _spread(fake)
    cfg = str(write_config())
    assert main(["--config", cfg, "collect"]) == 0
    everything = _export_all(cfg, capsys)
    months = Counter(str(r["created_at"])[:7] for r in everything)
    assert months["2026-06"] == 2 and months["2026-07"] == 1 and len(months) >= 4

    out = tmp_path / "export"
    assert main(["--config", cfg, "export", "--split", "month", "--gzip", "-o", str(out)]) == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted([f"posts-{m}.jsonl.gz" for m in months] + ["manifest.json"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["total"] == len(everything)
    for entry in manifest["files"]:
        records = _read_gz(out / entry["name"])
        month = entry["name"].removeprefix("posts-").removesuffix(".jsonl.gz")
        assert entry["count"] == months[month] == len(records)
        assert {str(r["created_at"])[:7] for r in records} == {month}
    assert main(["--config", cfg, "archive", "--verify", str(out)]) == 0

    again = tmp_path / "again"  # deterministic gzip: same posts, same bytes
    assert main(["--config", cfg, "export", "--split", "month", "--gzip", "-o", str(again)]) == 0
    assert json.loads((again / "manifest.json").read_text())["files"] == manifest["files"]

    days = tmp_path / "days"
    assert main(["--config", cfg, "export", "--split", "day", "-o", str(days)]) == 0
    day_files = [p for p in days.iterdir() if p.name != "manifest.json"]
    assert sum(len(p.read_text().splitlines()) for p in day_files) == len(everything)
    assert all(p.name.endswith(".jsonl") and len(p.name) == len("posts-2026-01-01.jsonl")
               for p in day_files)


def test_archive_twice_writes_nothing_new_and_verifies(
        write_config: WriteConfig, fake: OpsFake, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(write_config())
    assert main(["--config", cfg, "collect"]) == 0
    total = len(_export_all(cfg, capsys))
    dest = tmp_path / "archive"
    assert main(["--config", cfg, "archive", "--settle", "0", str(dest)]) == 0
    first = _snapshot(dest)
    batches = [p for p in dest.iterdir() if p.is_dir()]
    assert len(batches) == 1
    manifest = json.loads((batches[0] / "manifest.json").read_text())
    assert manifest["total"] == total

    capsys.readouterr()
    assert main(["--config", cfg, "archive", "--settle", "0", str(dest)]) == 0
    assert "nothing new" in capsys.readouterr().out
    assert _snapshot(dest) == first  # not a byte rewritten
    assert main(["--config", cfg, "archive", "--verify", str(dest)]) == 0

    fresh = fake.fill(f"tag:{TAG}", 4)  # new posts arrive: the next batch has only them
    assert main(["--config", cfg, "collect"]) == 0
    assert main(["--config", cfg, "archive", "--settle", "0", str(dest)]) == 0
    batches = sorted((p for p in dest.iterdir() if p.is_dir()), key=lambda p: p.name)
    assert len(batches) == 2
    new_batch = next(b for b in batches if not (b.name.endswith("start")))
    keys = {r["key"] for f in new_batch.glob("*.gz") for r in _read_gz(f)}
    assert keys == fresh
    assert main(["--config", cfg, "archive", "--verify", str(dest)]) == 0

    victim = next(new_batch.glob("*.gz"))  # damage is detected
    victim.write_bytes(victim.read_bytes()[:-3] + b"xyz")
    capsys.readouterr()
    assert main(["--config", cfg, "archive", "--verify", str(dest)]) == 1
    assert "sha256" in capsys.readouterr().err


def test_posts_still_settling_wait_for_the_next_archive(
        write_config: WriteConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A page may take its arrival time before it commits: the newest arrivals wait."""
    cfg = str(write_config())
    assert main(["--config", cfg, "collect"]) == 0
    dest = tmp_path / "archive"
    capsys.readouterr()
    assert main(["--config", cfg, "archive", "--settle", "3600", str(dest)]) == 0
    assert "nothing new" in capsys.readouterr().out
    assert main(["--config", cfg, "archive", "--settle", "0", str(dest)]) == 0
    batches = [p for p in dest.iterdir() if p.is_dir()]
    manifest = json.loads((batches[0] / "manifest.json").read_text())
    assert manifest["total"] == len(_export_all(cfg, capsys))


def test_an_interrupted_archive_is_written_again_whole(
        write_config: WriteConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(write_config())
    assert main(["--config", cfg, "collect"]) == 0
    dest = tmp_path / "archive"
    batch = dest / "arrived-since-start"
    batch.mkdir(parents=True)
    (batch / "posts-2026-11.jsonl.gz.part").write_bytes(b"half a file")  # a crash mid-write
    assert main(["--config", cfg, "archive", "--settle", "0", str(dest)]) == 0
    assert not list(batch.glob("*.part"))
    assert main(["--config", cfg, "archive", "--verify", str(dest)]) == 0
    manifest = json.loads((batch / "manifest.json").read_text())
    assert manifest["total"] == len(_export_all(cfg, capsys))


def test_prune_dry_run_then_real_keeps_starred(write_config: WriteConfig, db_url: str,
                                               fake: OpsFake,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    _spread(fake)
    cfg = str(write_config())
    assert main(["--config", cfg, "collect"]) == 0
    db = open_database(db_url)
    cutoff = SystemClock().now() - timedelta(days=30)
    with db.engine.begin() as conn:
        old = [r.id for r in conn.execute(select(posts.c.id).where(posts.c.created_at < cutoff)
                                          .order_by(posts.c.id))]
        total = conn.execute(select(func.count()).select_from(posts)).scalar_one()
        conn.execute(update(posts).where(posts.c.id == old[0]).values(starred=True))
    assert 1 < len(old) < total

    capsys.readouterr()
    assert main(["--config", cfg, "prune", "--older-than", "30d", "--dry-run"]) == 0
    assert f"would delete {len(old)} posts" in capsys.readouterr().out
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(posts)).scalar_one() == total

    assert main(["--config", cfg, "prune", "--older-than", "30d", "--keep-starred"]) == 0
    with db.engine.connect() as conn:
        left = {r.id for r in conn.execute(select(posts.c.id))}
    db.dispose()
    assert len(left) == total - len(old) + 1 and old[0] in left
    assert not (set(old[1:]) & left)
    assert len(_export_all(cfg, capsys)) == len(left)  # no dangling sources or topics
