"""Opening databases: migration, pragmas, and refusing what is not ours."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import String, Text, text

from aggregator.errors import StorageError
from aggregator.storage.db import (
    head_revision,
    make_engine,
    open_database,
    schema_revision,
    upgrade,
)
from aggregator.storage.schema import metadata


def test_fresh_database_is_migrated_to_head_and_matches_schema(db_url: str) -> None:
    db = open_database(db_url)
    assert schema_revision(db.engine) == head_revision()

    def skip_fts(obj: object, name: str | None, type_: str, *_: object) -> bool:
        return not (name or "").startswith(("posts_fts", "search", "ix_posts_search"))

    def lengths_only_where_enforced(ctx: object, inspected_column: object,
                                    metadata_column: object, inspected: object,
                                    declared: object) -> bool | None:
        # SQLite ignores VARCHAR lengths, so migration 0004 leaves its declared 64 alone;
        # PostgreSQL enforces them and is compared to the letter.
        if db.engine.dialect.name == "sqlite" and isinstance(inspected, String) \
                and isinstance(declared, String) and not isinstance(declared, Text):
            return False
        return None

    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={
            "include_object": skip_fts, "compare_type": lengths_only_where_enforced})
        diff = compare_metadata(ctx, metadata)
    db.dispose()
    assert diff == [], f"schema.py and the migrations disagree: {diff}"


def test_sqlite_runs_in_wal_mode_with_busy_timeout(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'a.db'}")
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA page_size")).scalar() == 8192  # ~1 KB rows
    db.dispose()


def test_database_from_a_newer_version_is_refused_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    open_database(f"sqlite:///{path}").dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM alembic_version")  # one row per head; several heads
        conn.execute("INSERT INTO alembic_version VALUES ('9999_from_the_future')")
    before = path.read_bytes()
    with pytest.raises(StorageError, match="newer grandrounds"):
        open_database(f"sqlite:///{path}")
    assert path.read_bytes() == before


def test_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    with pytest.raises(StorageError, match="not grandrounds'"):
        open_database(f"sqlite:///{path}")


def test_corrupt_file_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database, just some bytes " * 200)
    with pytest.raises(StorageError, match="cannot open database"):
        open_database(f"sqlite:///{path}")


@pytest.mark.parametrize("url", ["not a url", "mysql+nosuchdriver://x/y"])
def test_bad_database_url_is_a_storage_error(url: str) -> None:
    with pytest.raises(StorageError):
        open_database(url)


def test_unreachable_postgres_is_a_storage_error() -> None:
    with pytest.raises(StorageError, match="cannot open database"):
        open_database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")


def test_processes_opening_a_new_database_at_once_all_succeed(db_url: str) -> None:
    """Cron's first minute: several processes find the database empty at the same time."""
    import subprocess
    import sys

    code = ("import sys; from aggregator.storage.db import open_database; "
            "open_database(sys.argv[1]).dispose(); print('ok')")
    procs = [subprocess.Popen([sys.executable, "-c", code, db_url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [err for _, err in results]
    db = open_database(db_url)
    assert schema_revision(db.engine) == head_revision()
    db.dispose()


def test_opening_a_new_archive_waits_while_another_process_is_creating_it(
        tmp_path: Path) -> None:
    """SQLite refuses the switch to WAL at once, without its busy wait, while another
    connection writes the new file (the first process of cron's minute making it WAL):
    opening must wait for that as for any other lock, not fail one run in fifteen."""
    import threading

    path = tmp_path / "rounds.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    outcome: list[str] = []

    def open_it() -> None:
        try:
            open_database(f"sqlite:///{path}").dispose()
            outcome.append("opened")
        except StorageError as exc:
            outcome.append(str(exc))

    opener = threading.Thread(target=open_it)
    opener.start()
    opener.join(timeout=0.5)  # before the fix it had failed by now
    holder.execute("ROLLBACK")
    holder.close()
    opener.join(timeout=60)
    assert outcome == ["opened"]
    db = open_database(f"sqlite:///{path}")
    assert schema_revision(db.engine) == head_revision()
    db.dispose()


def test_an_archive_from_before_0004_keeps_its_rows_and_takes_at_uris(db_url: str) -> None:
    """Bluesky stores at:// URIs as remote ids and cursors: longer than the 64 characters
    PostgreSQL enforced before migration 0004."""
    uri = "at://did:web:a-rather-long-host-name.hospital.example.org/app.bsky.feed.post/" \
        "3kabcdefghijk"
    engine = make_engine(db_url)
    upgrade(engine, "0002")
    upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (name, network, account, kind, value, cursor, "
                          "consecutive_failures) "
                          "VALUES ('s', 'bluesky', 'sky', 'list', 'at://x', 'old', 0)"))
    upgrade(engine)
    assert schema_revision(engine) == head_revision()
    with engine.begin() as conn:
        assert conn.execute(text("SELECT cursor FROM sources")).scalar_one() == "old"
        conn.execute(text("UPDATE sources SET cursor = :u, resolved_id = :u"), {"u": uri})
        assert conn.execute(text("SELECT resolved_id FROM sources")).scalar_one() == uri
    engine.dispose()


def test_a_write_interrupted_by_ctrl_c_leaves_no_lock_behind(tmp_path: Path) -> None:
    """Ctrl-C (or SIGTERM) lands in the middle of a statement: the transaction rolls back
    and the lock is free at once, while the interrupt is still being handled (an
    interrupted import records its run then). It used to come back as 'database
    unreachable', and the closed connection kept its write lock while the traceback
    lived: the interrupted import waited 30 s on its own lock."""
    from sqlalchemy import event

    url = f"sqlite:///{tmp_path / 'a.db'}"
    db = open_database(url)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE notes (n INTEGER)")

    def interrupted(cursor: sqlite3.Cursor, statement: str, parameters: object,
                    _context: object) -> bool:
        cursor.executemany(statement, parameters)  # type: ignore[arg-type]
        raise KeyboardInterrupt  # as the signal handler raises it, before the call returns

    event.listen(db.engine, "do_executemany", interrupted)
    with pytest.raises(KeyboardInterrupt) as caught, db.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO notes VALUES (?)", [(1,), (2,)])
    assert caught.value.__traceback__ is not None  # still alive, as in an except block
    other = open_database(f"{url}?timeout=0.5")
    with other.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO notes VALUES (3)")
        assert [n for (n,) in conn.exec_driver_sql("SELECT n FROM notes")] == [3]
    other.dispose()
    db.dispose()
