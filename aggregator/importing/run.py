"""`rounds import`: the storing half. Chunks of classified posts (aggregator.importing.
reading, in a worker process for big inputs) -> storage.

Each chunk's posts are stored as a collector's pages are (`Repository.bulk`: the same
page-storing steps, several chunks to a transaction): authors, posts, the source that
brought them, boosts and topics of a chunk commit together or not at all, and storing a
post already present adds nothing (the archive keys posts by network and key). So an
import is

* idempotent: a second run stores nothing and counts every post as already present;
* resumable: killed midway, the transactions committed stay (whole chunks), the one in
  flight is gone, and a rerun stores exactly the posts still missing (there is no
  separate "resume" mark that could disagree with the posts);
* whole: a malformed line or member stops the import before the chunk it is in is stored
  (the posts before it in that chunk are stored first, as a chunk of their own), unless
  `skip_bad`, which counts it and goes on.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from aggregator.errors import ConfigError, InputError
from aggregator.importing.reading import Chunk, Entry
from aggregator.models import Page
from aggregator.papers.detect import WorkRef, detect_post
from aggregator.pipeline import interrupts_deferred
from aggregator.settings import Settings
from aggregator.storage.import_sources import StoredSource, ensure_import_source, get_source
from aggregator.storage.repository import BulkWriter, Repository

logger = logging.getLogger(__name__)


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


Progress = Callable[[ImportSummary, int], None]  # the summary, input bytes read


class Importer:
    def __init__(self, settings: Settings, repo: Repository) -> None:
        self.settings = settings
        self.repo = repo
        self._sources: dict[str, int] = {}
        self._import_only: set[int] = set()  # source ids whose runs are imports
        self._configured: dict[str, int] | None = None
        self._kept = (0, 0)  # (read, stored) as last committed

    def source_id(self, name: str, network: str, fmt: str) -> int:
        """The source `name`: a configured one, or an import-only one, created when
        absent."""
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
            found = self._configured[name]
        else:
            stored: StoredSource | None = get_source(self.repo.db, name)
            if stored is None:
                stored = ensure_import_source(self.repo.db, name, network, fmt)
            found = stored.id
            self._import_only.add(stored.id)
        self._sources[name] = found
        return found

    def run(self, chunks: Iterable[Chunk], *, fmt: str, skip_bad: bool = False,
            progress: Progress | None = None,
            summary: ImportSummary | None = None) -> ImportSummary:
        """Store every post of `chunks` into the sources each entry names.

        Raises InputError at the first malformed item unless `skip_bad` (the posts before
        it stored first)."""
        summary = summary if summary is not None else ImportSummary()
        bad: InputError | None = None
        self._kept = (summary.read, summary.stored)
        with self.repo.bulk() as writer:
            try:
                for chunk in chunks:
                    pending: list[Entry] = []
                    for entry in chunk.entries:
                        item = entry.item
                        if item.skipped is not None:
                            summary.skipped[item.skipped] += 1
                            continue
                        if item.post is None:
                            summary.bad += 1
                            if not skip_bad:
                                bad = InputError(item.position, item.error or "not a post")
                                break
                            logger.warning("skipped %s: %s", item.position, item.error)
                            continue
                        if not entry.names:  # even with skip_bad: --source is missing
                            bad = InputError(item.position,
                                             "the record names no source: pass --source")
                            break
                        summary.read += 1
                        pending.append(entry)
                    self._flush(writer, pending, fmt, summary)
                    with interrupts_deferred():  # committed and counted, or neither
                        if writer.due():
                            self._kept = (summary.read, summary.stored)
                    if progress is not None:
                        progress(summary, chunk.position)
                    if bad is not None:
                        break
            except BaseException:  # what was not committed is rolled back: not counted
                summary.read, summary.stored = self._kept
                summary.present = summary.read - summary.stored
                raise
        if bad is not None:  # raised once what came before it is committed
            raise bad
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

    def _flush(self, writer: BulkWriter, pending: list[Entry], fmt: str,
               summary: ImportSummary) -> None:
        """Store the pending posts: one transaction per (source, network) group, which
        for every format but our own multi-source exports is one per chunk."""
        if not pending:
            return
        groups: dict[tuple[str, str], list[tuple[Entry, int]]] = {}
        extra: dict[tuple[str, str], list[tuple[Entry, int]]] = {}
        for entry in pending:
            assert entry.item.post is not None and entry.names
            network = entry.item.post.network
            groups.setdefault((entry.names[0], network), []).append((entry, 0))
            for i, name in enumerate(entry.names[1:], 1):  # posts of several sources
                extra.setdefault((name, network), []).append((entry, i))
        new = [key for key in (*groups, *extra) if key[0] not in self._sources]
        if new:  # sources are written through another connection: not while we hold one
            with interrupts_deferred():  # committed and counted, or neither
                writer.commit()
                self._kept = (summary.read - len(pending), summary.stored)
            for name, kind in new:
                self.source_id(name, kind, fmt)
        for (name, _network), group in groups.items():
            summary.stored += self._save(writer, name, group, fmt)
        for (name, _network), group in extra.items():  # stored above: links only
            self._save(writer, name, group, fmt)
        summary.present = summary.read - summary.stored

    def _save(self, writer: BulkWriter, name: str, group: list[tuple[Entry, int]],
              fmt: str) -> int:
        posts = tuple(e.item.post for e, _ in group if e.item.post is not None)
        source_id = self.source_id(name, posts[0].network, fmt)
        saved = writer.save_page(source_id, Page(posts=posts, state=None, requests=0),
                                 [e.topics[i] for e, i in group],
                                 [_works(e) for e, _ in group])
        return saved.new


def _works(entry: Entry) -> tuple[WorkRef, ...]:
    if entry.works is not None:
        return entry.works
    assert entry.item.post is not None
    return detect_post(entry.item.post)
