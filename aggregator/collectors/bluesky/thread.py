"""A post's conversation on Bluesky: app.bsky.feed.getPostThread, normalized.

Lexicon app.bsky.feed.getPostThread / app.bsky.feed.defs: ``thread`` is a
#threadViewPost ``{post, parent?, replies?}`` whose ``parent`` and ``replies`` entries are
again #threadViewPost, or #notFoundPost ``{uri, notFound}`` (deleted, or never existed),
or #blockedPost ``{uri, blocked, author}`` (a block either way). Those two become gaps;
an entry of a type we do not know is an unavailable gap when it has a uri, else skipped.
Everything is strangers' data: shapes are checked, nothing raises on odd input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from aggregator.clock import Clock
from aggregator.collectors.base import FetchedThread, ThreadRef
from aggregator.collectors.bluesky.api import BlueskyApi
from aggregator.collectors.bluesky.entities import JsonDict, obj, objs, text
from aggregator.collectors.bluesky.normalize import normalize_post_view
from aggregator.collectors.retry import RateBudget, RetryPolicy
from aggregator.collectors.thread_base import ApiThreads
from aggregator.models import Network, Post
from aggregator.settings import AccountSettings

VIEW = "app.bsky.feed.defs#threadViewPost"
GAPS = {"app.bsky.feed.defs#notFoundPost": "deleted",
        "app.bsky.feed.defs#blockedPost": "blocked"}
DEPTH = 10  # reply levels asked for
PARENT_HEIGHT = 80
MAX_POSTS = 1000  # of one answer, however it nests


class _Walk:
    def __init__(self) -> None:
        self.posts: dict[str, Post] = {}
        self.gaps: dict[str, str] = {}

    def node(self, node: JsonDict, parent: JsonDict | None) -> JsonDict | None:
        """One thread node: its post stored (or its gap noted); its postView, or None."""
        kind = text(node.get("$type"))
        uri = text(node.get("uri")) or text(obj(node.get("post")).get("uri"))
        if kind in GAPS or node.get("notFound") is True or node.get("blocked") is True:
            if uri:
                self.gaps.setdefault(uri, GAPS.get(kind) or (
                    "blocked" if node.get("blocked") is True else "deleted"))
            return None
        post = obj(node.get("post"))
        if kind not in (VIEW, "") or not text(post.get("uri")):
            if uri:
                self.gaps.setdefault(uri, "unavailable")
            return None
        if len(self.posts) < MAX_POSTS:
            self.posts.setdefault(text(post.get("uri")), normalize_post_view(post, parent))
        return post

    def up(self, thread: JsonDict) -> None:
        """The parent chain above the anchor, iteratively (it can be long)."""
        child = thread
        while True:
            parent = obj(child.get("parent"))
            if not parent:
                return
            grand = obj(parent.get("parent"))
            grand_post = obj(grand.get("post")) if grand else None
            if self.node(parent, grand_post or None) is None:
                return
            child = parent

    def down(self, thread: JsonDict, post: JsonDict) -> None:
        stack = [(reply, post) for reply in objs(thread.get("replies"))]
        while stack and len(self.posts) < MAX_POSTS:
            node, parent = stack.pop()
            view = self.node(node, parent)
            if view is not None:
                stack += [(reply, view) for reply in objs(node.get("replies"))]


def thread_posts(body: JsonDict) -> FetchedThread:
    """A getPostThread answer -> its posts (the anchor included) and gaps. Pure."""
    walk = _Walk()
    thread = obj(body.get("thread"))
    parent_post = obj(obj(thread.get("parent")).get("post")) or None
    anchor = walk.node(thread, parent_post)
    if anchor is not None:
        walk.up(thread)
        walk.down(thread, anchor)
    return FetchedThread(tuple(walk.posts.values()), tuple(walk.gaps.items()))


class BlueskyThreads(ApiThreads[BlueskyApi]):
    network: ClassVar[Network] = "bluesky"

    @classmethod
    def from_account(cls, account: AccountSettings, environ: Mapping[str, str], clock: Clock,
                     *, policy: RetryPolicy | None = None, budget: RateBudget | None = None,
                     timeout: float = 30.0) -> BlueskyThreads:
        return cls(BlueskyApi.from_account(account, environ, clock, policy=policy,
                                           budget=budget, timeout=timeout))

    def fetch_thread(self, ref: ThreadRef) -> FetchedThread:
        before = self.api.requests
        body = self.api.get_post_thread(ref.key, depth=DEPTH, parent_height=PARENT_HEIGHT)
        found = thread_posts(body)
        return FetchedThread(found.posts, found.gaps, requests=self.api.requests - before)
