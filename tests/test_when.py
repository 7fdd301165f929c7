"""One grammar for dates and durations, in every command that takes one (issue 12 item 9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.cli import main
from aggregator.query import parse_query
from aggregator.settings import load_settings
from aggregator.when import WhenError, parse_duration, parse_when

NOW = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(("text", "start", "end"), [
    ("7d", NOW - timedelta(days=7), NOW - timedelta(days=7)),
    ("2w", NOW - timedelta(weeks=2), NOW - timedelta(weeks=2)),
    ("36h", NOW - timedelta(hours=36), NOW - timedelta(hours=36)),
    ("yesterday", datetime(2026, 4, 30, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)),
    ("today", datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 2, tzinfo=UTC)),
    ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)),
    ("2026-03-01T08:00Z", datetime(2026, 3, 1, 8, tzinfo=UTC),
     datetime(2026, 3, 1, 8, tzinfo=UTC)),
])
def test_every_form_means_the_same_in_the_query_language_and_the_parser(
        text: str, start: datetime, end: datetime) -> None:
    assert parse_when(text, NOW) == start and parse_when(text, NOW, end=True) == end
    q = parse_query(f"since:{text} until:{text}", now=NOW)
    assert (q.since, q.until) == (start, end)


def test_durations_take_every_unit_and_refuse_the_rest() -> None:
    assert parse_duration("30s") == timedelta(seconds=30)
    assert parse_duration("15m") == timedelta(minutes=15)
    assert parse_duration("2w") == timedelta(weeks=2)
    for bad in ("yesterday", "0d", "7", "7y", "2026-01-01"):
        with pytest.raises(WhenError, match="s, m, h, d or w"):
            parse_duration(bad)


def _rounds(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str
            ) -> tuple[int, str, str]:
    code = main(["--database-url", f"sqlite:///{tmp_path / 'w.db'}", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_prune_takes_weeks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _rounds(tmp_path, capsys, "prune", "--older-than", "2w", "--dry-run")
    assert code == 0, err
    cutoff = datetime.fromisoformat(out.split("created before ")[1].split()[0])
    assert abs(datetime.now(UTC) - timedelta(weeks=2) - cutoff) < timedelta(minutes=5)


def test_prune_refuses_a_moment_with_the_forms_it_takes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _rounds(tmp_path, capsys, "prune", "--older-than", "yesterday")
    assert code == 2 and "--older-than" in err and "s, m, h, d or w" in err


def test_export_takes_yesterday_and_weeks(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert _rounds(tmp_path, capsys, "db", "upgrade")[0] == 0  # export only reads an archive
    code, _, err = _rounds(tmp_path, capsys, "export", "--since", "yesterday", "--until", "today")
    assert code == 0, err
    code, _, err = _rounds(tmp_path, capsys, "export", "--since", "2w")
    assert code == 0, err
    code, _, err = _rounds(tmp_path, capsys, "export", "--since", "last tuesday")
    assert code == 2 and "--since" in err and "yesterday" in err


def test_config_every_takes_weeks(tmp_path: Path) -> None:
    path = tmp_path / "rounds.toml"
    path.write_text('[accounts.m]\nnetwork = "mastodon"\nbase_url = "https://m.example"\n'
                    '[[sources]]\nname = "s"\naccount = "m"\nhashtag = "x"\nevery = "1w"\n')
    path.chmod(0o600)
    assert load_settings(str(path), environ={}).sources[0].every == 7 * 86400
