"""Archive files: exports split by period, gzip, a manifest with counts and sha256, and
`rounds archive DIR`, which exports what arrived since the last archive.

Every file is written to a temporary file and renamed when complete (aggregator.fileio),
so a reader (or a backup job) never sees half a file. Gzip output is deterministic (no
name or time in the header): the same posts give the same bytes and the same sha256.

The archive's high-water mark (the arrival time up to which posts were archived) is kept
in `app_state` per archive directory and moves only once the batch's manifest is on
disk: an interrupted run leaves the mark where it was, and the next run writes the same
batch again, in full.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import itertools
import json
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import and_, exists, false, func, or_, select

from aggregator.export import ExportFilter, iso_z, iter_records, write_csv, write_jsonl
from aggregator.fileio import atomic_text, make_dirs, output_error
from aggregator.storage.repository import Repository
from aggregator.storage.schema import posts

logger = logging.getLogger(__name__)

Split = Literal["day", "month"]
MANIFEST = "manifest.json"
BATCH_PREFIX = "arrived-since-"
FORMAT = "grandrounds-archive/1"
_PERIOD = {"day": 10, "month": 7}  # prefix length of an ISO date


@dataclass(frozen=True, slots=True)
class FileEntry:
    name: str
    count: int
    sha256: str
    bytes: int


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_name(stem: str, period: str | None, fmt: str, gz: bool) -> str:
    return f"{stem}{'-' + period if period else ''}.{fmt}{'.gz' if gz else ''}"


def write_files(records: Iterator[dict[str, Any]], directory: Path, *, fmt: str = "jsonl",
                split: Split | None = None, gz: bool = False, raw: bool = False,
                stem: str = "posts") -> list[FileEntry]:
    """One file per period of `created_at` (records come oldest first) or one file."""
    make_dirs(directory)
    entries = []
    width = _PERIOD[split] if split else 0
    for period, group in itertools.groupby(
            records, key=lambda r: str(r["created_at"])[:width] if width else ""):
        path = directory / file_name(stem, period or None, fmt, gz)
        with atomic_text(path, gz=gz) as out:
            count = (write_csv(group, out, raw=raw) if fmt == "csv"
                     else write_jsonl(group, out))  # noqa: B031  (each group read once)
        entries.append(FileEntry(path.name, count, sha256_of(path), path.stat().st_size))
    return entries


def drop_manifest(directory: Path) -> None:
    """Before files are rewritten in a directory that holds a manifest: the manifest goes
    first (it is written again last), so a run stopped half-way (a full disk, a kill) never
    leaves an old manifest vouching for files that have changed or are missing."""
    path = directory / MANIFEST
    if not path.is_file():  # none yet (or no such directory: writing the files says so)
        return
    try:
        path.unlink()
    except OSError as exc:
        raise output_error(path, exc) from None


def write_manifest(directory: Path, entries: list[FileEntry], **extra: Any) -> Path:
    doc = {"format": FORMAT, **extra, "total": sum(e.count for e in entries),
           "files": [asdict(e) for e in entries]}
    path = directory / MANIFEST
    with atomic_text(path) as out:
        json.dump(doc, out, indent=2, ensure_ascii=True)
        out.write("\n")
    return path


def _count_records(path: Path) -> int:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as fh:
        if ".csv" in path.name:
            return max(sum(1 for _ in csv.reader(fh)) - 1, 0)
        return sum(1 for line in fh if line.strip())


def verify(directory: Path) -> tuple[int, list[str]]:
    """Check every manifest under `directory`: (files checked, problems)."""
    problems: list[str] = []
    checked = 0
    manifests = sorted(directory.rglob(MANIFEST))
    for batch in sorted(directory.glob(f"{BATCH_PREFIX}*")):
        if batch.is_dir() and not (batch / MANIFEST).is_file():
            problems.append(f"{batch}: incomplete (no {MANIFEST}): an interrupted run; the "
                            "next `rounds archive` writes it again, whole")
    if not manifests:
        return 0, [*problems, f"{directory}: no {MANIFEST} found"]
    for manifest in manifests:
        try:
            doc = json.loads(manifest.read_text(encoding="utf-8"))
            files = doc["files"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"{manifest}: unreadable manifest ({exc})")
            continue
        for entry in files:
            path = manifest.parent / str(entry["name"])
            checked += 1
            if "/" in str(entry["name"]) or not path.is_file():
                problems.append(f"{path}: missing")
            elif sha256_of(path) != entry["sha256"]:
                problems.append(f"{path}: sha256 differs from the manifest")
            elif _count_records(path) != entry["count"]:
                problems.append(f"{path}: record count differs from the manifest")
    return checked, problems


# ---------------------------------------------------------------------- rounds archive


@dataclass(frozen=True, slots=True)
class ArchiveResult:
    batch: Path | None  # None: nothing new arrived
    files: list[FileEntry]
    redone: bool = False  # the batch was left incomplete by an interrupted run

    @property
    def total(self) -> int:
        return sum(e.count for e in self.files)


def mark_key(directory: Path) -> str:
    return f"archive.mark:{directory.expanduser().resolve()}"


SETTLE = timedelta(minutes=1)  # see archive_new


def archive_new(repo: Repository, directory: Path, *, split: Split = "month", gz: bool = True,
                raw: bool = False, fmt: str = "jsonl",
                settle: timedelta = SETTLE) -> ArchiveResult:
    """Export the posts that arrived (first_seen) since this directory's last archive.

    Posts that arrived in the last `settle` wait for the next run: a page being written
    right now takes its first_seen before it commits, so an archive cut at "now" could
    pass over it for good.
    """
    key, last_key = mark_key(directory), mark_key(directory) + ":last_id"
    stored = repo.get_app_state(key)
    since = datetime.fromisoformat(stored) if stored else None
    last_text = repo.get_app_state(last_key)
    last_id = int(last_text) if last_text else None
    until = repo.clock.now() - settle
    # the window of arrival times since the mark; and posts stored after the last archived
    # one whose arrival time is before the mark: the clock went back since the last run
    window = posts.c.first_seen < until
    if since is not None:
        window = and_(posts.c.first_seen >= since, window) if until > since else false()
        if last_id is not None:
            window = or_(window, and_(posts.c.id > last_id,
                                      posts.c.first_seen < min(since, until)))
    arrived = window
    with repo.db.engine.connect() as conn:
        any_new = conn.execute(select(exists().where(
            and_(arrived, posts.c.deleted_at.is_(None))))).scalar()
        newest = conn.execute(select(func.max(posts.c.id)).where(arrived)).scalar()
    if not any_new:
        return ArchiveResult(None, [])
    label = since.strftime("%Y%m%dT%H%M%S.%fZ") if since else "start"
    if since is not None and until <= since:  # behind the mark: named by the last post
        label += f"-after-{last_id}"
    make_dirs(directory)  # a mistake names the directory the user gave, not our batch
    batch = directory / f"{BATCH_PREFIX}{label}"
    redone = batch.exists()
    if redone:  # an earlier attempt was interrupted (killed, disk full): write it again, whole
        logger.info("%s was left incomplete by an interrupted run: writing it again", batch)
        for old in batch.iterdir():
            if old.is_file():
                old.unlink()
    entries = write_files(iter_records(repo.db, ExportFilter(where=arrived), raw=raw), batch,
                          fmt=fmt, split=split, gz=gz, raw=raw)
    write_manifest(batch, entries, arrived_since=iso_z(since), arrived_until=iso_z(until),
                   split=split, gzip=gz)
    repo.set_app_state(key, max(since, until).isoformat() if since else until.isoformat())
    if newest is not None:
        repo.set_app_state(last_key, str(max(int(newest), last_id or 0)))
    logger.info("archived %d posts into %s", sum(e.count for e in entries), batch)
    return ArchiveResult(batch, entries, redone)
