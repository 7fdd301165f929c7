"""The benchmark's generator and ingest measure honest work: every generated post is
stored exactly once, indexed for search, and classified."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from bench.generate import expected_keys, generate_statuses
from bench.ingest import ingest_ours


def test_generated_archive_is_stored_exactly_once(tmp_path: Path) -> None:
    statuses = generate_statuses(500, seed=3)
    assert generate_statuses(500, seed=3) == statuses  # fixed seed, same archive
    boosts = [s for s in statuses if s["reblog"]]
    assert 0.05 < len(boosts) / len(statuses) < 0.3
    keys = expected_keys(statuses)
    url = f"sqlite:///{tmp_path / 'smoke.db'}"

    seconds, stored = ingest_ours(url, statuses, page=200)

    assert seconds > 0
    assert stored == len(keys)
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM posts")).scalar_one() == len(keys)
        assert {r[0] for r in conn.execute(text("SELECT key FROM posts"))} == keys
        assert conn.execute(text("SELECT count(*) FROM posts_fts")).scalar_one() == len(keys)
        assert conn.execute(text("SELECT count(*) FROM boosts")).scalar_one() == len(
            {(s["account"]["acct"], s["reblog"]["uri"]) for s in boosts})
        tagged = conn.execute(text("SELECT count(DISTINCT post_id) FROM post_topics")
                              ).scalar_one()
        assert tagged > len(keys) // 2
    engine.dispose()


def test_bluesky_feeds_are_collected_once_with_one_request_per_unchanged_source(
        tmp_path: Path) -> None:
    from aggregator.demo.generate_bluesky import short_url
    from bench.bluesky import (
        expected_posts,
        generate_feed,
        per_post_costs,
        sky_settings,
        start_sky_fake,
    )
    from bench.collect import make_service

    items = generate_feed(300, seed=4)
    assert generate_feed(300, seed=4) == items  # fixed seed, same feed
    reposts = [i for i in items if "reason" in i]
    assert 0.05 < len(reposts) / len(items) < 0.3
    assert len(expected_posts(items)) < len(items)  # some reposts repeat a post in the feed
    for item in items:  # facets mark the UTF-8 bytes of what they say
        record = item["post"]["record"]
        data = record["text"].encode()
        for facet in record.get("facets", []):
            marked = data[facet["index"]["byteStart"]:facet["index"]["byteEnd"]].decode()
            feature = facet["features"][0]
            assert marked == (f"#{feature['tag']}" if "tag" in feature else
                              short_url(feature["uri"]))

    fake, expected = start_sky_fake(2, 150, seed=9)
    url = f"sqlite:///{tmp_path / 'sky.db'}"
    service = make_service(url, sky_settings(url, fake.base_url, 2, 150))
    try:
        results = service.collect()
        assert [r.error for r in results] == [None, None]
        assert sum(r.new for r in results) == len(expected)
        before = fake.xrpc_requests()
        assert sum(r.new for r in service.collect()) == 0
        assert fake.xrpc_requests() - before == 2  # one request per unchanged source
    finally:
        service.close()
        service.repo.db.dispose()
        fake.stop()
    engine = create_engine(url)
    with engine.connect() as conn:
        keys = {r[0] for r in conn.execute(text("SELECT key FROM posts"))}
    engine.dispose()
    assert keys == expected

    costs = per_post_costs(items[:200], runs=1)
    assert set(costs) == {"sdk_parse", "orjson_parse", "typed_models", "models_to_dict",
                          "normalize"} and all(v > 0 for v in costs.values())


def test_the_import_bench_stores_every_generated_tweet_once(tmp_path: Path) -> None:
    from bench.importing import run_import, write_twarc2

    path = tmp_path / "t.jsonl"
    expected = write_twarc2(path, 300)

    seconds, cpu, line, peak_kb = run_import(tmp_path, "smoke", path)

    assert line == f"read 300, stored {expected}, already present {300 - expected}, bad 0"
    assert seconds > 0 and cpu > 0
    assert 10_000 < peak_kb < 1_000_000  # the import process's own peak, in kB
