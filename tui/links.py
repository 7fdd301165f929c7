"""A post's links, made safe to show, open and copy.

A link is a stranger's data. Before it is shown, opened or copied, every character that
could hide or act (controls and escape sequences, bidi overrides, zero-width and other
invisible or space characters, the backslash browsers read as "/") is percent-encoded, so
what the user sees is what is opened and copied, byte for byte, and a pasted link cannot
run anything in a shell. The host is shown as the network sees it (IDNA ASCII, after any
"user@" part), so `https://bank.example@evil.example` and look-alike letters show where
they really go. Only http(s) links with a host are opened.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from aggregator.textutil import terminal_safe

WEB_SCHEMES = ("http", "https")
MAX_LINKS = 200  # a post listing more is cut here
_HOST = re.compile(r"[a-z0-9_.-]+|[0-9a-f:.]+")  # a name (IDNA ASCII) or an IPv4/IPv6 address


@dataclass(frozen=True, slots=True)
class Link:
    url: str  # as shown, opened and copied: hidden or acting characters percent-encoded
    host: str  # where it goes (IDNA ASCII); "" when there is none
    problem: str = ""  # why it is not opened; "" for a web link
    warning: str = ""  # something about it a reader should know (user@ before the host)

    @property
    def can_open(self) -> bool:
        return not self.problem


def _hidden(c: str) -> bool:
    return (unicodedata.category(c)[0] in "CZ" or c == "\\" or terminal_safe(c) != c)


def visible_url(raw: str) -> str:
    """`raw` with every hidden or acting character percent-encoded (UTF-8)."""
    return "".join(quote(c, safe="") if _hidden(c) else c for c in raw)


def _ascii_host(host: str) -> str:
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise ValueError("its host name is not a valid one") from exc


def inspect_link(raw: str) -> Link:
    url = visible_url(raw.strip())
    try:
        parts = urlsplit(url)
        host = _ascii_host(parts.hostname or "")
        _ = parts.port  # raises ValueError on a port that is not a number
    except ValueError as exc:
        reason = str(exc) if "host name" in str(exc) else "it is not a valid address"
        return Link(url, "", f"not opened: {reason}")
    scheme = parts.scheme.lower()
    if scheme not in WEB_SCHEMES:
        what = f"a {scheme}: link" if scheme else "not a web address"
        return Link(url, host, f"not opened: {what}; only http and https links are opened")
    if not host:
        return Link(url, "", "not opened: it names no host")
    if not _HOST.fullmatch(host):
        return Link(url, host, "not opened: its host has characters no host name has")
    warning = ""
    if parts.username is not None:
        warning = "the part before @ is not where it goes"
    return Link(url, host, "", warning)


def post_links(links: Iterable[str]) -> list[Link]:
    """A post's links in order, each once, at most MAX_LINKS."""
    seen: set[str] = set()
    out: list[Link] = []
    for raw in links:
        link = inspect_link(raw)
        if link.url and link.url not in seen:
            seen.add(link.url)
            out.append(link)
        if len(out) == MAX_LINKS:
            break
    return out


def open_url(opener: Callable[[str], object], url: str) -> str | None:
    """Hand `url` to the opener (the web browser): None when it went, else why not ("" when
    the opener does not say)."""
    try:
        opened = opener(url)
    except Exception as exc:  # webbrowser raises on a broken BROWSER setting
        return str(exc)
    return "" if opened is False else None  # webbrowser.open: False, no browser found
