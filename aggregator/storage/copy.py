"""`rounds db copy --to URL`: stream every table into a new, empty database.

Tables go parents first (metadata order follows the foreign keys), each read in primary
key order with keyset paging and written in batches, one transaction per batch. Ids are
kept, so references stay valid; PostgreSQL sequences are moved past the copied ids. The
full-text index follows: on PostgreSQL by itself (a generated column), on SQLite as the
bulk write path builds it (the insert trigger deferred, each batch indexed in one
statement: sqlite_pages.index_new_posts). At the end every table's row count is compared.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Table, and_, func, or_, select, text

from aggregator.errors import StorageError
from aggregator.storage import sqlite_pages
from aggregator.storage.db import Database
from aggregator.storage.schema import metadata

logger = logging.getLogger(__name__)

Progress = Callable[[str, int], None]


def _tables() -> list[Table]:
    return list(metadata.sorted_tables)


def count_rows(db: Database, table: Table) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _after(table: Table, last: tuple[object, ...]) -> object:
    cols = list(table.primary_key.columns)
    if len(cols) == 1:
        return cols[0] > last[0]
    # (a, b) > (x, y) spelled out: portable across SQLite versions and PostgreSQL
    terms = []
    for i, col in enumerate(cols):
        terms.append(and_(*(c == v for c, v in zip(cols[:i], last[:i], strict=True)),
                          col > last[i]))
    return or_(*terms)


def copy_table(src: Database, dst: Database, table: Table, batch: int,
               progress: Progress | None = None) -> int:
    keys = list(table.primary_key.columns)
    # Ids are copied in order into an empty table: each batch is one range of ids above
    # the ones before, as `index_new_posts` needs.
    deferred_fts = table.name == "posts" and dst.dialect == "sqlite"
    copied = 0
    last: tuple[object, ...] | None = None
    while True:
        stmt = select(table).order_by(*keys).limit(batch)
        if last is not None:
            stmt = stmt.where(_after(table, last))  # type: ignore[arg-type]
        with src.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(stmt)]
        if not rows:
            return copied
        with dst.engine.begin() as conn:
            if deferred_fts:  # as the bulk write path: indexed in one statement a batch
                conn.exec_driver_sql(sqlite_pages.DEFER_FTS)
            conn.execute(table.insert(), rows)
            if deferred_fts:
                sqlite_pages.index_new_posts(conn, (r["id"] for r in rows))
        copied += len(rows)
        last = tuple(rows[-1][c.name] for c in keys)
        if progress:
            progress(table.name, copied)


def _reset_sequences(dst: Database) -> None:
    with dst.engine.begin() as conn:
        for table in _tables():
            cols = list(table.primary_key.columns)
            if len(cols) != 1 or table.c[cols[0].name].autoincrement is False:
                continue
            seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                               {"t": table.name, "c": cols[0].name}).scalar()
            if seq:  # names from our own metadata, not from input
                top = f'(SELECT MAX("{cols[0].name}") FROM "{table.name}")'
                conn.execute(text(f"SELECT setval(CAST(:seq AS regclass), "
                                  f"COALESCE({top}, 0) + 1, false)"), {"seq": seq})


def analyze(db: Database) -> None:
    """Refresh the planner's statistics after a bulk load. PostgreSQL's autovacuum gets
    there eventually; until it does, a freshly filled database plans topic pages from
    empty statistics (measured: 57 ms instead of 3 ms per page of 50 at 100k posts)."""
    if db.dialect != "postgresql":
        return  # SQLite plans well without statistics; with them its plans would change
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def copy_database(src: Database, dst: Database, *, batch: int = 1000,
                  progress: Progress | None = None) -> dict[str, tuple[int, int]]:
    """Copy everything; returns table -> (rows in source, rows in target).

    Raises:
        StorageError: the target already holds posts, sources or accounts.
    """
    for table in _tables():
        if table.name != "app_state" and count_rows(dst, table):
            raise StorageError(f"{dst.url} is not empty ({table.name} has rows); "
                               "copy into a new database")
    with dst.engine.begin() as conn:
        conn.execute(metadata.tables["app_state"].delete())
    for table in _tables():
        n = copy_table(src, dst, table, batch, progress)
        logger.info("copied %d rows of %s", n, table.name)
    if dst.dialect == "postgresql":
        _reset_sequences(dst)
    analyze(dst)
    return {t.name: (count_rows(src, t), count_rows(dst, t)) for t in _tables()}
