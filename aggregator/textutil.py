"""Make untrusted text inert for a terminal.

Posts, names, bios and server error messages come from strangers. Before any of it is
printed, escape sequences (CSI, OSC including OSC 52 clipboard writes and OSC 8 links,
and the rest), C0/C1 control characters, bidi overrides and zero-width characters are
removed. Newlines and tabs survive unless `single_line` is asked for. Rich markup is a
separate concern: print with `rich.text.Text`, never by formatting markup strings.

`size_text` says a number of bytes as a person reads it, the same in every message.
"""

from __future__ import annotations

import logging
import re

# ESC-introduced sequences: CSI (ESC [ ... final), OSC / DCS / SOS / PM / APC strings
# (terminated by BEL or ST), and two-character escapes. Then the 8-bit C1 forms.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI
    r"|\x1b[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS, SOS, PM, APC
    r"|\x1b[ -/]*[0-~]?"  # other escapes
    r"|\x9b[0-?]*[ -/]*[@-~]?"  # 8-bit CSI
    r"|[\x90\x98\x9d\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x9c)?"  # 8-bit string controls
)
# Remaining controls (except \t \n), bidi embeddings/overrides/isolates, zero-width chars.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)
_WS = re.compile(r"\s+")


def terminal_safe(text: str, *, single_line: bool = False) -> str:
    text = _INVISIBLE.sub("", _ESCAPES.sub("", text.replace("\r\n", "\n")))
    if single_line:
        text = _WS.sub(" ", text).strip()
    return text


class TerminalSafeFormatter(logging.Formatter):
    """Log lines for a terminal: log messages echo server text and names from strangers."""

    def format(self, record: logging.LogRecord) -> str:
        return terminal_safe(super().format(record))


def size_text(n: int) -> str:
    """`512 KB`, `2.5 MB`, `10 MB`: whole kilobytes (at least 1) below a megabyte, one
    decimal above (dropped when it is 0)."""
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f}".removesuffix(".0") + " MB"
    return f"{max(1, round(n / 1024))} KB"
