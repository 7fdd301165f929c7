"""HTML to plain text, shared by every network that receives HTML: Mastodon statuses and
bios, feed entries (RSS/Atom summaries and content).

A precompiled-regex tokenizer rather than html.parser: a timeline status is converted in a
few microseconds, which the storage benchmark (>= 20k posts/s end to end) needs. It
renders what Mastodon's web UI shows:

* ``<p>`` paragraphs are separated by a blank line, ``<br>`` is a newline;
* ``<span class="invisible">`` is dropped and ``<span class="ellipsis">`` gets a trailing
  "…", so a long link reads ``soundcloud.com/wakarangirl/pop…``;
* mentions and hashtags keep their visible text (``@user``, ``#Tag``);
* ``.quote-inline`` ("RE: <link>") is hidden when asked (a Mastodon 4.5 quote);
* ``<script>``/``<style>`` (never sent by Mastodon, common in blog HTML) vanish;
* external links (not mentions, not hashtags) are collected in order.

The input is untrusted: it is only ever converted to text, never passed on as markup.
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlsplit

# One token per match: a comment, a tag (group 1: "/" for a closing tag, 2: name,
# 3: attributes), or a run of text (group 4). A stray "<" is text.
_TOKEN = re.compile(r"<!--.*?-->|<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>|([^<]+|<)", re.DOTALL)
_CLASS = re.compile(r"""\bclass\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_BLOCKS = frozenset(
    {"p", "blockquote", "pre", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "div"}
)
_DROP = frozenset({"script", "style", "template", "iframe", "object"})
_BLANKS = re.compile(r"\n{3,}")

# Kinds of open spans/links tracked on a stack while tokenizing.
_PLAIN, _HIDDEN, _ELLIPSIS = 0, 1, 2


def _attr(pattern: re.Pattern[str], attrs: str) -> str:
    m = pattern.search(attrs)
    if not m:
        return ""
    return unescape(m.group(1) or m.group(2) or m.group(3) or "")


class HtmlText:
    """Plain text of a Mastodon HTML fragment plus what the links in it were."""

    __slots__ = ("hashtags", "links", "text")

    def __init__(self, text: str, links: list[str], hashtags: list[str]) -> None:
        self.text = text
        self.links = links  # external hrefs (not mentions, not hashtags), in order
        self.hashtags = hashtags  # hashtag link texts as written, without '#'


def html_to_text(html: str | None, *, hide_quote_inline: bool = False) -> HtmlText:
    """Render Mastodon HTML as the plain text its web UI shows (see the module docstring)."""
    if not html:
        return HtmlText("", [], [])
    if "<" not in html:  # Pleroma/plain-text servers, bios without markup
        text = unescape(html) if "&" in html else html
        return HtmlText(text.strip(), [], [])
    out: list[str] = []
    links: list[str] = []
    hashtags: list[str] = []
    stack: list[tuple[str, int]] = []  # (tag, kind) of open span/a/p elements
    hidden = 0  # how many open elements hide their content
    drop: str | None = None  # inside <script>/<style>: skip until its closing tag
    tag_text: list[str] | None = None  # collecting a hashtag link's text
    for closing, name, attrs, text in _TOKEN.findall(html):  # tuples: no Match objects
        if text:
            if drop is None and not hidden:
                if "&" in text:
                    text = unescape(text)
                out.append(text)
                if tag_text is not None:
                    tag_text.append(text)
            continue
        if not name:  # comment
            continue
        name = name.lower()
        if drop is not None:
            if closing and name == drop:
                drop = None
            continue
        if name in _DROP:
            if not closing and not attrs.rstrip().endswith("/"):
                drop = name
            continue
        if name == "br":
            if not hidden:
                out.append("\n")
            continue
        if closing:
            # Pop to the matching open element (tolerates unclosed inner tags).
            for i in range(len(stack) - 1, -1, -1):
                if stack[i][0] == name:
                    for _tag, kind in stack[i:]:
                        if kind == _HIDDEN:
                            hidden -= 1
                        elif kind == _ELLIPSIS and not hidden:
                            out.append("…")
                    del stack[i:]
                    if name == "a" and tag_text is not None:
                        tag = "".join(tag_text).strip().lstrip("#")
                        if tag:
                            hashtags.append(tag)
                        tag_text = None
                    break
            continue
        # Opening tag.
        if (name in _BLOCKS or name == "li") and not hidden and out:
            out.append("\n\n" if name in _BLOCKS else "\n")
        if name not in ("span", "a", "p", "div"):
            continue
        classes = _attr(_CLASS, attrs).split() if "class" in attrs else ()
        kind = _PLAIN
        if "invisible" in classes or (hide_quote_inline and "quote-inline" in classes):
            kind = _HIDDEN
            hidden += 1
        elif "ellipsis" in classes:
            kind = _ELLIPSIS
        stack.append((name, kind))
        if name == "a" and not hidden:
            if "hashtag" in classes:
                tag_text = []
            elif "mention" not in classes:
                href = _attr(_HREF, attrs)
                if href and href not in links and urlsplit(href).scheme in ("http", "https"):
                    links.append(href)
    text = "".join(out).strip()
    if "\n\n\n" in text:
        text = _BLANKS.sub("\n\n", text)
    return HtmlText(text, links, hashtags)
