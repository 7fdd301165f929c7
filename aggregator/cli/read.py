"""`rounds read`: open the terminal reader on the archive."""

from __future__ import annotations

import logging
from pathlib import Path

from aggregator.cli.app import AppContext, pass_reader, rounds
from aggregator.cli.collect import build_service
from aggregator.curation.store import CurationStore
from aggregator.media.cache import ImageCache, default_cache_dir
from aggregator.media.fetch import ImageFetcher
from aggregator.reader.curator import StorageCurator
from aggregator.reader.feed import Refresher, ServiceRefresher, StorageFeedReader
from aggregator.reader.images import CachedImageLoader
from aggregator.reader.thread import ServiceThreadFetcher, ThreadFetcher
from aggregator.topics.taxonomy import load_taxonomy

logger = logging.getLogger(__name__)


def topic_names(topics_file: Path | None) -> dict[str, str]:
    """Topic id -> display name from the taxonomy (empty if it cannot be loaded)."""
    try:
        taxonomy = load_taxonomy(topics_file)
        return {t.id: t.name for t in taxonomy.topics}
    except Exception as exc:  # the reader works without names: it shows topic ids
        logger.info("no topic names: %s", exc)
        return {}


def build_reader_app(app: AppContext):  # type: ignore[no-untyped-def]
    """The reader wired to the configured database and collect service."""
    from tui.app import ReaderApp  # the one place aggregator opens the reader
    from tui.images import detect_graphics

    settings = app.settings
    reader = StorageFeedReader(app.db, app.repo, settings, app.clock,
                               topic_names(settings.topics_file))
    refresher: Refresher | None = None
    if settings.sources:
        try:
            refresher = ServiceRefresher(build_service(app))
        except Exception as exc:
            logger.warning("collect not available in the reader: %s", exc)
    curator = StorageCurator(CurationStore(app.db, app.clock))
    images, graphics = None, None
    rs = settings.reader
    if rs.images != "off":
        fetcher = ImageFetcher(max_bytes=int(rs.image_max_mb * 1024 * 1024))
        cache = ImageCache(default_cache_dir(), int(rs.image_cache_mb * 1024 * 1024), app.clock)
        images = CachedImageLoader(fetcher, cache, auto=rs.images == "auto")
        graphics = detect_graphics()  # asks the terminal: only possible before the app runs
    return ReaderApp(reader, refresher, mark_read_on_move=rs.mark_read_on_move,
                     poll_seconds=rs.poll_seconds, curator=curator,
                     threads=build_thread_fetcher(app), images=images,
                     graphics=graphics or "halfcell")


def build_thread_fetcher(app: AppContext) -> ThreadFetcher | None:
    """What fetches a conversation for the reader (`T`): the thread service over the
    configured accounts; None without any (the reader then shows only what is stored)."""
    from aggregator.collectors.registry import build_thread_source
    from aggregator.threads import ThreadService

    if not app.settings.accounts:
        return None
    return ServiceThreadFetcher(ThreadService(
        app.settings, app.repo,
        lambda account: build_thread_source(account, app.environ, app.clock), app.clock))


@rounds.command()
@pass_reader
def read(app: AppContext) -> None:
    """Open the reader: views, topics, unread counts, read/star, filter, collect (R),
    curated lists (c)."""
    build_reader_app(app).run()
