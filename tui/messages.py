"""Messages the reader's workers and widgets send (dataclasses, as Textual allows)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from aggregator.reader.feed import PostDetail, PostRow, Setup, View
from aggregator.reader.images import Picture


@dataclass
class ViewsLoaded(Message):
    views: list[View]
    saved_view: str | None = None
    saved_post: int | None = None
    marker: int = 0
    setup: Setup | None = None


@dataclass
class CountsLoaded(Message):
    counts: dict[str, int]


@dataclass
class PageLoaded(Message):
    generation: int
    page: int
    rows: list[PostRow]


@dataclass
class NewerLoaded(Message):
    generation: int
    rows: list[PostRow]
    complete: bool  # False: more arrived than we fetched; reload from the top
    marker: int = 0


@dataclass
class LoadFailed(Message):
    generation: int
    error: str


@dataclass
class DetailLoaded(Message):
    detail: PostDetail


@dataclass
class SelectionChanged(Message):
    """The post list's cursor moved (row may be None while its page loads)."""

    index: int
    row: PostRow | None
    previous: PostRow | None


@dataclass
class PostActivated(Message):
    row: PostRow


@dataclass
class PageNeeded(Message):
    page: int


@dataclass
class CollectProgress(Message):
    text: str


@dataclass
class CollectFinished(Message):
    summary: str
    error: bool = False


@dataclass
class BrowserFailed(Message):
    url: str
    text: str  # what to tell the user, the link included


@dataclass
class HiddenCounted(Message):
    """How many posts of the view the mutes hide (capped like the sidebar's counts)."""

    generation: int
    count: int


@dataclass
class MuteTarget(Message):
    """The post `M` was pressed on, loaded: offer its author and hashtags."""

    detail: PostDetail


@dataclass
class Muted(Message):
    text: str  # what happened, one line
    error: bool = False


@dataclass
class ImageLoaded(Message):
    """An image of the opened post, decoded (or the one line saying why not). `generation`
    is the image view's when it was asked for: a late answer for another post is dropped."""

    generation: int
    index: int
    picture: Picture | None
    error: str = ""
