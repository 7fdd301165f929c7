"""What the reader says when there is nothing to show or a key cannot work here: each
text names the next step (a key, or a `rounds` command and the config file it reads),
so a first run is never a blank screen or a bare "not available"."""

from __future__ import annotations

from aggregator.reader.feed import Setup
from tui.sanitize import sanitize_line

CLEAR_FILTER = "To clear the filter: press /, empty the box (Ctrl+U) and press Enter."


def _config(setup: Setup | None) -> str:
    return sanitize_line(setup.config_path, 300) if setup else "your config file"


def empty_archive(setup: Setup | None, can_collect: bool) -> list[str]:
    """The post list when the archive holds no post at all."""
    if setup is not None and setup.sources:
        first = ("Press R to collect now, or run `rounds collect` in a shell."
                 if can_collect else "Run `rounds collect` in a shell to fetch them.")
        return ["No posts yet.", first,
                f"Sources are configured in\n  {_config(setup)}",
                "To look around first: `rounds demo` opens the reader on sample posts."]
    return ["No posts yet, and no sources to collect from.",
            f"Run `rounds init` to write a starter config file:\n  {_config(setup)}\n"
            "add your lists or hashtags there, then run `rounds collect`.",
            "To look around first: `rounds demo` opens the reader on sample posts."]


def empty_view(label: str, view_id: str, query: str) -> list[str]:
    """The post list when this view (and filter) has no post, though the archive has."""
    where = sanitize_line(label, 80)
    if query:
        return [f"No posts in {where} match the filter {sanitize_line(query, 200)}.",
                CLEAR_FILTER]
    if view_id == "starred":
        return ["No starred posts yet: s stars the selected post."]
    if view_id == "unread":
        return ["No unread posts: you are up to date."]
    return [f"No posts in {where} yet."]


def no_refresher(setup: Setup | None) -> str:
    """`R` in a reader started without a collect service."""
    if setup is not None and setup.sources:
        return "cannot collect from this reader: run `rounds collect` in a shell"
    return (f"no sources to collect from: run `rounds init` to write {_config(setup)}, "
            "add sources there, then reopen the reader")


NO_CURATOR = ("no curated lists in this reader: open your archive with `rounds read`; "
              "`rounds lists create NAME` makes a list")

NO_LINKS = "this post has no links; o opens the post itself in the web browser"
NO_IMAGES = "this post has no images"
IMAGES_OFF = 'images are off: set [reader] images = "on-demand" (or "auto") in the settings'


def no_browser(url: str, reason: str = "") -> str:
    """`o` when no web browser could be opened: the link, to copy by hand."""
    why = f" ({sanitize_line(reason, 100)})" if reason else ""
    return f"no web browser could be opened{why}; the link: {sanitize_line(url, 500)}"


def no_browser_here(n: int, reason: str = "") -> str:
    """Enter on a link in the links screen when no web browser could be opened."""
    why = f" ({sanitize_line(reason, 100)})" if reason else ""
    return f"link {n}: no web browser could be opened{why}; y copies it"
