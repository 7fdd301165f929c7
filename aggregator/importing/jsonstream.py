"""Read the items of one JSON array out of a large file, one at a time, in constant memory.

X account archives hold every post in `data/tweets.js` (``window.YTD.tweets.part0 = [...]``,
gigabytes for a busy account) and Mastodon archives in `outbox.json` (``"orderedItems":
[...]``): neither fits the "load it all with json.load" habit. This reads the bytes in
chunks, decodes each item with the standard library's decoder as soon as it is complete,
and drops what it has read, so memory holds one chunk and one item. No dependency.

An item that does not decode is reported as `BadItem` (its index and the decoder's
reason) and ends the array: after a syntax error nothing says where the next item starts.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

CHUNK = 1 << 20
MAX_ITEM = 64 << 20  # one post's JSON is kilobytes; 64 MB unterminated is a broken file
_WS = " \t\r\n"


@dataclass(frozen=True, slots=True)
class BadItem:
    index: int  # 1-based, as people count
    reason: str


class _Buffer:
    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
        self.text = ""
        self.pos = 0
        self.eof = False

    def more(self) -> bool:
        """Read one chunk; False at the end of the file."""
        if self.eof:
            return False
        data = self.stream.read(CHUNK)
        if not data:
            self.eof = True
            self.text = self.text[self.pos:] + self.decoder.decode(b"", final=True)
            self.pos = 0
            return False
        self.text = self.text[self.pos:] + self.decoder.decode(data)
        self.pos = 0
        return True

    def skip_space(self) -> str:
        """The next character that is not white space ("" at the end of the file)."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in _WS:
                self.pos += 1
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.more():
                return ""


def _seek(buf: _Buffer, marker: str) -> bool:
    """Move past the first `marker` and then the `[` that opens the array."""
    keep = max(len(marker) - 1, 0)
    while True:
        found = buf.text.find(marker, buf.pos) if marker else buf.pos
        if found >= 0:
            buf.pos = found + len(marker)
            break
        buf.pos = max(buf.pos, len(buf.text) - keep)
        if not buf.more():
            return False
    while True:
        bracket = buf.text.find("[", buf.pos)
        if bracket >= 0:
            buf.pos = bracket + 1
            return True
        buf.pos = len(buf.text)
        if not buf.more():
            return False


def iter_array(stream: IO[bytes], *, after: str = "") -> Iterator[Any | BadItem]:
    """The items of the first JSON array after the text `after` (from the start of the file
    when empty): each decoded value, or one `BadItem` that ends the iteration.

    Raises ValueError when the file holds no such array (not this kind of file)."""
    buf = _Buffer(stream)
    decoder = json.JSONDecoder()
    try:
        if not _seek(buf, after):
            raise ValueError(f"no JSON array after {after!r}" if after else "no JSON array")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text ({exc.reason})") from exc
    index = 0
    while True:
        try:
            head = buf.skip_space()
            if head == ",":
                buf.pos += 1
                head = buf.skip_space()
        except UnicodeDecodeError as exc:
            yield BadItem(index + 1, f"not UTF-8 text ({exc.reason})")
            return
        if head == "]":
            return
        index += 1
        if head == "":
            yield BadItem(index, "the file ends inside the array (truncated?)")
            return
        item = _decode_one(buf, decoder, index)
        yield item
        if isinstance(item, BadItem):
            return


def _decode_one(buf: _Buffer, decoder: json.JSONDecoder, index: int) -> Any | BadItem:
    while True:
        try:
            value, end = decoder.raw_decode(buf.text, buf.pos)
        except json.JSONDecodeError as exc:
            # Running out of text looks like an error near the end (or an unterminated
            # string); read on. An error well inside the text is the item's own.
            short = exc.pos >= len(buf.text) - 8 or exc.msg.startswith("Unterminated string")
            if short and len(buf.text) - buf.pos < MAX_ITEM:
                try:
                    if buf.more():
                        continue
                except UnicodeDecodeError as uexc:
                    return BadItem(index, f"not UTF-8 text ({uexc.reason})")
            return BadItem(index, f"not valid JSON ({exc.msg})")
        if end >= len(buf.text) and not buf.eof:  # a number may go on in the next chunk
            try:
                if buf.more():
                    continue
            except UnicodeDecodeError as uexc:
                return BadItem(index, f"not UTF-8 text ({uexc.reason})")
        buf.pos = end
        return value
