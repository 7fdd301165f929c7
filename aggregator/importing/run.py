"""`rounds import`: posts read from files -> topics -> storage, in batches.

Posts are stored through the same `Repository.save_page` as a collector's pages: authors,
posts, the source that brought them, boosts and topics of one batch commit together or
not at all, and storing a post already present adds nothing (the archive keys posts by
network and key). So an import is

* idempotent: a second run stores nothing and counts every post as already present;
* resumable: killed midway, the batches committed stay, the one in flight is gone, and a
  rerun stores exactly the posts still missing (there is no separate "resume" mark that
  could disagree with the posts);
* whole: a malformed line or member stops the import before the batch it is in is stored
  (the posts before it in that batch are stored first, as a batch of their own), unless
  `skip_bad`, which counts it and goes on.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aggregator.clock import Clock
from aggregator.errors import ConfigError, InputError
from aggregator.importing.items import Item
from aggregator.models import Page, Post, TopicLike
from aggregator.papers.detect import detect_post
from aggregator.service import Classify
from aggregator.settings import Settings
from aggregator.storage.import_sources import StoredSource, ensure_import_source, get_source
from aggregator.storage.repository import Repository

logger = logging.getLogger(__name__)
BATCH = 500  # posts per transaction: a few hundred keeps a kill cheap and commits fast


@dataclass(frozen=True, slots=True)
class ImportedTopic:
    """A topic the export recorded that the classifier does not give (a source's or a
    curated voice's default in the archive it came from): kept, as a weak match."""

    topic: str
    rule: str = "import"
    matched: str = ""
    weight: int = 1


@dataclass
class ImportSummary:
    read: int = 0  # posts read (valid items)
    stored: int = 0
    present: int = 0  # already in the archive (or twice in the input)
    bad: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # not posts, by reason

    def line(self) -> str:
        text = (f"read {self.read}, stored {self.stored}, already present {self.present}, "
                f"bad {self.bad}")
        if self.skipped:
            parts = [reason if n == 1 else f"{n} × {reason}"
                     for reason, n in self.skipped.items()]
            text += "; not imported: " + "; ".join(parts)
        return text


Progress = Callable[[ImportSummary], None]


class Importer:
    def __init__(self, settings: Settings, repo: Repository, classify: Classify,
                 clock: Clock, *, batch: int = BATCH) -> None:
        self.settings = settings
        self.repo = repo
        self.classify = classify
        self.clock = clock
        self.batch = batch
        self._sources: dict[str, tuple[int, Sequence[str]]] = {}
        self._import_only: set[int] = set()  # source ids whose runs are imports
        self._configured: dict[str, int] | None = None

    def source_id(self, name: str, network: str, fmt: str) -> tuple[int, Sequence[str]]:
        """The source `name` (and its default topics): a configured one, or an import-only
        one, created when absent."""
        if name in self._sources:
            return self._sources[name]
        configured = {s.name: s for s in self.settings.sources}
        if name in configured:
            source = configured[name]
            own = self.settings.accounts[source.account].network
            if own != network:
                raise ConfigError(f"source {name!r} collects {own} posts; these are "
                                  f"{network} posts: import them into another source")
            if self._configured is None:
                self._configured = self.repo.sync_sources(self.settings)
            found = (self._configured[name], source.topics)
        else:
            stored: StoredSource | None = get_source(self.repo.db, name)
            if stored is None:
                stored = ensure_import_source(self.repo.db, name, network, fmt)
            found = (stored.id, ())
            self._import_only.add(stored.id)
        self._sources[name] = found
        return found

    def run(self, items: Iterable[Item], *, source: str | None, fmt: str,
            skip_bad: bool = False, progress: Progress | None = None,
            summary: ImportSummary | None = None) -> ImportSummary:
        """Store every post of `items` into `source` (or, for our own exports without a
        source, into the sources each record names).

        Raises InputError at the first malformed item unless `skip_bad`."""
        summary = summary if summary is not None else ImportSummary()
        pending: list[Item] = []
        for item in items:
            if item.skipped is not None:
                summary.skipped[item.skipped] += 1
                continue
            if item.post is None:
                summary.bad += 1
                if not skip_bad:
                    self._flush(pending, source, fmt, summary)
                    raise InputError(item.position, item.error or "not a post")
                logger.warning("skipped %s: %s", item.position, item.error)
                continue
            summary.read += 1
            pending.append(item)
            if len(pending) >= self.batch:
                self._flush(pending, source, fmt, summary)
                if progress is not None:
                    progress(summary)
        self._flush(pending, source, fmt, summary)
        if progress is not None:
            progress(summary)
        return summary

    def record_runs(self, summary: ImportSummary, error: str | None = None) -> None:
        """A run per import-only source this import stored into, with its counts, so
        `rounds status` shows when each was last imported and how it went. A configured
        source gets none: its last run decides when it is next collected."""
        for source_id in sorted(self._import_only):
            run_id = self.repo.start_run(source_id)
            self.repo.finish_run(run_id, source_id, outcome="ok" if error is None else "error",
                                 new=summary.stored, existing=summary.present, requests=0,
                                 items_read=0, users_read=0, error=error)

    def _flush(self, pending: list[Item], source: str | None, fmt: str,
               summary: ImportSummary) -> None:
        """Store the pending posts: one transaction per (source, network) group, which
        for every format but our own multi-source exports is one per batch."""
        if not pending:
            return
        groups: dict[tuple[str, str], list[Item]] = {}
        extra: dict[tuple[str, str], list[Item]] = {}
        for item in pending:
            assert item.post is not None
            names = (source,) if source is not None else item.sources
            if not names:
                raise InputError(item.position, "the record names no source: pass --source")
            groups.setdefault((names[0], item.post.network), []).append(item)
            for name in names[1:]:  # our export's posts brought by several sources
                extra.setdefault((name, item.post.network), []).append(item)
        for (name, _network), group in groups.items():
            summary.stored += self._save(name, group, fmt)
        for (name, _network), group in extra.items():  # stored above: links only
            self._save(name, group, fmt)
        summary.present = summary.read - summary.stored
        pending.clear()

    def _save(self, name: str, group: list[Item], fmt: str) -> int:
        posts = [i.post for i in group if i.post is not None]
        source_id, defaults = self.source_id(name, posts[0].network, fmt)
        topics = [self._topics(i.post, i.topics, defaults) for i in group if i.post]
        works = [detect_post(p) for p in posts]  # papers, as collection finds them
        saved = self.repo.save_page(source_id, Page(posts=tuple(posts), state=None,
                                                    requests=0), topics, works)
        return saved.new

    def _topics(self, post: Post, recorded: Sequence[str],
                defaults: Sequence[str]) -> Sequence[TopicLike]:
        matches: list[Any] = list(self.classify(post, defaults))
        have = {m.topic for m in matches}
        matches += [ImportedTopic(t) for t in recorded if t not in have]
        return matches

