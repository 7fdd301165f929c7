"""The `posts.raw` column: the JSON as received, zstd-compressed with a shipped dictionary.

Every reader of the column goes through `decode_raw`, every writer through `encode_raw`
(`rows.post_row`), so the stored form is this module's business alone:

* ``b""``: the post came with no raw JSON (``Post.raw == ""``);
* otherwise one zstd frame of the UTF-8 text (lone surrogates kept: ``surrogatepass``),
  compressed with the newest dictionary in ``aggregator/data/raw-<id>.zdict``. The frame
  header names the dictionary, so rows written with an older one still decode: a
  dictionary, once shipped, is never removed. ``python -m bench.rawdict`` trains one
  from the recorded fixtures.

Decoding returns exactly the text that was encoded (`rounds export --raw` is unchanged).
Measured on the bench archive (100k posts): the raw JSON went from 2,659 to 491 bytes a
post (level 3; without a dictionary 1,081), the whole archive from 4,977 to 2,136 bytes a
post. Encoding takes ~9 µs a post, decoding ~6 µs.
"""

from __future__ import annotations

import threading
from functools import cache
from importlib import resources

import zstandard

from aggregator.errors import StorageError

# 20,000 bench statuses with the dictionary: level 3 519 bytes a post in 7 µs, 4 521 in 9,
# 5 492 in 21, 6 468 in 32, 9 3% less than 6 at 3x its time. Level 5 keeps the 1M bench
# archive under 2,000 bytes a post since papers and trends joined it, for 14 µs more a post
# in the storing process (an import's other process is the slower one).
LEVEL = 5
_local = threading.local()  # zstd (de)compressors are not safe to share between threads


@cache
def _dictionaries() -> dict[int, zstandard.ZstdCompressionDict]:
    found = {}
    for entry in resources.files("aggregator").joinpath("data").iterdir():
        name = entry.name
        if name.startswith("raw-") and name.endswith(".zdict"):
            d = zstandard.ZstdCompressionDict(entry.read_bytes())
            found[d.dict_id()] = d
    return found


@cache
def _newest() -> zstandard.ZstdCompressionDict:
    """The dictionary new rows are written with: the file named in CURRENT."""
    return _dictionaries()[CURRENT]


CURRENT = 767077806  # aggregator/data/raw-767077806.zdict (a retrained one has a new id)


def _compressor() -> zstandard.ZstdCompressor:
    comp: zstandard.ZstdCompressor | None = getattr(_local, "comp", None)
    if comp is None:
        comp = _local.comp = zstandard.ZstdCompressor(
            level=LEVEL, dict_data=_newest(), write_checksum=False, write_content_size=True)
    return comp


def _decompressor(dict_id: int) -> zstandard.ZstdDecompressor:
    cache_: dict[int, zstandard.ZstdDecompressor] | None = getattr(_local, "decomp", None)
    if cache_ is None:
        cache_ = _local.decomp = {}
    decomp = cache_.get(dict_id)
    if decomp is None:
        dictionary = _dictionaries().get(dict_id) if dict_id else None
        if dict_id and dictionary is None:
            raise StorageError(f"a post's raw JSON was compressed with dictionary {dict_id}, "
                               "which this version of grandrounds does not ship")
        decomp = cache_[dict_id] = zstandard.ZstdDecompressor(dict_data=dictionary)
    return decomp


def encode_raw(text: str) -> bytes:
    """The stored form of `text` (b"" for no raw JSON)."""
    if not text:
        return b""
    return _compressor().compress(text.encode("utf-8", "surrogatepass"))


def decode_raw(value: bytes | memoryview | str | None) -> str:
    """The raw JSON text a stored value holds ("" for none)."""
    if not value:
        return ""
    if isinstance(value, str):  # a value written as text (not through encode_raw)
        return value
    data = bytes(value)
    try:
        dict_id = zstandard.get_frame_parameters(data).dict_id
        return _decompressor(dict_id).decompress(data).decode("utf-8", "surrogatepass")
    except zstandard.ZstdError as exc:
        raise StorageError(f"a post's stored raw JSON is damaged: {exc}") from exc


__all__ = ["decode_raw", "encode_raw"]
