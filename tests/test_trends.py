"""Trends end to end on a real SQLite archive: posts per topic per day, the rising rule
and its floor, mutes left out, the most shared links by distinct authors, `rounds trends`
as text and JSON on an injected clock, and --plot writing a PNG and an SVG that parse."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from aggregator.cli import main
from aggregator.cli.app import AppContext, rounds
from aggregator.cli.trends import sparkline
from aggregator.clock import ManualClock
from aggregator.models import Author, Post
from aggregator.reader.trends import Rising, rising, trends
from aggregator.storage.mutes import add_mute
from tests.tui.seed import NOW, Match, Seeder, post

HOSTILE_TAG = 'x<y>&"z'
LINK_A = "https://doi.org/10.5555/shared"
LINK_B = "https://example.org/one-voice"


def who(n: int) -> Author:
    return Author("mastodon", f"v{n}@med.example", f"v{n}@med.example", f"Voice {n}")


def at(n: int, days_ago: float, *, tags: tuple[str, ...] = (), links: tuple[str, ...] = (),
       by: int = 0) -> Post:
    return post(n, minutes_ago=days_ago * 1440 + 60, who=who(by), hashtags=tags, links=links,
                text=f"post {n}")


def seed(path: Path) -> Seeder:
    """Five weeks: cardiology steady (two a day), vaccines one a week then eight this week
    (rising), oncology two posts this week only (under the floor), #measles six posts this
    week only (new), #flu four this week only (under the floor), a hostile hashtag six
    times this week; link A by three voices, link B five times by one voice."""
    s = Seeder(path)
    page: list[Post] = []
    topics: list[list[Match]] = []
    n = 0

    def add(p: Post, *t: str) -> None:
        page.append(p)
        topics.append([Match(x) for x in t])

    for day in range(35):
        for _ in range(2):
            n += 1
            add(at(n, day, by=n % 4), "cardiology")
    for week in range(1, 5):  # the baseline: one vaccines post a week
        n += 1
        add(at(n, 7 * week + 2, tags=("Vaccines",)), "vaccines")
    for i in range(8):
        n += 1
        add(at(n, i % 6, tags=("Vaccines", "Measles") if i < 6 else ("Vaccines",),
               by=i % 3), "vaccines")
    for i in range(2):
        n += 1
        add(at(n, i), "oncology")
    for i in range(4):
        n += 1
        add(at(n, i, tags=("flu",)))
    for i in range(6):
        n += 1
        add(at(n, i, tags=(HOSTILE_TAG,)))
    for i in range(3):
        n += 1
        add(at(n, i, links=(LINK_A,), by=10 + i))
    for i in range(5):
        n += 1
        add(at(n, i, links=(LINK_B,), by=20))
    s.save("cardiology", page, topics)
    return s


@pytest.fixture
def archive(tmp_path: Path) -> Seeder:
    return seed(tmp_path / "rounds.db")


def test_series_rising_floor_and_links(archive: Seeder) -> None:
    t = trends(archive.db, archive.settings, ManualClock(NOW), days=30,
               topic_names={"cardiology": "Cardiology", "vaccines": "Vaccines"})
    assert len(t.days) == 30 and t.days[-1] == NOW.date()
    by_topic = {s.topic: s for s in t.series}
    assert by_topic["cardiology"].counts == (2,) * 30 and by_topic["cardiology"].name == \
        "Cardiology"
    assert by_topic["vaccines"].total == 8 + 3  # the weeks 1-3 posts fall in 30 days
    assert [r.id for r in t.rising_topics] == ["vaccines"]  # oncology: 2 < floor
    vaccines = t.rising_topics[0]
    assert (vaccines.recent, vaccines.baseline, vaccines.ratio) == (8, 4, 8.0)
    tags = {r.id: r for r in t.rising_tags}
    assert set(tags) == {"vaccines", "measles", HOSTILE_TAG.lower()}  # not #flu: 4 < 5
    assert tags["measles"].ratio is None and tags["measles"].recent == 6
    assert [(link.url, link.authors, link.posts) for link in t.links[:2]] == [
        (LINK_A, 3, 3), (LINK_B, 1, 5)]


def test_the_rule_needs_the_floor_and_twice_the_usual_week() -> None:
    found = rising("hashtag", {"two": (2, 0), "steady": (10, 40), "double": (10, 20),
                               "new": (5, 0), "under": (9, 20)}, lambda k: k)
    assert [r.id for r in found] == ["new", "double"]
    assert Rising("hashtag", "x", "#x", 10, 20).ratio == 2.0


def test_mutes_are_left_out(archive: Seeder) -> None:
    add_mute(archive.db, "tag", "measles", now=NOW, origin="cli")
    t = trends(archive.db, archive.settings, ManualClock(NOW), days=30)
    assert "measles" not in {r.id for r in t.rising_tags}
    vaccines = next(s for s in t.series if s.topic == "vaccines")
    assert vaccines.total == 2 + 3  # the six #measles posts are hidden
    assert "vaccines" not in {r.id for r in t.rising_topics}  # 2 posts: under the floor
    assert [(link.url, link.authors) for link in t.links[:2]] == [(LINK_A, 3), (LINK_B, 1)]
    voice = who(20)  # the one voice posting link B five times
    add_mute(archive.db, "author", voice.key, now=NOW, origin="cli", network=voice.network)
    add_mute(archive.db, "author", who(10).key, now=NOW, origin="cli", network="mastodon")
    t = trends(archive.db, archive.settings, ManualClock(NOW), days=30)
    assert [(link.url, link.authors, link.posts) for link in t.links] == [(LINK_A, 2, 2)]


def test_one_topic(archive: Seeder) -> None:
    t = trends(archive.db, archive.settings, ManualClock(NOW), days=7, topic="vaccines")
    assert [s.topic for s in t.series] == ["vaccines"]
    assert {r.id for r in t.rising_tags} == {"vaccines", "measles"}
    assert t.links == ()


def test_sparkline() -> None:
    assert sparkline([0, 1, 2, 4, 8]) == " ▁▂▄█"
    assert sparkline([0, 0]) == "  "


def run(tmp_path: Path, archive: Seeder, capsys: pytest.CaptureFixture[str], *args: str
        ) -> tuple[int, str, str]:
    cfg = tmp_path / "rounds.toml"
    cfg.write_text(f'[database]\nurl = "{archive.url}"\n', encoding="utf-8")
    cfg.chmod(0o600)
    capsys.readouterr()
    try:
        code = rounds.main(args=["--config", str(cfg), *args], prog_name="rounds",
                           standalone_mode=False, obj=AppContext(clock=ManualClock(NOW)))
    except Exception as exc:  # what main() turns into one line
        import click
        assert isinstance(exc, click.ClickException), exc
        exc.show()
        code = exc.exit_code
    out, err = capsys.readouterr()
    return int(code or 0), out, err


def test_cli_text_and_json(tmp_path: Path, archive: Seeder,
                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(tmp_path, archive, capsys, "trends")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"Posts per topic per day, {NOW.date() - timedelta(days=30)}")
    cardio = next(line for line in lines if line.lstrip().startswith("Cardiology"))
    assert "█" * 30 in cardio and cardio.rstrip().endswith("62")
    assert any("Vaccines" in line and "8 posts (usual week 1.0, ×8.0)" in line
               for line in lines)
    assert any("#measles" in line and "6 posts (new)" in line for line in lines)
    assert not any("#flu" in line for line in lines)
    assert any(LINK_A in line and "3 authors" in line for line in lines)
    code, out, err = run(tmp_path, archive, capsys, "trends", "--json", "--since", "7d")
    assert code == 0, err
    doc = json.loads(out)
    assert len(doc["days"]) == 8 and doc["rule"] == {"recent_days": 7, "baseline_days": 28,
                                                     "floor": 5, "rise": 2.0}
    assert doc["rising_topics"][0] == {"id": "vaccines", "name": "Vaccines & immunization",
                                       "recent": 8, "baseline": 4, "ratio": 8.0}
    assert doc["links"][0] == {"url": LINK_A, "authors": 3, "posts": 3}


def test_cli_refuses_unknown_topic_and_other_plot_formats(
        tmp_path: Path, archive: Seeder, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(tmp_path, archive, capsys, "trends", "--plot", str(tmp_path / "c.gif"))
    assert code == 2 and "a chart is written as .png or .svg" in err
    assert not (tmp_path / "c.gif").exists()
    code, _, err = run(tmp_path, archive, capsys, "trends", "--topic", "nosuch")
    assert code == 2 and "unknown topic 'nosuch'" in err


def test_plot_writes_a_png_and_an_svg_that_parse(
        tmp_path: Path, archive: Seeder, capsys: pytest.CaptureFixture[str]) -> None:
    png, svg = tmp_path / "chart.png", tmp_path / "chart.SVG"
    code, _, err = run(tmp_path, archive, capsys, "trends", "--plot", str(png))
    assert code == 0 and f"chart written to {png}" in err
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size == (1000, 560)
        assert len(image.getcolors(100_000) or ()) > 5  # lines and text, not a blank page
    code, _, err = run(tmp_path, archive, capsys, "trends", "--plot", str(svg))
    assert code == 0, err
    root = ET.fromstring(svg.read_bytes())  # the hostile hashtag is data, not markup
    texts = [el.text or "" for el in root.iter("{http://www.w3.org/2000/svg}text")]
    assert f"#{HOSTILE_TAG.lower()}  6 new" in texts
    assert any("Cardiology" in t for t in texts)
    assert len(list(root.iter("{http://www.w3.org/2000/svg}polyline"))) >= 4


def test_main_reports_a_missing_archive_in_one_line(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "rounds.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "none.db"}"\n', encoding="utf-8")
    cfg.chmod(0o600)
    code = main(["--config", str(cfg), "trends"])
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "none.db").exists()
