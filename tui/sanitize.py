"""Make untrusted text safe to show in the reader.

Post text, names, bios and links come from strangers. The reader always renders them as
`rich.text.Text` (never parsed as markup), after `aggregator.textutil.terminal_safe` has
removed escape sequences (CSI, OSC incl. OSC 52 and OSC 8), C0/C1 controls, bidi
overrides and zero-width characters. This module adds the reader's line shaping.
"""

from __future__ import annotations

import re

from aggregator.textutil import terminal_safe

_SPACES = re.compile(r"\s+")


def sanitize(text: str) -> str:
    """Plain text without terminal controls; newlines kept, tabs become spaces."""
    if not text:
        return ""
    return terminal_safe(text.replace("\r\n", "\n").replace("\r", "\n")).replace("\t", "    ")


def sanitize_line(text: str, limit: int = 400) -> str:
    """One line: sanitized, whitespace runs collapsed, cut at `limit` characters."""
    return _SPACES.sub(" ", sanitize(text[: limit * 4])).strip()[:limit]


def first_line(text: str, limit: int = 400) -> str:
    """The first non-empty line of a text, sanitized."""
    for line in sanitize(text[: limit * 4]).split("\n"):
        if line.strip():
            return _SPACES.sub(" ", line).strip()[:limit]
    return ""
