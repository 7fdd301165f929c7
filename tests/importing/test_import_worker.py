"""A big input is read, parsed and classified in a worker process: what it stores is
exactly what reading in the importing process stores (posts, authors, topics, works)."""

from __future__ import annotations

import copy
import json
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
    papers = _papers_file(tmp_path / "papers.jsonl")
    exports, found = [], []
    for name, how in (("worker", ()), ("here", ("--one-process",))):
        archive = fresh_rounds(name, extra=CONFIGURED)
        # a curated voice's topics and the configured source's defaults reach the worker
        archive.ok("voices", "add", "Jim Moffitt", "x:snowman", "--topic", "oncology")
        out = archive.ok("import", path, recorded, papers, "--source", "medtwitter", *how)
        assert out.strip().endswith(", already present 0, bad 0")
        exports.append(archive.ok("export", "--raw"))
        found.append(json.loads(archive.ok("papers", "--since", "2000-01-01", "--json")))
    worker, here = exports
    assert worker == here
    # the works are found by the storing process when a worker reads: the same ones
    assert found[0] == found[1]
    assert {(w["identifier"], w["posts"]) for w in found[0]["works"]} == {
        ("10.1056/nejmoa2034577", 3), ("33301246", 3)}
    assert '"oncology"' in worker and '"public_health"' in worker and '"cardiology"' in worker


def _papers_file(path: Path) -> Path:
    """Tweets naming a paper by its DOI and by its PubMed id, written out."""
    page = builders.body("twitter/v2/tweets_search_recent.json")
    texts = ["New trial, doi:10.1056/NEJMoa2034577, worth a read",
             "The same on PubMed: PMID: 33301246"]
    data = []
    for i, text in enumerate(texts * 3):
        tweet = copy.deepcopy(page["data"][0])
        tweet.pop("entities", None)
        tweet["id"] = str(1276000000000000000 + i)
        tweet["text"] = f"{text} ({i})"
        data.append(tweet)
    path.write_text(json.dumps({"data": data, "meta": {"result_count": len(data)}}) + "\n")
    return path
