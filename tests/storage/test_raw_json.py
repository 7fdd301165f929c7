"""The raw JSON column: stored compressed, read back byte for byte, migrated both ways."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, text

from aggregator.clock import ManualClock
from aggregator.collectors.mastodon.normalize import normalize_statuses
from aggregator.errors import StorageError
from aggregator.export import ExportFilter, iter_records
from aggregator.models import Page
from aggregator.storage.db import Database, _alembic_config, head_revision, make_engine, upgrade
from aggregator.storage.rawjson import decode_raw, encode_raw
from aggregator.storage.repository import Repository
from aggregator.storage.schema import posts
from tests.conftest import DATA
from tests.storage.test_repository import T0, settings

STATUSES = json.loads((DATA / "mastodon" / "timelines_list.json").read_text())["body"]
ODD = ['{"t":"naïve café ✓ 日本語 😷"}', '{"lone":"\ud83d"}', "x", "[]",
       '{"t":"' + "\\u0000 \u0001 " * 50 + '"}']


@pytest.mark.parametrize("value", ODD)
def test_any_text_decodes_to_exactly_itself(value: str) -> None:
    assert decode_raw(encode_raw(value)) == value


def test_no_raw_json_is_stored_empty() -> None:
    assert encode_raw("") == b"" and decode_raw(b"") == "" and decode_raw(None) == ""


def test_damaged_stored_json_is_a_storage_error_not_a_traceback() -> None:
    stored = encode_raw(json.dumps(STATUSES[0]))
    with pytest.raises(StorageError, match="damaged"):
        decode_raw(stored[:-7])


def test_a_recorded_status_takes_a_fraction_of_its_size() -> None:
    raw = json.dumps(STATUSES[0], separators=(",", ":"), ensure_ascii=False)
    assert len(encode_raw(raw)) < len(raw.encode()) / 3


def test_stored_compressed_and_exported_as_received(db: Database, tmp_path: Path) -> None:
    repo = Repository(db, ManualClock(T0))
    source = repo.sync_sources(settings(tmp_path))["cardio"]
    received = normalize_statuses(STATUSES)
    repo.save_page(source, Page(tuple(received), None))
    with db.engine.connect() as conn:
        stored = {r.key: r.raw for r in conn.execute(select(posts.c.key, posts.c.raw))}
    by_key = {p.key: p.raw for p in received}
    assert {k: decode_raw(v) for k, v in stored.items()} == by_key
    assert sum(len(v) for v in stored.values()) < sum(len(r.encode()) for r in by_key.values()) / 2
    exported = {r["key"]: r["raw"] for r in iter_records(db, ExportFilter(), raw=True)}
    assert exported == {k: json.loads(v) for k, v in by_key.items()}


def test_migration_compresses_existing_rows_and_the_downgrade_restores_them(
        db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0009")
    raws = [json.dumps(s, separators=(",", ":"), ensure_ascii=False) for s in STATUSES]
    raws += [v for v in ODD if "\ud83d" not in v] + [""]  # text columns refuse lone surrogates
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO accounts (network, key, handle, display_name, url, bio, "
                          "remote_id, updated_at) VALUES ('mastodon', 'a', 'a', '', '', '', "
                          "'', '2026-01-01 00:00:00')"))
        author = conn.execute(text("SELECT id FROM accounts")).scalar_one()
        conn.execute(text(
            "INSERT INTO posts (network, key, remote_id, url, author_id, created_at, text, "
            "spoiler, hashtags, mentions, links, media, has_link, has_media, sensitive, raw, "
            "first_seen, is_read, starred, context) VALUES ('mastodon', :k, :k, '', :a, "
            "'2026-01-01 00:00:00', 'text', '', '[]', '[]', '[]', '[]', false, false, false, "
            ":raw, '2026-01-01 00:00:00', false, false, false)"),
            [{"k": str(i), "a": author, "raw": r} for i, r in enumerate(raws)])
        conn.execute(text("INSERT INTO post_topics (post_id, topic, created_at, rule, matched, "
                          "weight) SELECT id, 'cardiology', created_at, 'hashtag', 'x', 1 "
                          "FROM posts"))
    upgrade(engine)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT raw FROM posts ORDER BY id")).scalars().all()
    assert [decode_raw(v) for v in stored] == raws
    assert all(isinstance(v, bytes) for v in stored)
    if engine.dialect.name == "sqlite":  # the primary key is the table
        with engine.connect() as conn:
            ddl = conn.execute(text("SELECT group_concat(sql) FROM sqlite_master WHERE name "
                                    "IN ('post_topics', 'post_sources')")).scalar_one()
            topics = conn.execute(text("SELECT count(*) FROM post_topics")).scalar_one()
        assert ddl.count("WITHOUT ROWID") == 2 and topics == len(raws)
    assert sum(map(len, stored)) < sum(len(r.encode()) for r in raws) / 2
    command.downgrade(_alembic_config(engine), "0009")
    with engine.connect() as conn:
        back = conn.execute(text("SELECT raw FROM posts ORDER BY id")).scalars().all()
    assert back == raws
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM post_topics")).scalar_one() == len(raws)
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() \
            == head_revision()
    engine.dispose()
