"""Migration 0013: on SQLite the trend rollups and post_works become WITHOUT ROWID tables
(each row was kept twice), their rows and indexes kept, both ways; PostgreSQL unchanged."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, text

from aggregator.storage.db import _alembic_config, head_revision, make_engine, upgrade

TABLES = ("topic_days", "hashtag_days", "link_days", "post_works")
ROWS = {
    "topic_days": "INSERT INTO topic_days VALUES ('2026-11-01', 'cardiology', 3)",
    "hashtag_days": "INSERT INTO hashtag_days VALUES ('2026-11-01', 'medsky', 2)",
    "link_days": "INSERT INTO link_days VALUES ('2026-11-01', 'https://doi.org/10.1/x', 7, 1)",
    "post_works": "INSERT INTO post_works VALUES (1, 1, '2026-11-01 00:00:00', 1)",
}


def _state(engine: Engine) -> tuple[int, dict[str, list[tuple[object, ...]]], list[str]]:
    """(tables WITHOUT ROWID, rows of each table, names of their indexes)."""
    with engine.connect() as conn:
        rows = {t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t}"))] for t in TABLES}
        if engine.dialect.name != "sqlite":
            return 0, rows, []
        ddl = conn.execute(text("SELECT group_concat(sql, ';') FROM sqlite_master WHERE "
                                "type = 'table' AND name IN (:a, :b, :c, :d)"),
                           dict(zip("abcd", TABLES, strict=True))).scalar_one()
        indexes = conn.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'post_works' "
            "AND sql IS NOT NULL ORDER BY name")).scalars().all()
    return ddl.count("WITHOUT ROWID"), rows, list(indexes)


def test_rollups_lose_their_rowid_and_keep_rows_and_indexes_both_ways(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0012")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO accounts (network, key, handle, display_name, url, bio, "
                          "remote_id, updated_at) VALUES ('mastodon', 'a', 'a', '', '', '', "
                          "'', '2026-01-01 00:00:00')"))
        conn.execute(text(
            "INSERT INTO posts (network, key, remote_id, url, author_id, created_at, text, "
            "spoiler, hashtags, mentions, links, media, has_link, has_media, sensitive, raw, "
            "first_seen, is_read, starred, context) SELECT 'mastodon', 'k', 'k', '', id, "
            "'2026-01-01 00:00:00', 'text', '', '[]', '[]', '[]', '[]', false, false, false, "
            ":raw, '2026-01-01 00:00:00', false, false, false FROM accounts"), {"raw": b""})
        conn.execute(text("INSERT INTO works (scheme, ident) VALUES ('doi', '10.1/x')"))
        for sql in ROWS.values():
            conn.execute(text(sql))
    before = _state(engine)

    upgrade(engine)
    after = _state(engine)
    command.downgrade(_alembic_config(engine), "0012")
    back = _state(engine)
    upgrade(engine)

    sqlite = engine.dialect.name == "sqlite"
    assert (before[0], after[0], back[0]) == ((0, 4, 0) if sqlite else (0, 0, 0))
    assert before[1] == after[1] == back[1] and all(before[1].values())
    assert before[2] == after[2] == back[2] == (
        ["ix_post_works_created", "ix_post_works_post"] if sqlite else [])
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() \
            == head_revision()
    engine.dispose()
