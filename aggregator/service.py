"""The collect service: pages from a collector -> topics -> storage, one source at a time.

A failing source is recorded and reported; the other sources go on. Each page commits
with the cursor it covers (see Repository.save_page), so an interrupted pass resumes
where it stopped without losing or duplicating a post.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from aggregator.clock import Clock
from aggregator.collectors.base import Collector
from aggregator.errors import AggregatorError, BudgetExhausted, CollectorError, StorageError
from aggregator.models import Post, TopicLike
from aggregator.papers.detect import detect_post
from aggregator.settings import AccountSettings, Settings, SourceSettings
from aggregator.storage.papers import WorkLike
from aggregator.storage.repository import Repository

logger = logging.getLogger(__name__)

Classify = Callable[[Post, Sequence[str]], Sequence[TopicLike]]
DetectWorks = Callable[[Post], Sequence[WorkLike]]
CollectorFactory = Callable[[AccountSettings], Collector]


@dataclass(frozen=True, slots=True)
class SourceMatch:
    """A source's default topic, the weakest signal."""

    topic: str
    rule: str = "source"
    matched: str = ""
    weight: int = 1


def default_topics_only(post: Post, defaults: Sequence[str]) -> Sequence[TopicLike]:
    return [SourceMatch(t) for t in defaults]


@dataclass
class SourceResult:
    name: str
    network: str = ""
    new: int = 0
    existing: int = 0
    requests: int = 0
    items_read: int = 0
    users_read: int = 0
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


Progress = Callable[[SourceResult], None]


class CollectService:
    """Runs collection passes. Collectors are built per account on first use and shared by
    that account's sources (they share its rate budget); `close()` releases them."""

    def __init__(self, settings: Settings, repo: Repository, make_collector: CollectorFactory,
                 clock: Clock, classify: Classify = default_topics_only,
                 detect_works: DetectWorks = detect_post) -> None:
        self.settings = settings
        self.detect_works = detect_works
        self.repo = repo
        self.make_collector = make_collector
        self.clock = clock
        self.classify = classify
        self._collectors: dict[str, Collector] = {}
        self._source_ids: dict[str, int] | None = None

    def source_ids(self) -> dict[str, int]:
        if self._source_ids is None:
            self._source_ids = self.repo.sync_sources(self.settings)
        return self._source_ids

    def collect(self, names: Iterable[str] | None = None,
                progress: Progress | None = None) -> list[SourceResult]:
        chosen = ([self.settings.source(n) for n in names] if names
                  else list(self.settings.sources))
        results = []
        for source in chosen:
            result = self.collect_source(source, progress)
            results.append(result)
        return results

    def collect_source(self, source: SourceSettings, progress: Progress | None = None,
                       should_stop: Callable[[], bool] | None = None) -> SourceResult:
        """One pass over a source. `should_stop` is asked between pages (the daemon's
        shutdown flag, a lost claim): when it says yes the pass ends after the page in
        flight, which is committed with its cursor; the next run resumes from there."""
        account = self.settings.accounts[source.account]
        result = SourceResult(source.name, account.network)
        source_id = self.source_ids()[source.name]
        run_id = self.repo.start_run(source_id)
        outcome = "error"
        storage_failed = False
        try:
            self._check_budget(account, 0)
            collector = self._collector(account)
            state = self.repo.get_state(source_id)
            for page in collector.fetch_posts(source.target, state, backfill=source.backfill):
                topics = [self.classify(p, source.topics) for p in page.posts]
                works = [self.detect_works(p) for p in page.posts]
                saved = self.repo.save_page(source_id, page, topics, works)
                result.new += saved.new
                result.existing += saved.existing
                result.requests += page.requests
                result.items_read += (len(page.posts) if page.items_read is None
                                      else page.items_read)
                result.users_read += page.users_read
                for warning in page.warnings:
                    logger.warning("%s: %s", source.name, warning)
                result.warnings += page.warnings
                if progress:
                    progress(result)
                self._check_budget(account, result.items_read + result.users_read)
                if should_stop is not None and should_stop():
                    result.warnings.append("stopped before the end of the pass; "
                                           "the next run resumes from here")
                    break
            outcome = "ok"
        except StorageError as exc:  # the database, not the source: the whole pass stops
            storage_failed = True
            result.error = str(exc)
            raise
        except CollectorError as exc:
            result.error = str(exc)
        except AggregatorError as exc:
            result.error = str(exc)
        except Exception as exc:  # a bug must not stop the other sources; keep the trace
            logger.exception("%s: unexpected error", source.name)
            result.error = f"internal error: {type(exc).__name__}: {exc}"
        finally:
            if result.error is None and outcome != "ok":
                result.error = "interrupted"
            try:
                self.repo.finish_run(run_id, source_id, outcome=outcome, new=result.new,
                                     existing=result.existing, requests=result.requests,
                                     items_read=result.items_read,
                                     users_read=result.users_read, error=result.error)
            except StorageError as exc:
                if not storage_failed:
                    raise
                # Still unusable: report the first failure, not this echo of it. The run's
                # row stays "running"; the next pass starts a new one.
                logger.debug("%s: run not recorded: %s", source.name, exc)
        if result.error:
            logger.info("%s: failed: %s", source.name, result.error)
        else:
            logger.info("%s: %d new, %d already stored, %d requests", source.name,
                        result.new, result.existing, result.requests)
        if progress:
            progress(result)
        return result

    def _check_budget(self, account: AccountSettings, this_run: int) -> None:
        """X bills per item read: stop an account's collection at its daily budget."""
        if account.max_reads_per_day is None:
            return
        spent = self.repo.reads_since(account.name, self.repo.start_of_day())
        if spent + this_run >= account.max_reads_per_day:
            raise BudgetExhausted(
                account.network,
                f"account {account.name!r} reached max_reads_per_day "
                f"({account.max_reads_per_day}); collection resumes tomorrow (UTC)",
            )

    def _collector(self, account: AccountSettings) -> Collector:
        if account.name not in self._collectors:
            self._collectors[account.name] = self.make_collector(account)
        return self._collectors[account.name]

    def close(self) -> None:
        for collector in self._collectors.values():
            collector.close()
        self._collectors.clear()
