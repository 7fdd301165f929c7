"""Which posts of a (possibly million-post) list are in memory.

The list is a sequence of keyset pages: page i is "the next `count` posts older than
page i-1's last key". Page boundaries (two keys and a count) are kept for every page seen
so far, a few bytes each; the rows themselves only for the `max_cached` most recently
used pages, so memory stays bounded however far the user scrolls. An evicted page is
fetched again from its boundary. Posts that arrive later are prepended as a new page.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass, replace

from aggregator.reader.feed import PostKey, PostRow

PAGE_SIZE = 100
MAX_CACHED_PAGES = 20


@dataclass
class _Page:
    count: int
    first: PostKey
    last: PostKey


class PostWindow:
    def __init__(self, page_size: int = PAGE_SIZE, max_cached: int = MAX_CACHED_PAGES) -> None:
        self.page_size = page_size
        self.max_cached = max_cached
        self.pages: list[_Page] = []
        self._starts: list[int] = []
        self._rows: OrderedDict[int, list[PostRow]] = OrderedDict()  # by page index
        self.exhausted = False
        self.total = 0

    def _reindex(self) -> None:
        self._starts, n = [], 0
        for p in self.pages:
            self._starts.append(n)
            n += p.count
        self.total = n

    @property
    def cached_rows(self) -> int:
        return sum(len(r) for r in self._rows.values())

    def page_of(self, index: int) -> int:
        """The page holding `index`; len(pages) when it is past what is known."""
        if index >= self.total:
            return len(self.pages)
        return bisect_right(self._starts, index) - 1

    def before_key(self, page: int) -> PostKey | None:
        """The keyset bound to fetch `page` with."""
        return self.pages[page - 1].last if page > 0 else None

    def limit_for(self, page: int) -> int:
        return self.pages[page].count if page < len(self.pages) else self.page_size

    def row(self, index: int) -> PostRow | None:
        """The row at `index` if its page is in memory."""
        page = self.page_of(index)
        rows = self._rows.get(page)
        if rows is None:
            return None
        self._rows.move_to_end(page)
        offset = index - self._starts[page]
        return rows[offset] if offset < len(rows) else None

    def is_loaded(self, page: int) -> bool:
        return page in self._rows

    def install(self, page: int, rows: list[PostRow]) -> bool:
        """Store a fetched page; False when it doesn't fit (a stale or out-of-order answer)."""
        if page == len(self.pages):
            if self.exhausted:
                return False
            if len(rows) < self.page_size:
                self.exhausted = True
            if not rows:
                return True
            self.pages.append(_Page(len(rows), rows[0].key, rows[-1].key))
            self._reindex()
        elif page < len(self.pages):
            rows = rows[: self.pages[page].count]
        else:
            return False
        self._rows[page] = rows
        self._rows.move_to_end(page)
        while len(self._rows) > self.max_cached:
            self._rows.popitem(last=False)
        return True

    def top_key(self) -> PostKey | None:
        return self.pages[0].first if self.pages else None

    def prepend(self, rows: list[PostRow]) -> None:
        """Newer posts (newest first) go on top as their own page."""
        if not rows:
            return
        self.pages.insert(0, _Page(len(rows), rows[0].key, rows[-1].key))
        self._rows = OrderedDict((i + 1, r) for i, r in self._rows.items())
        self._rows[0] = rows
        self._reindex()
        while len(self._rows) > self.max_cached:
            self._rows.popitem(last=False)

    def find(self, post_id: int) -> int | None:
        """Index of a post among the cached pages."""
        for page, rows in self._rows.items():
            for offset, r in enumerate(rows):
                if r.id == post_id:
                    return self._starts[page] + offset
        return None

    def update(self, post_id: int, **changes: bool) -> PostRow | None:
        for rows in self._rows.values():
            for i, r in enumerate(rows):
                if r.id == post_id:
                    rows[i] = replace(r, **changes)  # type: ignore[arg-type]
                    return rows[i]
        return None
