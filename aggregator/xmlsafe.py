"""The one check every XML document from outside passes before any parser sees it.

Entity declarations are what billion-laughs (nested expansion) and XXE (external entities:
local files, URLs) need; feeds and OPML files have no use for them. So a document that
declares any is refused outright, whatever its encoding: UTF-16 and UTF-32 put NULs between
the ASCII bytes, so the check also runs on the bytes without them.
"""

from __future__ import annotations

import re

_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)


def declares_entities(body: bytes) -> bool:
    """True when `body` declares XML entities (in any of the usual encodings)."""
    if _ENTITY.search(body):
        return True
    return b"\x00" in body[:4096] and bool(_ENTITY.search(body.replace(b"\x00", b"")))
