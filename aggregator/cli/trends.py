"""`rounds trends`: posts per topic per day, what is rising, the most shared links.
Only reads; `--plot FILE` writes a chart (PNG or SVG) for a report."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from aggregator.cli.app import AppContext, pass_reader, rounds
from aggregator.cli.read import topic_names
from aggregator.reader.trends import (
    BASELINE_DAYS,
    DEFAULT_DAYS,
    FLOOR,
    RECENT_DAYS,
    RISE,
    Rising,
    Trends,
    trends,
)
from aggregator.textutil import terminal_safe
from aggregator.trends_plot import plot_format, write_plot
from aggregator.when import WHEN_FORMS, WhenError, parse_when

BLOCKS = " ▁▂▃▄▅▆▇█"  # a day without posts is blank
MAX_DAYS = 366
NAME_WIDTH = 22


def sparkline(counts: tuple[int, ...] | list[int], top: int | None = None) -> str:
    """One character per day: blank for none, then eight heights up to `top` (the series'
    own maximum unless given)."""
    top = top or max(counts, default=0) or 1
    return "".join(BLOCKS[0] if n <= 0 else BLOCKS[max(1, min(8, round(8 * n / top)))]
                   for n in counts)


def rising_text(r: Rising) -> str:
    usual = "new" if r.ratio is None else f"usual week {r.usual_week:.1f}, ×{r.ratio:.1f}"
    return f"{r.recent} posts ({usual})"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(width - 1, 0)] + "…"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _rising_json(r: Rising) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "recent": r.recent, "baseline": r.baseline,
            "ratio": None if r.ratio is None else round(r.ratio, 2)}


def as_json(t: Trends) -> str:
    return json.dumps({
        "now": _stamp(t.now), "days": [d.isoformat() for d in t.days], "topic": t.topic,
        "rule": {"recent_days": RECENT_DAYS, "baseline_days": BASELINE_DAYS,
                 "floor": FLOOR, "rise": RISE},
        "series": [{"topic": s.topic, "name": s.name, "counts": list(s.counts),
                    "total": s.total} for s in t.series],
        "rising_topics": [_rising_json(r) for r in t.rising_topics],
        "rising_hashtags": [_rising_json(r) for r in t.rising_tags],
        "links": [{"url": link.url, "authors": link.authors, "posts": link.posts}
                  for link in t.links],
    }, ensure_ascii=True, indent=2)


def as_text(t: Trends, width: int) -> list[str]:
    safe = lambda text: terminal_safe(text, single_line=True)  # noqa: E731
    lines = [f"Posts per topic per day, {t.days[0]} to {t.days[-1]} "
             f"(UTC, {len(t.days)} days; each line scaled to its busiest day)"]
    if not t.series:
        lines.append("  no posts with a topic in these days")
    for s in t.series:
        lines.append(f"  {_cut(safe(s.name), NAME_WIDTH):<{NAME_WIDTH}} "
                     f"{sparkline(s.counts)} {s.total:>6}")
    lines += ["", f"Rising: the last {RECENT_DAYS} days against the {BASELINE_DAYS} before "
              f"(at least {FLOOR} posts and {RISE:g}× the usual week)"]
    for label, found in (("topics", t.rising_topics), ("hashtags", t.rising_tags)):
        if not found:
            lines.append(f"  {label}: nothing rising")
            continue
        lines.append(f"  {label}:")
        lines += [_cut(f"    {_cut(safe(r.name), NAME_WIDTH):<{NAME_WIDTH}} {rising_text(r)}",
                       width)
                  for r in found]
    lines += ["", f"Most shared links, {t.days[0]} to {t.days[-1]} (by distinct authors)"]
    if not t.links:
        lines.append("  no links in these days")
    lines += [_cut(f"  {_count(link.authors, 'author'):>11} {_count(link.posts, 'post'):>9}  "
                   f"{safe(link.url)}", width) for link in t.links]
    return lines


@rounds.command("trends")
@click.option("--since", metavar="WHEN", default=f"{DEFAULT_DAYS}d", show_default=True,
              help=f"First day of the posts-per-day lines and of the links: {WHEN_FORMS}.")
@click.option("--topic", metavar="TOPIC", help="One topic (its id, as `rounds topics list` "
              "shows): its line, and its posts' hashtags and links.")
@click.option("--json", "json_out", is_flag=True, help="One JSON document.")
@click.option("--plot", "plot", metavar="FILE.png|FILE.svg", type=click.Path(path_type=Path),
              help="Also write a chart of it to this file (PNG or SVG, by its extension).")
@pass_reader
def trends_command(app: AppContext, since: str, topic: str | None, json_out: bool,
                   plot: Path | None) -> None:
    """What the voices post about: posts per topic per day (a sparkline a topic, one
    character a day), the topics and hashtags rising now, and the most shared links.

    \b
    Rising: the last 7 days (today included, UTC) against the 28 days before. A topic or
    hashtag rises when it has at least 5 posts in those 7 days AND at least twice its
    usual week (the 28 days' posts / 4): two posts are not a trend. One never seen in
    the 28 days is "new" once it has 5. Best first: most usual weeks reached.
    Links: by how many different authors posted them (one voice repeating a link counts
    once), then by posts.
    Muted posts, deleted posts and posts fetched only for a conversation are not
    counted. This command only reads (the chart file aside).
    """
    if plot is not None and plot_format(plot) is None:
        raise click.BadParameter(f"{plot}: a chart is written as .png or .svg",
                                 param_hint="--plot")
    now = app.clock.now()
    try:
        start = parse_when(since, now)
    except WhenError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    days = (now.astimezone(UTC).date() - start.astimezone(UTC).date()).days + 1
    if not 1 <= days <= MAX_DAYS:
        raise click.BadParameter(f"{since}: between today and {MAX_DAYS} days back",
                                 param_hint="--since")
    names = topic_names(app.settings.topics_file)
    if topic is not None and names and topic not in names:
        raise click.BadParameter(f"unknown topic {topic!r} (rounds topics list shows them)",
                                 param_hint="--topic")
    t = trends(app.db, app.settings, app.clock, days=days, topic=topic, topic_names=names)
    if plot is not None:
        write_plot(t, plot)
    if json_out:
        click.echo(as_json(t))
    else:
        width = max(shutil.get_terminal_size((80, 24)).columns, 40)
        for line in as_text(t, width):
            click.echo(line)
    if plot is not None:
        click.echo(f"chart written to {plot}", err=True)
