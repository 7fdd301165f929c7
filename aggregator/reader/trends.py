"""Trends: what the archive's voices post about, day by day, and what is rising.

* **Posts per topic per day** over a window (default the last 30 days, UTC days, today
  included): from the daily rollup (`storage.trend_rollup`), so it costs the same on ten
  thousand posts as on a million.
* **Rising** topics and hashtags: the last RECENT_DAYS days (today included) against the
  BASELINE_DAYS days before them, whatever the window. A name rises when it has at least
  FLOOR posts in the recent days *and* at least RISE times its usual week (the baseline's
  posts / 4). The floor is what keeps two posts from being a trend; a name never seen in
  the baseline is "new" once it reaches the floor. Ranked by how many times its usual week
  it reached (a usual week under one post counts as one), then by recent posts.
* **Most shared links** in the window, by distinct authors (a voice posting a link five
  times is one), then by posts.

Mutes apply as in every other view: the posts they hide are counted from the posts (few,
and bounded by the window) and taken out of the rollup's numbers. Deleted posts and posts
stored only as a conversation's context never count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from aggregator.clock import Clock
from aggregator.mutes import hidden_clause
from aggregator.settings import Settings
from aggregator.storage import trends as stored
from aggregator.storage.db import Database
from aggregator.storage.trend_rollup import LINK, TAG, TOPIC, Key

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

    from aggregator.query import Vocabulary

__all__ = ["BASELINE_DAYS", "DEFAULT_DAYS", "FLOOR", "RECENT_DAYS", "RISE", "Rising",
           "Series", "SharedLink", "Trends", "rising", "trends"]

DEFAULT_DAYS = 30
RECENT_DAYS = 7
BASELINE_DAYS = 28
FLOOR = 5  # posts in the recent days, at least, to be rising
RISE = 2.0  # times the usual week, at least
LINKS = 10
RISING_SHOWN = 10


@dataclass(frozen=True, slots=True)
class Series:
    """One topic's posts per day, a count for each day of `Trends.days`."""

    topic: str
    name: str
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True, slots=True)
class Rising:
    """A topic or hashtag posted more in the recent days than usual."""

    kind: str  # "topic" or "hashtag"
    id: str  # the topic id, or the hashtag in lower case without '#'
    name: str  # the topic's name, or "#hashtag"
    recent: int  # posts in the last RECENT_DAYS days
    baseline: int  # posts in the BASELINE_DAYS days before

    @property
    def usual_week(self) -> float:
        return self.baseline * 7 / BASELINE_DAYS

    @property
    def ratio(self) -> float | None:
        """How many usual weeks the recent days hold (a usual week under one post counts
        as one); None: new (no baseline posts)."""
        return None if not self.baseline else self.score

    @property
    def score(self) -> float:
        return self.recent / max(self.usual_week, 1.0)


@dataclass(frozen=True, slots=True)
class SharedLink:
    url: str
    authors: int
    posts: int


@dataclass(frozen=True, slots=True)
class Trends:
    now: datetime
    days: tuple[date, ...]  # the window, oldest first, today last
    topic: str | None  # the one topic asked for, else None
    series: tuple[Series, ...]  # most posts in the window first; topics with none left out
    rising_topics: tuple[Rising, ...]
    rising_tags: tuple[Rising, ...]
    links: tuple[SharedLink, ...]

    @property
    def recent_start(self) -> date:
        return self.days[-1] - timedelta(days=RECENT_DAYS - 1)


