"""A big input is read, parsed and classified in a worker process: what it stores is
exactly what reading in the importing process stores (posts, authors, topics, works)."""

from __future__ import annotations

from pathlib import Path

from aggregator.importing.reading import WORKER_MIN_BYTES
from tests.importing import builders
from tests.importing.conftest import MakeRounds
from tests.importing.test_import_resume import big_twarc2

CONFIGURED = """
[accounts.x]
network = "twitter"
[[sources]]
name = "medtwitter"
account = "x"
list = "123"
topics = ["public_health"]
"""


def test_a_worker_process_stores_what_one_process_stores(fresh_rounds: MakeRounds,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    big_twarc2(path, 7_000)
    assert path.stat().st_size >= WORKER_MIN_BYTES
    recorded = builders.write_jsonl(tmp_path / "t.jsonl", builders.v2_bodies())  # snowman
    exports = []
    for name, how in (("worker", ()), ("here", ("--one-process",))):
        archive = fresh_rounds(name, extra=CONFIGURED)
        # a curated voice's topics and the configured source's defaults reach the worker
        archive.ok("voices", "add", "Jim Moffitt", "x:snowman", "--topic", "oncology")
        out = archive.ok("import", path, recorded, "--source", "medtwitter", *how)
        assert out.strip().endswith(", already present 0, bad 0")
        exports.append(archive.ok("export", "--raw"))
    worker, here = exports
    assert worker == here
    assert '"oncology"' in worker and '"public_health"' in worker and '"cardiology"' in worker
