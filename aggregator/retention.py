"""Retention: `rounds prune` deletes posts created before a cut-off, in batches.

Their sources, topics and boosts go with them (ON DELETE CASCADE; the full-text index
follows by trigger), then the accounts nothing refers to any more. Starred posts can be
kept. A dry run counts what would go and changes nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, exists, func, select

from aggregator.storage import trend_rollup
from aggregator.storage.db import Database
from aggregator.storage.schema import accounts, boosts, posts

logger = logging.getLogger(__name__)
BATCH = 500


@dataclass(frozen=True, slots=True)
class PruneResult:
    posts: int
    accounts: int
    dry_run: bool


def _old(before: datetime, keep_starred: bool) -> ColumnElement[bool]:
    cond = posts.c.created_at < before
    return and_(cond, posts.c.starred.is_(False)) if keep_starred else cond


def _orphans() -> ColumnElement[bool]:
    return and_(~exists().where(posts.c.author_id == accounts.c.id),
                ~exists().where(boosts.c.booster_id == accounts.c.id))


def prune_posts(db: Database, before: datetime, *, keep_starred: bool = False,
                dry_run: bool = False) -> PruneResult:
    where = _old(before, keep_starred)
    if dry_run:
        with db.engine.connect() as conn:
            count = conn.execute(select(func.count()).select_from(posts).where(where))
            return PruneResult(int(count.scalar_one()), 0, True)
    removed = 0
    while True:
        with db.engine.begin() as conn:  # short transactions: collectors keep writing
            ids = [r[0] for r in conn.execute(select(posts.c.id).where(where).limit(BATCH))]
            if not ids:
                break
            counted = trend_rollup.snapshot(conn, ids)
            conn.execute(delete(posts).where(posts.c.id.in_(ids)))
            trend_rollup.apply(conn, counted, Counter())  # the trend rollup follows
        removed += len(ids)
    with db.engine.begin() as conn:
        gone = conn.execute(delete(accounts).where(_orphans())).rowcount
    logger.info("pruned %d posts created before %s and %d accounts", removed, before, gone)
    return PruneResult(removed, int(gone or 0), False)
