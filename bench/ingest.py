"""Ingest: `rounds import` of a statuses file against sqlite-utils doing the same work.

Bulk (`python -m bench.ingest MODE FILE TARGET`, one process per run so its peak RSS is
its own): Mastodon API statuses, one a line (generated once and cached under bench/out/;
`rounds import` reads them as --format mastodon-jsonl):
* `import`: the command as a user runs it: a worker process reads, parses, normalizes,
  classifies and finds the works of each chunk of 1,000 while this one stores them
  (Repository.save_page, one transaction a chunk, full text indexed in one statement);
* `import1`: `--one-process` (what the worker process buys);
* `su`: sqlite-utils doing the same work, the anchor: what mastodon-to-sqlite does with a
  page of statuses (accounts split out and `upsert_all(pk="id")`, statuses
  `insert_all(pk="id", ignore=True)` with the account replaced by its id and nested
  objects as JSON text), plus the status's whole JSON in a `raw` column (as our archive
  keeps it) and an FTS5 index on its content kept by triggers (`enable_fts(["content"],
  create_triggers=True)` once the table exists, as ours is kept while it grows). No
  classification, no HTML-to-text rendering, no compression, no papers or trends.

Page by page (`ingest_ours`, what a collector does): raw status dicts -> normalize_statuses
-> classify + find the scholarly works -> Repository.save_page (pages of `page` posts),
into a freshly migrated database; also PostgreSQL's figure.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson

from bench.generate import bench_settings


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def ingest_ours(url: str, statuses: list[dict[str, Any]], page: int = 1000
                ) -> tuple[float, int]:
    """Seconds to ingest `statuses` into a fresh database at `url`; and posts stored."""
    from aggregator.clock import SystemClock
    from aggregator.collectors.mastodon.normalize import AuthorCache, normalize_statuses
    from aggregator.models import Page
    from aggregator.papers.detect import detect_post
    from aggregator.storage.db import open_database
    from aggregator.storage.repository import Repository
    from aggregator.topics.wiring import make_classify

    settings = bench_settings(url, n_sources=1)
    db = open_database(url)
    try:
        repo = Repository(db, SystemClock())
        source_id = repo.sync_sources(settings)["src00"]
        classify = make_classify(settings)
        new = 0
        authors = AuthorCache()  # as a collector keeps one for its lifetime
        started = time.perf_counter()
        for batch in _chunks(statuses, page):
            posts = tuple(normalize_statuses(batch, authors))
            topics = [classify(p, ()) for p in posts]
            works = [detect_post(p) for p in posts]
            new += repo.save_page(source_id, Page(posts, None), topics, works).new
        seconds = time.perf_counter() - started
    finally:
        db.dispose()
    return seconds, new


def _per_post(posts: list[Any], fn: Any, runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        for post in posts:
            fn(post)
        seconds.append(time.perf_counter() - started)
    return seconds


def classify_seconds(statuses: list[dict[str, Any]], runs: int) -> tuple[int, list[float]]:
    """Classification alone, one core: (posts, seconds per run) over the normalized
    statuses, with the default taxonomy, as ingest classifies them."""
    from aggregator.collectors.mastodon.normalize import normalize_statuses
    from aggregator.topics.wiring import make_classify

    posts = normalize_statuses(statuses)
    classify = make_classify(bench_settings("sqlite://", n_sources=1))
    return len(posts), _per_post(posts, lambda post: classify(post, ()), runs)


def detect_seconds(statuses: list[dict[str, Any]], runs: int) -> tuple[int, int, list[float]]:
    """Finding the scholarly works alone, one core, as ingest does (aggregator.papers):
    (posts, posts sharing a work, seconds per run). idutils is imported before timing
    (once per process: it compiles its patterns, see aggregator.papers.detect)."""
    from aggregator.collectors.mastodon.normalize import normalize_statuses
    from aggregator.papers.detect import detect_post

    posts = normalize_statuses(statuses)
    sharing = sum(1 for post in posts if detect_post(post))
    return len(posts), sharing, _per_post(posts, detect_post, runs)


def sqlite_utils_rows(statuses: list[dict[str, Any]]
                      ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    accounts: dict[str, dict[str, Any]] = {}
    rows = []
    for status in statuses:
        account = status["account"]
        accounts[account["id"]] = account
        row = dict(status)
        del row["account"]
        row["account_id"] = account["id"]
        rows.append(row)
    return rows, list(accounts.values())


def upsert_sqlite_utils(db: Any, statuses: list[dict[str, Any]]) -> None:
    rows, accounts = sqlite_utils_rows(statuses)
    db["accounts"].upsert_all(accounts, pk="id", alter=True)
    db["statuses"].upsert_all(rows, pk="id", alter=True)


def ingest_sqlite_utils(path: Path, statuses: list[dict[str, Any]], page: int = 1000
                        ) -> tuple[float, int]:
    import sqlite_utils

    db = sqlite_utils.Database(path)
    try:
        started = time.perf_counter()
        for batch in _chunks(statuses, page):
            upsert_sqlite_utils(db, batch)
        seconds = time.perf_counter() - started
        count = db["statuses"].count
    finally:
        db.close()
    return seconds, count


# --------------------------------------------------------------------------- bulk, from a file


def statuses_file(n: int) -> Path:
    """bench/out/statuses-N.jsonl: `generate_statuses(n)` one a line, built once in slices
    (memory stays flat at 1M)."""
    from bench.generate import OUT, SEED, START, generate_statuses

    path = OUT / f"statuses-{n}-{SEED}.jsonl"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    slice_ = 100_000
    with tmp.open("wb") as fh:
        for c, lo in enumerate(range(0, n, slice_)):
            for status in generate_statuses(min(slice_, n - lo), SEED + c,
                                            start=START + timedelta(seconds=lo * 20)):
                fh.write(orjson.dumps(status))
                fh.write(b"\n")
    tmp.rename(path)
    return path


def line_batches(path: Path, size: int = 1000) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    with path.open("rb") as fh:
        for line in fh:
            batch.append(line)
            if len(batch) == size:
                yield batch
                batch = []
    if batch:
        yield batch


def import_run(path: Path, url: str, *, one_process: bool) -> dict[str, Any]:
    """`rounds import PATH --source bench` into `url`, in this process as the command
    runs (its worker process included): seconds, posts stored, peak RSS of this process
    and of its worker."""
    import contextlib
    import io
    import resource

    from aggregator.cli import main
    from bench.probe import peak_rss_mb

    out = io.StringIO()
    with tempfile.TemporaryDirectory(dir=path.parent, prefix="cfg-") as where:
        config = Path(where) / "rounds.toml"
        config.write_text(f'[database]\nurl = "{url}"\n')
        config.chmod(0o600)
        started = time.perf_counter()
        with contextlib.redirect_stdout(out):
            code = main(["--config", str(config), "import", str(path), "--source", "bench",
                         *(["--one-process"] if one_process else [])])
        seconds = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"rounds import failed ({code}): {out.getvalue()[-500:]}")
    summary = out.getvalue().strip().splitlines()[-1]  # "read N, stored S, already ..."
    stored = int(summary.split("stored ")[1].split(",")[0])
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": seconds, "stored": stored, "rss_mb": peak_rss_mb(),
            "worker_rss_mb": worker, "summary": summary}


def stage_costs(path: Path, tmp: Path, n: int = 10_000) -> dict[str, float]:
    """µs per post of each stage of the bulk path on the first `n` statuses of the file,
    one process: where the time goes when a target is missed."""
    import pickle

    from aggregator.clock import SystemClock
    from aggregator.collectors.mastodon.normalize import AuthorCache, normalize_statuses
    from aggregator.models import Page
    from aggregator.papers.detect import detect_post
    from aggregator.storage.db import open_database
    from aggregator.storage.rawjson import encode_raw
    from aggregator.storage.repository import Repository
    from aggregator.topics.wiring import make_classify

    lines = [line for batch in line_batches(path) for line in batch][:n]
    costs: dict[str, float] = {}

    def timed(name: str, fn: Any) -> Any:
        started = time.perf_counter()
        out = fn()
        costs[name] = (time.perf_counter() - started) / len(lines) * 1e6
        return out

    dicts = timed("JSON parse", lambda: [orjson.loads(x) for x in lines])
    authors = AuthorCache()
    posts = timed("normalize (HTML to text, entities)", lambda: tuple(
        p for i in range(0, len(dicts), 1000)
        for p in normalize_statuses(dicts[i:i + 1000], authors)))
    classify = make_classify(bench_settings("sqlite://", n_sources=1))
    topics = timed("classify", lambda: [classify(p, ()) for p in posts])
    works = timed("find scholarly works", lambda: [detect_post(p) for p in posts])
    timed("compress raw JSON (zstd, in store)", lambda: [encode_raw(p.raw) for p in posts])
    blob = timed("pickle to the storing process", lambda: pickle.dumps((posts, topics, works)))
    timed("unpickle in the storing process", lambda: pickle.loads(blob))
    url, _ = fresh_sqlite(tmp, "stages")
    db = open_database(url)
    try:
        repo = Repository(db, SystemClock())
        source_id = repo.sync_sources(bench_settings(url, n_sources=1))["src00"]
        timed("store (save_page of 1,000, FTS included)", lambda: [
            repo.save_page(source_id, Page(posts[i:i + 1000], None), topics[i:i + 1000],
                           works[i:i + 1000]) for i in range(0, len(posts), 1000)])
    finally:
        db.dispose()
    return costs


def ingest_su_file(db_path: Path, path: Path) -> tuple[float, int]:
    """sqlite-utils doing the same work from the same file (see the module docstring)."""
    import sqlite_utils

    db = sqlite_utils.Database(db_path)
    try:
        started = time.perf_counter()
        for lines in line_batches(path):
            statuses = [orjson.loads(x) for x in lines]
            rows, accounts = sqlite_utils_rows(statuses)
            for row, line in zip(rows, lines, strict=True):
                row["raw"] = line.decode().rstrip("\n")  # the JSON as received
            db["accounts"].upsert_all(accounts, pk="id", alter=True)
            table = db["statuses"]
            fresh = not table.exists()
            table.insert_all(rows, pk="id", alter=True, ignore=True)
            if fresh:
                table.enable_fts(["content"], create_triggers=True)
        seconds = time.perf_counter() - started
        count = db["statuses"].count
    finally:
        db.close()
    return seconds, count


def main(argv: list[str]) -> int:
    """`python -m bench.ingest import|import1|su FILE TARGET`: one run; prints JSON.
    import: `rounds import` as it runs by default (a worker process reads and classifies
    while this one stores); import1: `--one-process`; su: sqlite-utils."""
    import json
    import sys

    from bench.probe import peak_rss_mb

    mode, path, target = argv[0], Path(argv[1]), argv[2]
    if mode == "su":
        seconds, stored = ingest_su_file(Path(target), path)
        result: dict[str, Any] = {"seconds": seconds, "stored": stored,
                                  "rss_mb": peak_rss_mb()}
    else:
        result = import_run(path, target, one_process=mode == "import1")
    print(json.dumps(result))
    sys.stdout.flush()
    return 0


def fresh_sqlite(tmp: Path, name: str) -> tuple[str, Path]:
    path = tmp / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}", path


def tempdir() -> tempfile.TemporaryDirectory[str]:
    from bench.generate import OUT

    OUT.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(dir=OUT, prefix="tmp-")


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
