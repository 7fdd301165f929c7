"""One collection pass as the collect service runs it, for collector tests."""

from __future__ import annotations

from aggregator.collectors.base import Collector
from aggregator.models import Page, SourceState, Target


def run(collector: Collector, target: Target, state: SourceState = SourceState(),
        backfill: int = 200) -> tuple[list[Page], SourceState]:
    """Every page of one pass, and the state the last committed page left."""
    pages = list(collector.fetch_posts(target, state, backfill=backfill))
    for page in pages:
        if page.state is not None:
            state = page.state
    return pages, state
