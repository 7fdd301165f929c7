"""Running sources under their claim: the one path shared by `rounds collect --due`
(cron) and `rounds daemon`, so two processes never collect one source at once.

A source is *due* when it never ran or when its `every` has passed since its last run.
Due-ness is checked again after the claim is taken: another worker may have collected
the source between our first look and our claim.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from aggregator.clock import Clock
from aggregator.locking import ClaimManager
from aggregator.service import CollectService, Progress, SourceResult
from aggregator.settings import SourceSettings
from aggregator.storage.schema import sources

logger = logging.getLogger(__name__)

BUSY = "skipped: another process is collecting this source"
NOT_DUE = "skipped: collected by another process meanwhile"


CLOCK_SKEW = timedelta(seconds=60)  # a last run this far in the future: the clock went back


def next_due(last_run_at: datetime | None, every: int,
             now: datetime | None = None) -> datetime | None:
    """When a source is next due; None means now (never run).

    A last run more than a minute later than `now` means the clock went back since (NTP,
    an operator, a restored VM): the source is due now, once, rather than waiting out the
    jump as well (an hour back, or a day when a clock that ran a day ahead is corrected).
    Claims still keep it to one collector at a time."""
    if last_run_at is None:
        return None
    if now is not None and last_run_at > now + CLOCK_SKEW:
        return now
    return last_run_at + timedelta(seconds=every)


@dataclass
class SourceRunner:
    service: CollectService
    claims: ClaimManager
    clock: Clock
    should_stop: Callable[[], bool] = field(default=lambda: False)
    slack: float = 0.0  # seconds of early tolerance when checking due-ness (scheduler jitter)

    def source_ids(self) -> dict[str, int]:
        """Registers the configured sources (safe when another worker does it at once)."""
        return self.service.source_ids()

    def last_runs(self) -> dict[str, datetime | None]:
        ids = self.source_ids()
        by_id = {v: k for k, v in ids.items()}
        with self.service.repo.db.engine.connect() as conn:
            rows = conn.execute(select(sources.c.id, sources.c.last_run_at)
                                .where(sources.c.id.in_(list(by_id))))
            return {by_id[r.id]: r.last_run_at for r in rows}

    def is_due(self, source: SourceSettings, last_run_at: datetime | None) -> bool:
        now = self.clock.now()
        due = next_due(last_run_at, source.every, now)
        if due is None:
            return True
        return due - timedelta(seconds=min(self.slack, source.every / 2)) <= now

    def due_sources(self, names: list[str] | None = None) -> list[SourceSettings]:
        last = self.last_runs()
        chosen = ([self.service.settings.source(n) for n in names] if names
                  else list(self.service.settings.sources))
        return [s for s in chosen if self.is_due(s, last.get(s.name))]

    def run(self, source: SourceSettings, *, due_only: bool = False,
            progress: Progress | None = None) -> SourceResult:
        """Collect one source under its claim. A source held by another worker (or, with
        `due_only`, no longer due once claimed) is skipped: the result carries a warning
        and `requests == 0`."""
        result = SourceResult(source.name,
                              self.service.settings.accounts[source.account].network)
        source_id = self.source_ids()[source.name]
        claim = self.claims.try_claim(source_id, source.name)
        if claim is None:
            result.warnings.append(BUSY)
            logger.info("run source=%s outcome=busy", source.name)
            return result
        lost = False

        def renew_then_report(r: SourceResult) -> None:
            nonlocal lost
            if not claim.renew():
                lost = True
            if progress:
                progress(r)

        try:
            if due_only and not self.is_due(source, self.last_runs().get(source.name)):
                result.warnings.append(NOT_DUE)
                logger.info("run source=%s outcome=not-due", source.name)
                return result
            started = time.monotonic()
            result = self.service.collect_source(
                source, renew_then_report, should_stop=lambda: lost or self.should_stop())
            seconds = round(time.monotonic() - started, 2)
            outcome = "error" if result.error else "ok"
            log = logger.warning if result.error else logger.info
            log("run source=%s outcome=%s new=%d existing=%d requests=%d reads=%d "
                "seconds=%.1f%s", source.name, outcome, result.new, result.existing,
                result.requests, result.items_read + result.users_read, seconds,
                f" error={result.error!r}" if result.error else "",
                extra={"event": "run", "source": source.name, "outcome": outcome,
                       "new": result.new, "existing": result.existing,
                       "requests": result.requests, "seconds": seconds,
                       "error": result.error})
            return result
        finally:
            claim.release()

    def run_many(self, names: list[str] | None = None, *, due_only: bool = False,
                 progress: Progress | None = None) -> list[SourceResult]:
        chosen = (self.due_sources(names) if due_only else
                  [self.service.settings.source(n) for n in names] if names
                  else list(self.service.settings.sources))
        results = []
        for source in chosen:
            if self.should_stop():
                break
            results.append(self.run(source, due_only=due_only, progress=progress))
        return results
