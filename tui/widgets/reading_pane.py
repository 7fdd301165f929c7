"""The reading pane: one post in full, built as plain `Text` from untrusted data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from aggregator.reader.feed import PostDetail, RelatedPost
from tui.images import Graphics
from tui.links import visible_url
from tui.sanitize import sanitize, sanitize_line
from tui.timefmt import relative
from tui.widgets.image_view import ImageView
from tui.widgets.post_row import badge

MAX_TEXT = 20_000  # longer posts are cut here for display; `o` opens the original
BIO_CHARS = 160


def _section(text: Text, title: str) -> None:
    text.rstrip()
    text.append(f"\n\n{title}\n", style="bold underline")


def _related(text: Text, label: str, rel: RelatedPost) -> None:
    text.append(f"\n{label} ", style="bold")
    if rel.post_id is not None:
        text.append(sanitize_line(rel.author_name, 60) or "?", style="bold")
        text.append(f": {sanitize_line(rel.text, 200)}", style="italic")
    else:
        who = f" by {sanitize_line(rel.author, 80)}" if rel.author else ""
        text.append(f"{sanitize_line(rel.ref, 200)}{who} (not in the archive)", style="dim")


def render_detail(d: PostDetail, now: datetime, topic_name: Callable[[str], str]) -> Text:
    t = Text(overflow="fold")
    t.append(sanitize_line(d.author.name, 100) or sanitize_line(d.author.handle, 100),
             style="bold")
    t.append(f"  @{sanitize_line(d.author.handle, 100)}  ", style="dim")
    t.append_text(badge(d.network))
    t.append(f"  {relative(d.created_at, now)} · {d.created_at:%Y-%m-%d %H:%M} UTC",
             style="dim")
    marks = [m for m, on in (("unread", not d.is_read), ("★ starred", d.starred)) if on]
    if marks:
        t.append("  " + "  ".join(marks), style="bold #eab308")
    if d.author.bio:
        bio = sanitize_line(d.author.bio, BIO_CHARS + 1)
        t.append("\n" + (bio[:BIO_CHARS] + "…" if len(bio) > BIO_CHARS else bio),
                 style="italic dim")
    if d.reply_to:
        _related(t, "↳ replying to", d.reply_to)
    if d.quote_of:
        _related(t, "❝ quoting", d.quote_of)
    if d.spoiler:
        t.append(f"\n\nCW: {sanitize_line(d.spoiler, 300)}", style="bold #f97316")
    body = sanitize(d.text[: MAX_TEXT + 1])
    t.append("\n\n")
    t.append(body[:MAX_TEXT])
    if len(d.text) > MAX_TEXT:
        t.append(f"\n… ({len(d.text) - MAX_TEXT:,} more characters; press o to open)",
                 style="dim")
    if d.links:
        _section(t, "Links (l lists them to open or copy)")
        for link in d.links[:20]:
            t.append(f"• {visible_url(link[:500])}\n", style="underline")
    if d.media:
        _section(t, "Media (i shows the images)" if any(m.kind == "image" for m in d.media)
                 else "Media")
        for m in d.media[:10]:
            alt = sanitize_line(m.alt_text, 1000) or "(no description)"
            t.append(f"[{sanitize_line(m.kind, 20)}] ", style="bold")
            t.append(f"{alt}\n")
            t.append(f"  {sanitize_line(m.url, 300)}\n", style="dim")
    t.rstrip()
    t.append("\n")
    if d.boosted_by:
        names = ", ".join(sanitize_line(b.name or b.handle, 60) for b in d.boosted_by[:10])
        t.append(f"\n⟲ boosted by {names}", style="italic")
    if d.sources:
        t.append(f"\nvia {', '.join(sanitize_line(s, 60) for s in d.sources)}", style="dim")
    if d.topics:
        _section(t, "Topics")
        for r in d.topics:
            t.append(f"{sanitize_line(topic_name(r.topic), 60)}", style="bold #a5b4fc")
            t.append(f"  {r.rule}: {sanitize_line(r.matched, 120)}\n", style="dim")
    t.rstrip()
    return t


class ReadingPane(VerticalScroll, can_focus=True):
    ALLOW_MAXIMIZE = True
    DEFAULT_CSS = """
    ReadingPane { height: 1fr; border-top: solid $primary 40%; padding: 0 1; }
    ReadingPane > Static { width: 1fr; }
    """

    def __init__(self, *, graphics: Graphics = "halfcell", id: str | None = None) -> None:
        super().__init__(id=id)
        self.detail: PostDetail | None = None
        self.graphics = graphics

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(Text("Select a post to read it.", style="dim"), markup=False,
                     id="pane-body")
        yield ImageView(self.graphics, id="pane-images")

    @property
    def images(self) -> ImageView:
        return self.query_one(ImageView)

    def show(self, detail: PostDetail | None, now: datetime,
             topic_name: Callable[[str], str]) -> None:
        if detail is None or self.detail is None or detail.id != self.detail.id:
            self.images.reset(detail)  # the same post redrawn (read, star) keeps its image
        self.detail = detail
        body = self.query_one("#pane-body", Static)
        if detail is None:
            body.update(Text("Select a post to read it.", style="dim"))
        else:
            body.update(render_detail(detail, now, topic_name))
        self.scroll_home(animate=False)