def rising(kind: str, counts: Mapping[str, tuple[int, int]],
           name: Callable[[str], str]) -> list[Rising]:
    """The rising ones among `counts` (id -> (recent, baseline)), best first."""
    found = [Rising(kind, key, name(key), recent, base)
             for key, (recent, base) in counts.items()
             if recent >= FLOOR and recent >= RISE * base * 7 / BASELINE_DAYS]
    return sorted(found, key=lambda r: (-r.score, -r.recent, r.name.casefold()))


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def trends(db: Database, settings: Settings, clock: Clock, *, days: int = DEFAULT_DAYS,
           topic: str | None = None, topic_names: Mapping[str, str] | None = None,
           vocabulary: Vocabulary | None = None, links: int = LINKS) -> Trends:
    """The trends at the clock's now: `days` days of series (today included)."""
    now = clock.now()
    today = now.astimezone(UTC).date()
    window = tuple(today - timedelta(days=i) for i in range(max(days, 1) - 1, -1, -1))
    recent_start = today - timedelta(days=RECENT_DAYS - 1)
    base_start = recent_start - timedelta(days=BASELINE_DAYS)
    first = min(window[0], base_start)
    since, until = _start(first), _start(today + timedelta(days=1))
    muted: ColumnElement[bool] | None = hidden_clause(
        db, settings, now, vocabulary if vocabulary is not None
        else settings.query_vocabulary())
    counts = stored.rollup(db, first, today, topic=topic)
    if topic is not None:  # the rollup does not know one topic's hashtags: its posts do
        counts.update(_only(TAG, stored.counted_where(db, None, since, until, topic=topic)))
    hidden: Counter[Key] = Counter()
    if muted is not None:  # what the mutes hide comes out of the counts
        hidden = stored.counted_where(db, muted, since, until, topic=topic)
        if topic is not None:  # the other topics of those posts were not counted
            hidden = Counter({k: n for k, n in hidden.items() if k[0] == TAG or k[2] == topic})
        counts.subtract(_only(TOPIC, hidden) + _only(TAG, hidden))
    names = dict(topic_names or {})

    def topic_name(key: str) -> str:
        return names.get(key, key)

    per_topic: dict[str, list[int]] = {}
    index = {d: i for i, d in enumerate(window)}
    sums: dict[tuple[str, str], list[int]] = {}
    for (kind, day, key, _), n in counts.items():
        if n <= 0 or (kind == TOPIC and ":" in key):  # type:… and community:… are not topics
            continue
        if kind == TOPIC and day in index:
            per_topic.setdefault(key, [0] * len(window))[index[day]] += n
        if day >= recent_start:
            sums.setdefault((kind, key), [0, 0])[0] += n
        elif day >= base_start:
            sums.setdefault((kind, key), [0, 0])[1] += n
    series = sorted((Series(t, topic_name(t), tuple(c)) for t, c in per_topic.items()),
                    key=lambda s: (-s.total, s.name.casefold()))
    rising_topics = rising("topic", {k: (r, b) for (kind, k), (r, b) in sums.items()
                                     if kind == TOPIC}, topic_name)
    rising_tags = rising("hashtag", {k: (r, b) for (kind, k), (r, b) in sums.items()
                                     if kind == TAG}, lambda k: f"#{k}")
    if not links:
        shared = []
    elif topic is not None:  # one topic's links: from its posts
        shared = stored.shared_links(db, _start(window[0]), until, muted=muted, topic=topic,
                                     limit=links)
    else:
        shared = _top_links(db, window[0], today, links, hidden)
    return Trends(now, window, topic, tuple(series), tuple(rising_topics[:RISING_SHOWN]),
                  tuple(rising_tags[:RISING_SHOWN]),
                  tuple(SharedLink(u, a, p) for u, a, p in shared))


def _top_links(db: Database, start: date, end: date, limit: int, hidden: Counter[Key]
               ) -> list[tuple[str, int, int]]:
    """The `limit` most shared links of the days [start, end] from the link rollup, less
    what the mutes hide (`hidden`). Mutes only lower counts, so the top `limit` is among
    the rollup's top `limit` + (links the mutes touch): only those are recounted."""
    muted: Counter[tuple[str, int]] = Counter()
    for (kind, day, link, author), n in hidden.items():
        if kind == LINK and start <= day <= end:
            muted[(link, author)] += n
    touched = {link for link, _ in muted}
    found = stored.top_links(db, start, end, limit + len(touched))
    recount = stored.links_of(db, start, end, [u for u, _, _ in found if u in touched])
    ranked = []
    for link, authors, posts in found:
        if link in recount:
            left = {a: n - muted[(link, a)] for a, n in recount[link].items()}
            authors, posts = sum(1 for n in left.values() if n > 0), sum(
                n for n in left.values() if n > 0)
        if authors:
            ranked.append((link, authors, posts))
    ranked.sort(key=lambda r: (-r[1], -r[2], r[0]))
    return ranked[:limit]


def _only(kind: str, counts: Counter[Key]) -> Counter[Key]:
    return Counter({k: n for k, n in counts.items() if k[0] == kind})
