"""Dates and durations, one grammar for every command (README: "Dates and durations").

A *duration* is a positive whole number with a unit: ``30s``, ``15m``, ``36h``, ``7d``,
``2w``. A *WHEN* is a moment: a duration back from now (``7d``), ``today`` or
``yesterday`` (the start of that UTC day), a date (``2026-11-01``, the start of that UTC
day) or an ISO time (``2026-11-01T08:00Z``; without an offset it is UTC). As the end of a
range (``until``), a day means its close: ``until:2026-11-01`` includes that whole day.

The query language (``since:``/``until:``), ``export --since/--until``, ``prune
--older-than`` and ``every`` in the configuration all parse here, so they accept the same
text and reject it with the same words.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"^(\d{1,9})\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DURATION_FORMS = "a number with s, m, h, d or w (30s, 15m, 36h, 7d, 2w)"
WHEN_FORMS = ("a duration back from now (7d, 36h, 2w), today, yesterday, "
              "a date (2026-11-01) or an ISO time (2026-11-01T08:00Z)")


class WhenError(ValueError):
    """Text that is not a duration or a moment; the message says what would be.
    `unreadable`: the text has none of the accepted forms (not merely out of range)."""

    def __init__(self, message: str, *, unreadable: bool = True) -> None:
        super().__init__(message)
        self.unreadable = unreadable


def parse_duration(text: str) -> timedelta:
    """'15m' -> 15 minutes. WhenError unless a positive number with s, m, h, d or w."""
    m = _DURATION.match(text.strip().lower()) if isinstance(text, str) else None
    if not m or int(m.group(1)) == 0:
        raise WhenError(f"cannot parse {text!r} as a duration: use {DURATION_FORMS}")
    try:
        return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])
    except OverflowError:
        raise WhenError(f"{text!r} is too long a duration", unreadable=False) from None


def parse_when(text: str, now: datetime, *, end: bool = False) -> datetime:
    """The moment `text` names, counting back from `now` (naive means UTC).

    `end`: the text ends a range, so a day (date, today, yesterday) means the start of the
    next day. WhenError (saying which forms are accepted) for anything else.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    value = text.strip()
    lowered = value.lower()
    try:
        today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        if lowered in ("today", "yesterday"):
            day = today - timedelta(days=1 if lowered == "yesterday" else 0)
            return day + timedelta(days=1) if end else day
        m = _DURATION.match(lowered)
        if m:
            return now - timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])
        if _DATE.match(value):
            try:
                day = datetime.fromisoformat(value).replace(tzinfo=UTC)
            except ValueError:  # 2026-02-30: the right shape, no such day
                raise OverflowError from None
            return day + timedelta(days=1) if end else day
        moment = datetime.fromisoformat(value)
    except OverflowError:
        raise WhenError(f"{text!r} is out of range", unreadable=False) from None
    except ValueError:
        raise WhenError(f"cannot parse {text!r} as a time: use {WHEN_FORMS}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_deadline(text: str, now: datetime) -> datetime:
    """When something ends (a mute's `until`): a day, through its end ("2026-12-31" still
    counts on the 31st), or an ISO time. Not a time back from now, nor today/yesterday:
    those would mean another moment every day.

    Raises:
        WhenError: anything else, saying what would do.
    """
    value = text.strip()
    try:
        parse_duration(value)
        relative = True
    except WhenError:
        relative = value.lower() in ("today", "yesterday")
    if relative:
        raise WhenError(f"{text!r} is relative to now: give a date (2026-12-31) or an "
                        "ISO time (2026-12-31T18:00Z)")
    return parse_when(value, now, end=True)
