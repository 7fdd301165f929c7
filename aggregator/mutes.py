"""Mute words and people: the `[[mutes]]` of the configuration file and the mutes made in
the reader (`M`) or with `rounds mutes add`, together.

Both kinds apply at once, each time posts are listed, counted or searched: the file's
are read from the settings (never copied into the database), the others from the
`mutes` table; a mute past its `until` hides nothing. Muted posts are hidden, never
deleted: `rounds search --no-mutes` shows them, exports leave them in unless asked
(`--mutes`).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import ColumnElement, and_

from aggregator.errors import QueryError
from aggregator.query import Query, Vocabulary, parse_mute
from aggregator.settings import Settings
from aggregator.storage.db import Database
from aggregator.storage.mutes import CONFIG, Mute, list_mutes, muted_clause
from aggregator.storage.queries import count_posts

logger = logging.getLogger(__name__)

def count_hidden(db: Database, where: ColumnElement[bool] | None,
                 muted: ColumnElement[bool]) -> int:
    """How many posts matching `where` the `muted` clause hides (capped: COUNT_CAP)."""
    return count_posts(db, muted if where is None else and_(where, muted))


def all_mutes(db: Database, settings: Settings) -> list[Mute]:
    """Every mute, the configuration file's first (they have no id), expired ones too."""
    from_file = [Mute(None, "query", m.query, until=m.until, origin=CONFIG)
                 for m in settings.mutes]
    return from_file + list_mutes(db)


def hidden_clause(db: Database, settings: Settings, now: datetime,
                  vocabulary: Vocabulary | None) -> ColumnElement[bool] | None:
    """The posts the mutes in force at `now` hide, as one clause over `posts` (None: no
    mute is in force). A stored query mute that no longer parses (a topic renamed in the
    taxonomy) is skipped with a warning rather than hiding nothing or everything."""
    queries: list[Query] = []
    expressions = [m.query for m in settings.mutes if m.active(now)]
    stored = list_mutes(db, active_at=now)
    expressions += [m.value for m in stored if m.kind == "query"]
    for text in expressions:
        try:
            queries.append(parse_mute(text, now=now, vocabulary=vocabulary))
        except QueryError as exc:
            logger.warning("mute %r ignored: %s", text, exc)
    return muted_clause(stored, queries, db.dialect)
