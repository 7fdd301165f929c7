"""Import-only sources: a source that `rounds import` fills and nothing ever collects.

They live only in the archive (kind ``import``, no account), never in the configuration:
the scheduler, `rounds collect` and the daemon iterate the configured sources, so none of
them can run one. `rounds status` and the reader list them beside the configured ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.dialects import postgresql, sqlite

from aggregator.storage.db import Database
from aggregator.storage.schema import sources

KIND = "import"


@dataclass(frozen=True, slots=True)
class StoredSource:
    id: int
    name: str
    network: str
    kind: str
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None


def get_source(db: Database, name: str) -> StoredSource | None:
    with db.engine.connect() as conn:
        row = conn.execute(select(sources).where(sources.c.name == name)).first()
    return None if row is None else _stored(row)


def ensure_import_source(db: Database, name: str, network: str, value: str) -> StoredSource:
    """The stored source `name`, created as an import-only source when absent. `value`
    says what it was imported from (the format), for `rounds status`."""
    found = get_source(db, name)
    if found is not None:
        return found
    insert = postgresql.insert if db.dialect == "postgresql" else sqlite.insert
    with db.engine.begin() as conn:  # another import may create it at the same moment
        conn.execute(insert(sources).values(
            name=name, network=network, account="", kind=KIND, value=value,
            consecutive_failures=0).on_conflict_do_nothing(index_elements=["name"]))
    created = get_source(db, name)
    assert created is not None
    return created


def list_import_sources(db: Database) -> list[StoredSource]:
    with db.engine.connect() as conn:
        rows = conn.execute(select(sources).where(sources.c.kind == KIND)
                            .order_by(sources.c.name)).all()
    return [_stored(r) for r in rows]


def import_source_names(db: Database) -> list[str]:
    """Names a query (`source:NAME`) or `export --source` may use besides the configured
    sources."""
    with db.engine.connect() as conn:
        return [r[0] for r in conn.execute(select(sources.c.name).where(sources.c.kind == KIND)
                                           .order_by(sources.c.name))]


def _stored(row: Row[Any]) -> StoredSource:
    return StoredSource(id=row.id, name=row.name, network=row.network, kind=row.kind,
                        last_run_at=row.last_run_at, last_success_at=row.last_success_at,
                        last_error=row.last_error)
