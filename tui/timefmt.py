"""Relative times for the post list ("5m", "3h", "2d", "Nov 3")."""

from __future__ import annotations

from datetime import datetime


def relative(when: datetime, now: datetime) -> str:
    seconds = (now - when).total_seconds()
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    if seconds < 7 * 86400:
        return f"{int(seconds // 86400)}d"
    if when.year == now.year:
        return f"{when:%b} {when.day}"
    return f"{when:%Y-%m-%d}"
