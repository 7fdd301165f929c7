"""`rounds catchup` on a real SQLite archive: groups with counts, notable posts first, one
line each within 80 columns, --since, --json, --limit; it never writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from aggregator.cli import main
from aggregator.models import Author
from aggregator.storage.db import open_database
from aggregator.storage.schema import app_state, posts
from tests.tui.seed import Seeder, post

JANE = Author("mastodon", "jane@cardio.example", "jane@cardio.example", "Dr Jane Heart")
HOSTILE = Author("mastodon", "evil@x.example", "evil@x.example", "[bold]Evil[/]\x1b[31m")


@pytest.fixture
def archive(tmp_path: Path) -> str:
    s = Seeder(tmp_path / "rounds.db")
    s.save("cardiology", [
        post(1, who=JANE, text="Routine ward round note", like_count=3, boost_count=1),
        post(2, who=JANE, text="Big trial result: " + "long words " * 20, like_count=90,
             boost_count=30, reply_count=12),
        post(3, who=JANE, text="Another ordinary post", like_count=2, boost_count=0),
        post(4, who=JANE, text="Fourth", like_count=1, boost_count=0),
        post(5, who=HOSTILE, text="\x1b]52;c;SGVsbG8=\x07hidden clipboard"),
    ])
    s.db.dispose()
    return s.url


def run(capsys: pytest.CaptureFixture[str], tmp_path: Path, url: str, *args: str
        ) -> tuple[int, str, str]:
    cfg = tmp_path / "rounds.toml"
    cfg.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    cfg.chmod(0o600)
    capsys.readouterr()
    code = main(["--config", str(cfg), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_catchup_groups_by_author_notable_first_in_80_columns(
        tmp_path: Path, archive: str, capsys: pytest.CaptureFixture[str]) -> None:
    # the seeded posts arrived days ago (seed.NOW): outside the default 24 hours
    code, out, _ = run(capsys, tmp_path, archive, "catchup")
    assert code == 0 and out.startswith("nothing new since")
    code, out, err = run(capsys, tmp_path, archive, "catchup", "--since", "30d")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("5 unread posts from 2 voices since")
    assert all(len(line) <= 80 for line in lines)
    jane = lines.index(next(line for line in lines if line.startswith("Dr Jane Heart")))
    assert "4 new" in lines[jane] and "1 notable" in lines[jane]
    assert "Big trial result" in lines[jane + 1] and "↩12 ♻30 ♥90" in lines[jane + 1]
    assert "×" in lines[jane + 1] and lines[jane + 1].endswith("…")
    assert "Routine ward round" in lines[jane + 2]
    assert "… 1 more" in lines[jane + 4]
    assert "\x1b" not in out and "\x07" not in out


def test_catchup_json_and_limit(tmp_path: Path, archive: str,
                                capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, tmp_path, archive, "catchup", "--since", "2026-11-01",
                       "--json", "--limit", "1")
    data = json.loads(out)
    assert code == 0 and data["origin"] == "given" and data["total"] == 5
    [group] = data["groups"]
    assert group["title"] == "Dr Jane Heart" and group["count"] == 4
    assert [p["likes"] for p in group["posts"]] == [90, 3, 2, 1]
    assert group["posts"][0]["notable"] is True and group["posts"][0]["boosts"] == 30


def test_catchup_refuses_a_bad_since_and_never_writes(
        tmp_path: Path, archive: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, tmp_path, archive, "catchup", "--since", "last tuesday")
    assert code == 2 and "--since" in err and "7d" in err
    run(capsys, tmp_path, archive, "catchup", "--since", "30d")
    db = open_database(archive)
    with db.engine.connect() as conn:
        unread = conn.execute(select(func.count()).where(posts.c.is_read.is_(False))).scalar()
        marks = conn.execute(select(app_state.c.key)).scalars().all()
    db.dispose()
    assert unread == 5 and not [k for k in marks if k.startswith("catchup")]


def test_catchup_on_a_missing_archive_says_what_to_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, tmp_path, f"sqlite:///{tmp_path / 'none.db'}", "catchup")
    assert code == 1 and err.count("\n") == 1 and "rounds" in err
    assert not (tmp_path / "none.db").exists()
