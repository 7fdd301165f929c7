"""How one post looks in the list: two lines of plain `Text` (never markup)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text

from aggregator.reader.feed import PostRow
from tui.sanitize import first_line, sanitize_line
from tui.timefmt import relative

BADGES = {
    "mastodon": (" M ", "bold #ffffff on #563acc"),
    "twitter": (" X ", "bold #ffffff on #333333"),
    "bluesky": (" B ", "bold #ffffff on #0a6fd8"),
    "feed": (" F ", "bold #000000 on #f2a33a"),
}


def badge(network: str) -> Text:
    label, style = BADGES.get(network, (" ? ", "reverse"))
    return Text(label, style=style)


def row_lines(row: PostRow, now: datetime, topic_name: Callable[[str], str],
              width: int) -> tuple[Text, Text]:
    head = Text(no_wrap=True, overflow="ellipsis", end="")
    head.append("● " if not row.is_read else "  ", style="bold #3b82f6")
    head.append("★ " if row.starred else "  ", style="bold #eab308")
    head.append_text(badge(row.network))
    head.append(" ")
    head.append(sanitize_line(row.author_name, 60) or sanitize_line(row.author_handle, 60),
                style="bold" if not row.is_read else "")
    head.append(f" @{sanitize_line(row.author_handle, 60)}", style="dim")
    head.append(f" · {relative(row.created_at, now)}", style="dim")
    if row.boosted_by:
        head.append(f" ⟲ {sanitize_line(row.boosted_by, 30)}", style="dim italic")
    for topic in row.topics[:3]:
        head.append(" ")
        head.append(f" {sanitize_line(topic_name(topic), 24)} ", style="#0f172a on #a5b4fc")
    body = Text(no_wrap=True, overflow="ellipsis", end="")
    body.append("      ")
    body.append(first_line(row.text, width) or "(no text)", style="" if not row.is_read else "dim")
    for t in (head, body):
        t.truncate(width, overflow="ellipsis")
    return head, body
