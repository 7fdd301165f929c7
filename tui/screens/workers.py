"""The main screen's database and network work, each in a thread worker.

Every method runs off the UI thread and reports back with a message (post_message is
thread-safe); a failure becomes a message too, never an exception in the UI.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from textual import work
from textual.screen import Screen
from textual.worker import get_current_worker

from aggregator.errors import MediaError
from aggregator.reader.feed import FeedReader, PostDetail, PostKey, Refresher, View
from aggregator.reader.images import ImageLoader
from tui.messages import (
    CollectFinished,
    CollectProgress,
    CountsLoaded,
    DetailLoaded,
    HiddenCounted,
    ImageLoaded,
    LoadFailed,
    Muted,
    MuteTarget,
    NewerLoaded,
    PageLoaded,
    ViewsLoaded,
)

logger = logging.getLogger(__name__)

STATE_VIEW = "reader.view"
STATE_POST = "reader.post"
NEWER_LIMIT = 500


class WorkerScreen(Screen[None]):
    """The main screen's base: a Screen whose thread workers call the FeedReader and the
    Refresher and answer with messages. MainScreen adds the widgets and the keys."""

    reader: FeedReader
    refresher: Refresher | None
    images: ImageLoader | None

    @work(thread=True, group="views", exit_on_error=False)
    def load_views(self) -> None:
        try:
            views = self.reader.list_views()
            view_id = self.reader.get_state(STATE_VIEW)
            post = self.reader.get_state(STATE_POST)
            marker = self.reader.newest_marker()
            setup = self.reader.setup()
        except Exception as exc:
            logger.exception("cannot load views")
            self.post_message(LoadFailed(-1, f"cannot read the archive: {exc}"))
            return
        post_id = int(post) if post and post.isdigit() else None
        self.post_message(ViewsLoaded(views, view_id, post_id, marker, setup))

    @work(thread=True, group="pages", exit_on_error=False)
    def fetch_page(self, generation: int, page: int, view_id: str, query: str,
                   before: PostKey | None, limit: int) -> None:
        try:
            rows = self.reader.list_posts(view_id, query, before=before, limit=limit)
        except Exception as exc:
            logger.warning("listing %s failed: %s", view_id, exc)
            self.post_message(LoadFailed(generation, str(exc)))
            return
        self.post_message(PageLoaded(generation, page, rows))

    @work(thread=True, group="detail", exclusive=True, exit_on_error=False)
    def fetch_detail(self, post_id: int,
                     then: Callable[[PostDetail], object] | None = None) -> None:
        try:
            detail = self.reader.get_post(post_id)
        except Exception as exc:
            self.post_message(LoadFailed(-1, str(exc)))
            return
        if then is not None:
            then(detail)
        if not get_current_worker().is_cancelled:
            self.post_message(DetailLoaded(detail))

    @work(thread=True, group="counts", exclusive=True, exit_on_error=False)
    def fetch_counts(self, views: list[View]) -> None:
        try:
            counts = self.reader.count_views(views)
        except Exception as exc:
            logger.warning("counting failed: %s", exc)
            return
        if not get_current_worker().is_cancelled:
            self.post_message(CountsLoaded(counts))

    @work(thread=True, group="poll", exclusive=True, exit_on_error=False)
    def check_new(self, generation: int, view_id: str, query: str, top: PostKey | None,
                  marker: int) -> None:
        try:
            newest = self.reader.newest_marker()
            if newest == marker:
                return
            rows = (self.reader.list_newer(view_id, query, after=top, limit=NEWER_LIMIT)
                    if top is not None else [])
        except Exception as exc:
            logger.warning("polling failed: %s", exc)
            return
        self.post_message(NewerLoaded(generation, rows, len(rows) < NEWER_LIMIT, newest))

    @work(thread=True, group="writes", exit_on_error=False)
    def write_flags(self, post_id: int, is_read: bool | None = None,
                    starred: bool | None = None) -> None:
        try:
            self.reader.set_flags(post_id, is_read=is_read, starred=starred)
        except Exception as exc:
            self.post_message(LoadFailed(-1, f"could not save: {exc}"))

    @work(thread=True, group="writes", exit_on_error=False)
    def write_state(self, key: str, value: str) -> None:
        try:
            self.reader.set_state(key, value)
        except Exception as exc:
            logger.warning("could not save reader state: %s", exc)

    @work(thread=True, group="hidden", exclusive=True, exit_on_error=False)
    def fetch_hidden(self, generation: int, view_id: str, query: str) -> None:
        try:
            count = self.reader.count_hidden(view_id, query)
        except Exception as exc:
            logger.warning("counting muted posts failed: %s", exc)
            return
        if not get_current_worker().is_cancelled:
            self.post_message(HiddenCounted(generation, count))

    @work(thread=True, group="mute", exclusive=True, exit_on_error=False)
    def fetch_mute_target(self, post_id: int) -> None:
        try:
            detail = self.reader.get_post(post_id)
        except Exception as exc:
            self.post_message(LoadFailed(-1, str(exc)))
            return
        self.post_message(MuteTarget(detail))

    @work(thread=True, group="writes", exit_on_error=False)
    def write_mute(self, kind: str, value: str) -> None:
        try:
            text = (self.reader.mute_author(int(value)) if kind == "author"
                    else self.reader.mute_tag(value))
        except Exception as exc:
            self.post_message(Muted(f"could not mute: {exc}", error=True))
            return
        self.post_message(Muted(text))

    @work(thread=True, group="collect", exclusive=True, exit_on_error=False)
    def run_collect(self) -> None:
        assert self.refresher is not None
        try:
            def progress(text: str) -> None:
                self.post_message(CollectProgress(text))

            summary = self.refresher.collect(progress)
        except Exception as exc:
            logger.exception("collect failed")
            self.post_message(CollectFinished(f"collect failed: {exc}", error=True))
            return
        self.post_message(CollectFinished(summary))

    @work(thread=True, group="image", exclusive=True, exit_on_error=False)
    def fetch_image(self, generation: int, index: int, url: str, box: int) -> None:
        """Download (or read from the cache) and decode one image, off the UI thread."""
        assert self.images is not None
        try:
            picture = self.images.load(url, box)
        except MediaError as exc:
            self.post_message(ImageLoaded(generation, index, None, str(exc)))
            return
        except Exception as exc:
            logger.exception("image %s failed", url)
            first = (str(exc) or type(exc).__name__).splitlines()[0]
            self.post_message(ImageLoaded(generation, index, None, f"image not shown: {first}"))
            return
        self.post_message(ImageLoaded(generation, index, picture))
