"""Small readers for untrusted JSON values and text, shared by every network (normalize, api).

Servers send missing keys, nulls, numbers where strings are documented: these turn any of
that into the plain `str` / `str | None` / `datetime` the models want, never raising.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

MESSAGE_LIMIT = 200  # characters of a server's explanation kept in one error line
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # "time unknown": sorts before every real post
COUNT_MAX = 2**31 - 1  # an engagement count is stored in a 32-bit INTEGER column


def as_str(value: Any) -> str:
    """The value as text; None becomes "" (a missing name, bio or URL)."""
    return value if isinstance(value, str) else ("" if value is None else str(value))


def opt_str(value: Any) -> str | None:
    """The value as text, or None when missing or empty (an optional id or language)."""
    return None if value is None or value == "" else str(value)


def opt_count(*values: Any) -> int | None:
    """The sum of the counts present among `values` (a reply, boost or like count), or None
    when none is: a whole number >= 0 (booleans and text are not counts), capped at
    COUNT_MAX so that a hostile server's 10**20 cannot fail the page it came in."""
    found = [v for v in values if isinstance(v, int) and not isinstance(v, bool) and v >= 0]
    return min(sum(found), COUNT_MAX) if found else None


def time_from_snowflake(remote_id: str, *, shift: int, epoch_ms: int = 0) -> datetime:
    """Creation time carried in a snowflake id: milliseconds since `epoch_ms` in the bits
    above `shift` (Mastodon: shift 16, Unix epoch; X: shift 22, epoch 1288834974657).
    Only used when a server leaves the time out; `EPOCH` for ids that are not snowflakes."""
    if remote_id.isdigit() and len(remote_id) >= 15:
        try:
            return datetime.fromtimestamp(((int(remote_id) >> shift) + epoch_ms) / 1000, UTC)
        except (OverflowError, ValueError, OSError):
            pass
    return EPOCH


def shorten(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text` on one line, at most `limit` characters, cut at a word boundary with "…"."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:([{") + "…"
