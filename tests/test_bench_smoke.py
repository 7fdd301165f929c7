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
