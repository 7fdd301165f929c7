"""Which reader an input needs (`--format auto` looks), and the JSON Lines readers."""

from __future__ import annotations

import gzip
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, cast

import orjson

from aggregator.errors import InputError
from aggregator.importing import mastodon, xarchive
from aggregator.importing.items import Item
from aggregator.importing.rounds import post_from_record
from aggregator.importing.twitter import posts_from_line

Reader = Callable[[Path, IO[bytes]], Iterator[Item]]


GZIP_MAGIC = b"\x1f\x8b"


def _text_stream(stream: IO[bytes]) -> IO[bytes]:
    """The file's bytes, gunzipped when it is gzip (`rounds export --gzip`, `*.jsonl.gz`)."""
    head = stream.read(2)
    stream.seek(0)
    return cast(IO[bytes], gzip.GzipFile(fileobj=stream)) if head == GZIP_MAGIC else stream


def _lines(path: Path, stream: IO[bytes]) -> Iterator[tuple[str, object | None, str | None]]:
    """(position, value, error) of each non-blank line."""
    try:
        yield from _numbered(path, _text_stream(stream))
    except (OSError, EOFError) as exc:  # a damaged or truncated gzip file
        yield path.name, None, f"cannot read it ({exc})"


def _numbered(path: Path, stream: IO[bytes]) -> Iterator[tuple[str, object | None, str | None]]:
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            yield where, orjson.loads(line), None
        except orjson.JSONDecodeError as exc:
            yield where, None, f"not valid JSON ({exc.args[0] if exc.args else exc})"


def _read_lines(path: Path, stream: IO[bytes],
                items_of: Callable[[str, Any], Iterator[Item]]) -> Iterator[Item]:
    """Each line's items (`items_of` raises ValueError for a line that is not one)."""
    for where, value, error in _lines(path, stream):
        if error is not None:
            yield Item.bad(where, error)
            continue
        try:
            found = list(items_of(where, value))
        except ValueError as exc:
            yield Item.bad(where, str(exc))
            continue
        yield from found


def _twarc_items(where: str, value: Any) -> Iterator[Item]:
    return (Item(where, post) for post in posts_from_line(value))


def _rounds_items(where: str, value: Any) -> Iterator[Item]:
    post, sources, topics = post_from_record(value)
    return iter([Item(where, post, sources=sources, topics=topics)])


def _is_status(value: Any) -> bool:
    return (isinstance(value, dict) and isinstance(value.get("account"), dict)
            and ("content" in value or "reblog" in value))


def read_mastodon_jsonl(path: Path, stream: IO[bytes]) -> Iterator[Item]:
    """Mastodon API statuses, one a line or one page (a JSON array) a line, as scripts
    save /api/v1/timelines answers. Boosts become their post with the booster, as
    collected; an account shown bare (``acct: "jane"``) takes its profile URL's host."""
    from aggregator.collectors.mastodon.normalize import AuthorCache, normalize_status

    authors = AuthorCache()  # one a file, as a collector keeps one

    def items_of(where: str, value: Any) -> Iterator[Item]:
        statuses = value if isinstance(value, list) else [value]
        if not statuses or not all(_is_status(s) for s in statuses):
            raise ValueError("not a Mastodon status (an object with account and content)")
        try:
            posts = [normalize_status(s, authors) for s in statuses]
        except (TypeError, KeyError, AttributeError) as exc:
            raise ValueError(f"not a Mastodon status ({exc})") from exc
        return (Item(where, post) for post in posts)

    return _read_lines(path, stream, items_of)


def read_twarc(path: Path, stream: IO[bytes]) -> Iterator[Item]:
    return _read_lines(path, stream, _twarc_items)


def read_rounds(path: Path, stream: IO[bytes]) -> Iterator[Item]:
    return _read_lines(path, stream, _rounds_items)


def read_x_archive(path: Path, stream: IO[bytes]) -> Iterator[Item]:
    return xarchive.read_archive(path, stream)


def read_mastodon_archive(path: Path, stream: IO[bytes]) -> Iterator[Item]:
    return mastodon.read_archive(path, stream)


def read_bluesky_car(path: Path, stream: IO[bytes]) -> Iterator[Item]:
    from aggregator.importing import bluesky_car

    return bluesky_car.read_car(path, stream)


READERS: dict[str, Reader] = {
    "twarc": read_twarc, "mastodon-jsonl": read_mastodon_jsonl, "rounds": read_rounds,
    "x-archive": read_x_archive, "mastodon-archive": read_mastodon_archive,
    "bluesky-car": read_bluesky_car,
}


def detect(path: Path) -> str:
    """The format of `path`, from its contents. Raises InputError when none fits."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                if xarchive.tweet_members(zf):
                    return "x-archive"
                names = [i.filename for i in zf.infolist()]
            if any(n == "outbox.json" or n.endswith("/outbox.json") for n in names):
                return "mastodon-archive"
            raise InputError(path.name, "a zip that is neither an X archive (data/tweets.js) "
                             "nor a Mastodon archive (outbox.json)")
        if tarfile.is_tarfile(path) and not path.name.endswith((".jsonl.gz", ".json.gz")):
            return "mastodon-archive"
        if path.suffix == ".car":
            return "bluesky-car"
        with path.open("rb") as raw, _text_stream(raw) as stream:
            for line in stream:
                if line.strip():
                    return _line_format(path, line)
    except OSError as exc:
        raise InputError(path.name, f"cannot read it ({exc.strerror or exc})") from exc
    except zipfile.BadZipFile as exc:
        raise InputError(path.name, f"a damaged zip ({exc})") from exc
    raise InputError(path.name, "empty: nothing to import")


def _line_format(path: Path, line: bytes) -> str:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{path.name}:1", "not JSON Lines, a .zip, a .tar.gz or a .car; "
                         "pass --format") from exc
    if isinstance(value, dict) and {"network", "key", "sources"} <= value.keys():
        return "rounds"
    if _is_status(value) or (isinstance(value, list) and value and _is_status(value[0])):
        return "mastodon-jsonl"
    return "twarc"
