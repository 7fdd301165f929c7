"""Train the zstd dictionary the raw JSON column is compressed with (aggregator/data/).

    python -m bench.rawdict            # writes aggregator/data/raw-<id>.zdict, prints sizes

then point `rawjson.CURRENT` at the new id (new rows use it; the old file stays).

Samples are the recorded responses in tests/data and ../shared/fixtures (never the bench's
synthetic archive, which is measured with it): every JSON object in a response body that
looks like a post, an account or a feed entry, as compact JSON, plus the feed fixtures'
entries as the feed collector archives them. A dictionary, once shipped, is never removed:
rows compressed with it name it in their frame header (`aggregator.storage.rawjson`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "tests" / "data", ROOT.parent.parent / "shared" / "fixtures",
           ROOT.parent / "shared" / "fixtures"]
SIZE = 32 * 1024
POSTISH = ("content", "text", "record", "account", "author", "summary", "username", "handle")


def _objects(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if any(k in value for k in POSTISH):
            yield value
        for v in value.values():
            yield from _objects(v)
    elif isinstance(value, list):
        for v in value:
            yield from _objects(v)


def samples() -> list[bytes]:
    out: dict[bytes, None] = {}
    for base in SOURCES:
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue
            body = data.get("body", data) if isinstance(data, dict) else data
            for obj in _objects(body):
                text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
                if len(text) >= 64:
                    out[text.encode("utf-8", "surrogatepass")] = None
    out.update((s.encode("utf-8", "surrogatepass"), None) for s in _feed_samples())
    return list(out)


def _feed_samples() -> Iterator[str]:
    import feedparser

    from aggregator.collectors.feed.normalize import _raw

    for base in SOURCES:
        feeds = base / "feeds"
        if feeds.is_dir():
            for path in sorted(feeds.glob("*.xml")):
                for entry in feedparser.parse(path.read_bytes()).entries:
                    yield _raw(entry)


def main() -> int:
    import zstandard

    data = samples()
    trained = zstandard.train_dictionary(SIZE, data, level=19)
    out = ROOT / "aggregator" / "data" / f"raw-{trained.dict_id()}.zdict"
    out.write_bytes(trained.as_bytes())
    plain = sum(len(s) for s in data)
    comp = zstandard.ZstdCompressor(level=3, dict_data=trained)
    packed = sum(len(comp.compress(s)) for s in data)
    print(f"{len(data)} samples, {plain:,} bytes -> {packed:,} with the dictionary "
          f"(training set); wrote {out.relative_to(ROOT)} ({len(trained.as_bytes()):,} B)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
