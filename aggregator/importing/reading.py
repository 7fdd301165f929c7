"""The reading half of `rounds import`: files -> items -> classified chunks.

Everything here is CPU work that needs no database: opening the inputs, parsing,
normalizing, classifying and finding the scholarly works of each post. For a big input
`rounds import` runs it in a worker process (aggregator.pipeline.produce) while the main
process stores the chunks before, so an import uses both cores; a small one runs it in
the same process (spawning the worker costs about a second). With a worker, finding the
works is left to the storing process (`find_works=False`): reading was the slower half
(about 185 µs a post against 120), and works take about 35 of them; balanced, 100k bench
statuses import in 18 s instead of 20. Storing slows as the archive's indexes grow: at 1M
the storing process is the busier one (217 s of CPU to 167), and the worker finding the
works would even them out there. Deciding by the worker's backlog of unsent chunks
misjudged (the sending thread waits for the GIL) and was slower at 100k.

A `Reading` is plain data (the settings, the curated voices' topics) because it crosses
to that process.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from aggregator.errors import InputError
from aggregator.importing.items import Item
from aggregator.models import Post, TopicLike, pickled_by_fields
from aggregator.settings import Settings
from aggregator.topics.wiring import VoiceIndex

if TYPE_CHECKING:
    from aggregator.papers.detect import WorkRef

CHUNK = 1000  # posts per chunk (and per transaction of the storing half)
WORKER_MIN_BYTES = 1 << 20  # inputs smaller than this are read in the importing process


@dataclass(frozen=True, slots=True)
class ImportedTopic:
    """A topic the export recorded that the classifier does not give (a source's or a
    curated voice's default in the archive it came from): kept, as a weak match."""

    topic: str
    rule: str = "import"
    matched: str = ""
    weight: int = 1


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Entry:
    """An item, the sources it goes to, and per source its topic matches; its works."""

    item: Item
    names: tuple[str, ...] = ()
    topics: tuple[Sequence[TopicLike], ...] = ()
    works: tuple[WorkRef, ...] | None = ()  # None: not looked for yet (the storer will)


@dataclass(frozen=True, slots=True)
class Chunk:
    entries: tuple[Entry, ...]
    position: int  # input bytes read when the chunk was cut (for the progress bar)


@dataclass(frozen=True)
class Reading:
    paths: tuple[Path, ...]
    kinds: tuple[str, ...]
    source: str | None  # --source, or None: each record names its own
    settings: Settings
    voices: VoiceIndex
    chunk: int = CHUNK
    find_works: bool = True  # False: the storing process finds them (balances the cores)


class _Counting:
    """Bytes read so far from the inputs."""

    def __init__(self) -> None:
        self.done = 0
        self.current: IO[bytes] | None = None

    def position(self) -> int:
        try:
            return self.done + (self.current.tell() if self.current is not None else 0)
        except (OSError, ValueError):
            return self.done


def _items(paths: Sequence[Path], kinds: Sequence[str], counter: _Counting) -> Iterator[Item]:
    from aggregator.importing.formats import READERS

    for path, kind in zip(paths, kinds, strict=True):
        try:
            stream = path.open("rb")
        except OSError as exc:
            raise InputError(path.name, f"cannot read it ({exc.strerror or exc})") from exc
        with stream:
            counter.current = stream
            yield from READERS[kind](path, stream)
        counter.done += path.stat().st_size
        counter.current = None


def chunks(reading: Reading) -> Iterator[Chunk]:
    """The inputs' items in chunks of up to `reading.chunk` posts, each post classified
    for each source it goes to and its works found. A chunk ends after a malformed item,
    so the storing half can store the posts before it, then stop there."""
    from aggregator.papers.detect import detect_post
    from aggregator.topics.wiring import make_classify, voice_topics_from

    classify = make_classify(reading.settings, voice_topics_from(reading.voices))
    defaults = {s.name: s.topics for s in reading.settings.sources}

    def topics(post: Post, name: str, recorded: Sequence[str]) -> Sequence[TopicLike]:
        matches: list[Any] = list(classify(post, defaults.get(name, ())))
        have = {m.topic for m in matches}
        return matches + [ImportedTopic(t) for t in recorded if t not in have]

    counter = _Counting()
    entries: list[Entry] = []
    posts = 0
    for item in _items(reading.paths, reading.kinds, counter):
        if item.post is None:
            entries.append(Entry(item))
            if item.skipped is None:  # a malformed item: cut here
                yield Chunk(tuple(entries), counter.position())
                entries, posts = [], 0
            continue
        names = (reading.source,) if reading.source is not None else item.sources
        entries.append(Entry(item, names, tuple(topics(item.post, n, item.topics)
                                                for n in names),
                             detect_post(item.post) if reading.find_works else None))
        posts += 1
        if posts >= reading.chunk:
            yield Chunk(tuple(entries), counter.position())
            entries, posts = [], 0
    yield Chunk(tuple(entries), counter.position())


def input_bytes(paths: Sequence[Path]) -> int:
    return sum(p.stat().st_size for p in paths)
