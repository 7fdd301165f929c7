"""Papers for the reader and the CLI: the ranked works (see `aggregator.storage.papers`),
the periods the reader offers, and how a work is shown (its identifier, its link).

Re-exports the storage read side's dataclass so the reader imports nothing from storage.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from aggregator.papers.detect import identifier_text, work_link
from aggregator.storage.papers import RankedWork

__all__ = ["PERIODS", "RankedWork", "identifier_of", "link_of", "period_start"]

# The reader's Papers view: `p` moves through these (label, days; None: all time).
PERIODS: tuple[tuple[str, int | None], ...] = (("last 7 days", 7), ("last 30 days", 30),
                                               ("all time", None))


def period_start(days: int | None, now: datetime) -> datetime | None:
    return None if days is None else now - timedelta(days=days)


def identifier_of(work: RankedWork) -> str:
    return identifier_text(work.scheme, work.ident)


def link_of(work: RankedWork) -> str:
    return work_link(work.scheme, work.ident)
