"""`rounds trends --plot FILE`: the trends as a picture for a report, PNG or SVG.

One layout, two renderers: the chart is laid out once as a few primitives (lines, boxes,
text), then drawn with Pillow (PNG, already a dependency for post images) or written as
SVG by hand. Every string that came from posts (hashtags, links) or the taxonomy is XML
character data or an attribute value escaped as such, never markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from aggregator.fileio import atomic_binary
from aggregator.reader.trends import Trends

FORMATS = (".png", ".svg")
WIDTH, HEIGHT = 1000, 560
TOPICS_DRAWN = 6
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf")
INK, GRID, PAPER = "#222222", "#dddddd", "#ffffff"
LEFT, TOP, PLOT_W, PLOT_H = 60, 50, 640, 380


@dataclass(frozen=True, slots=True)
class Line:
    points: tuple[tuple[float, float], ...]
    color: str
    width: int = 2


@dataclass(frozen=True, slots=True)
class Text:
    x: float
    y: float  # the top of the text
    text: str
    color: str = INK
    size: int = 13
    anchor: str = "start"  # or "end", "middle"


Shape = Line | Text


def plot_format(path: Path) -> str | None:
    """".png" or ".svg" (any case); None for any other name."""
    suffix = path.suffix.lower()
    return suffix if suffix in FORMATS else None


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[:chars - 1] + "…"


def layout(t: Trends) -> list[Shape]:
    """The chart: posts per day of the busiest topics, then what is rising."""
    shapes: list[Shape] = []
    start, end = t.days[0].isoformat(), t.days[-1].isoformat()
    title = "Posts per topic per day" + (f" — {t.series[0].name}" if t.topic and t.series
                                         else "")
    shapes.append(Text(LEFT, 14, f"{title}, {start} to {end} (UTC)", size=16))
    drawn = t.series[:TOPICS_DRAWN]
    top = max((max(s.counts) for s in drawn), default=0) or 1
    bottom = TOP + PLOT_H
    for i in range(5):  # grid and y scale
        y = bottom - PLOT_H * i / 4
        shapes.append(Line(((LEFT, y), (LEFT + PLOT_W, y)), GRID, 1))
        shapes.append(Text(LEFT - 8, y - 7, f"{top * i / 4:.0f}", size=11, anchor="end"))
    shapes.append(Text(LEFT, bottom + 6, start, size=11))
    shapes.append(Text(LEFT + PLOT_W, bottom + 6, end, size=11, anchor="end"))
    step = PLOT_W / max(len(t.days) - 1, 1)
    for i, s in enumerate(drawn):
        color = COLORS[i % len(COLORS)]
        points = tuple((LEFT + step * d, bottom - PLOT_H * n / top)
                       for d, n in enumerate(s.counts))
        shapes.append(Line(points if len(points) > 1 else points * 2, color))
        y = TOP + 22 * i
        shapes.append(Line(((LEFT + PLOT_W + 20, y + 8), (LEFT + PLOT_W + 44, y + 8)), color,
                           4))
        shapes.append(Text(LEFT + PLOT_W + 50, y, f"{_cut(s.name, 26)} ({s.total})"))
    if not drawn:
        shapes.append(Text(LEFT + PLOT_W / 2, TOP + PLOT_H / 2, "no posts in these days",
                           anchor="middle"))
    y = TOP + 22 * max(len(drawn), 1) + 24
    shapes.append(Text(LEFT + PLOT_W + 20, y, "Rising (last 7 days)", size=14))
    rising = [*t.rising_topics[:4], *t.rising_tags[:6]]
    for r in rising:
        y += 20
        shift = "new" if r.ratio is None else f"×{r.ratio:.1f}"
        shapes.append(Text(LEFT + PLOT_W + 20, y, f"{_cut(r.name, 24)}  {r.recent} {shift}",
                           size=12))
    if not rising:
        shapes.append(Text(LEFT + PLOT_W + 20, y + 20, "nothing rising", size=12))
    y = bottom + 34
    shapes.append(Text(LEFT, y, "Most shared links (distinct authors)", size=14))
    for link in t.links[:3]:
        y += 20
        shapes.append(Text(LEFT, y, f"{link.authors:>3}  {_cut(link.url, 110)}", size=12))
    return shapes


def render_svg(shapes: Sequence[Shape]) -> bytes:
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif">',
           f'<rect width="{WIDTH}" height="{HEIGHT}" fill="{PAPER}"/>']
    for s in shapes:
        if isinstance(s, Line):
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in s.points)
            out.append(f'<polyline points="{points}" fill="none" stroke="{s.color}" '
                       f'stroke-width="{s.width}"/>')
        else:  # text from posts: character data, escaped (& < > and quotes)
            out.append(f'<text x="{s.x:.1f}" y="{s.y + s.size:.1f}" font-size="{s.size}" '
                       f'fill="{s.color}" text-anchor="{s.anchor}">'
                       f'{escape(s.text, {chr(34): "&quot;"})}</text>')
    out.append("</svg>\n")
    return "\n".join(out).encode()


def render_png(shapes: Sequence[Shape]) -> bytes:
    import io

    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(image)
    fonts: dict[int, ImageFont.FreeTypeFont | ImageFont.ImageFont] = {}
    for s in shapes:
        if isinstance(s, Line):
            draw.line(list(s.points), fill=s.color, width=s.width, joint="curve")
            continue
        font = fonts.get(s.size)
        if font is None:
            font = fonts[s.size] = ImageFont.load_default(size=s.size)
        anchor = {"start": "la", "end": "ra", "middle": "ma"}[s.anchor]
        draw.text((s.x, s.y), s.text, fill=s.color, font=font, anchor=anchor)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def write_plot(t: Trends, path: Path) -> None:
    """Write the chart to `path` (whole or not at all), as its extension says.

    Raises:
        ValueError: not .png or .svg (the command checks before it reads anything).
        OutputError: the file cannot be written.
    """
    kind = plot_format(path)
    if kind is None:
        raise ValueError(f"not a .png or .svg file: {path}")
    shapes = layout(t)
    data = render_png(shapes) if kind == ".png" else render_svg(shapes)
    with atomic_binary(path) as out:
        out.write(data)
