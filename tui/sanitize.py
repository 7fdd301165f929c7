"""Make untrusted text safe to show in a terminal.

Post text, names, bios and links come from strangers. They are always rendered as
`rich.text.Text` (never parsed as markup); this module removes what could still act on
the terminal or hide/reorder the interface: escape sequences (CSI, OSC including OSC 52
clipboard writes and OSC 8 hyperlinks, DCS/APC/PM strings), other C0/C1 control
characters (newline and tab are kept), bidi overrides and isolates, zero-width characters.
"""

from __future__ import annotations

import re

# ESC-introduced strings first (OSC/DCS/SOS/PM/APC end at BEL or ST), then CSI, then any
# other two-character ESC sequence. The 8-bit C1 forms (0x9b CSI, 0x9d OSC, ...) likewise.
_STRINGS = re.compile(
    r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c|$)"
)
_CSI = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?")
_ESC = re.compile(r"\x1b[ -/]*[0-~]?")
# Remaining controls (except \t and \n), DEL, C1, bidi embeddings/overrides/isolates,
# zero-width characters and BOM.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)
_SPACES = re.compile(r"\s+")


def sanitize(text: str) -> str:
    """Plain text with terminal controls and invisible/reordering characters removed.

    Newlines and tabs survive (tabs become spaces); `\\r\\n` and lone `\\r` become `\\n`.
    """
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _STRINGS.sub("", text)
    text = _CSI.sub("", text)
    text = _ESC.sub("", text)
    text = _INVISIBLE.sub("", text)
    return text.replace("\t", "    ")


def sanitize_line(text: str, limit: int = 400) -> str:
    """One line: sanitized, whitespace runs collapsed, cut at `limit` characters."""
    return _SPACES.sub(" ", sanitize(text[: limit * 4])).strip()[:limit]


def first_line(text: str, limit: int = 400) -> str:
    """The first non-empty line of a text, sanitized."""
    for line in sanitize(text[: limit * 4]).split("\n"):
        if line.strip():
            return _SPACES.sub(" ", line).strip()[:limit]
    return ""
