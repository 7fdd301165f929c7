"""Mutes from the command line: `[[mutes]]` in the configuration, `rounds mutes
list|add|remove`, `rounds search` (hides, counts, --no-mutes) and `rounds export`
(unaffected unless --mutes), on a real SQLite archive."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.cli import main
from aggregator.errors import ConfigError
from aggregator.settings import load_settings
from tests.tui.seed import standard

EXPIRED = "2000-01-01"
FAR = "2999-12-31"


@pytest.fixture
def archive(tmp_path: Path) -> str:
    seeded = standard(tmp_path / "rounds.db")
    seeded.db.dispose()
    return seeded.url


def config(tmp_path: Path, url: str, mutes: str = "") -> str:
    path = tmp_path / "rounds.toml"
    path.write_text(f'{mutes}\n[database]\nurl = "{url}"\n', encoding="utf-8")
    path.chmod(0o600)
    return str(path)


def run(capsys: pytest.CaptureFixture[str], cfg: str, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--config", cfg, *args])
    out, err = capsys.readouterr()
    return code, out, err


def texts(out: str) -> list[str]:
    return [str(json.loads(line)["text"]).split()[0] for line in out.splitlines()]


def test_search_hides_muted_posts_says_how_many_and_no_mutes_shows_them(
        tmp_path: Path, archive: str, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, archive, '[[mutes]]\nquery = "eGFR"\n\n'
                                    f'[[mutes]]\nquery = "tag:ASCO"\nuntil = "{FAR}"\n\n'
                                    f'[[mutes]]\nquery = "network:twitter"\n'
                                    f'until = "{EXPIRED}"\n')
    code, out, err = run(capsys, cfg, "search", "--json", "since:3650d")
    assert code == 0
    assert texts(out) == ["New", "Vaccination"]  # the expired mute hides nothing
    assert "2 matching posts hidden by mutes (--no-mutes shows them)" in err
    code, out, err = run(capsys, cfg, "search", "--json", "--no-mutes", "since:3650d")
    assert texts(out) == ["New", "Agree,", "Immunotherapy", "Vaccination"]
    assert "hidden" not in err
    code, out, err = run(capsys, cfg, "search", "--json", "eGFR")
    assert out == "" and "no posts match" in err and "1 matching post hidden by mutes" in err


def test_export_keeps_muted_posts_unless_asked(tmp_path: Path, archive: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, archive, '[[mutes]]\nquery = "from:jane@cardio.example"\n')
    code, out, _ = run(capsys, cfg, "export")
    assert code == 0 and len(out.splitlines()) == 4
    code, out, _ = run(capsys, cfg, "export", "--mutes")
    assert code == 0 and len(out.splitlines()) == 3
    assert all(json.loads(line)["author"] != "jane@cardio.example" for line in out.splitlines())


def test_mutes_add_list_remove(tmp_path: Path, archive: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, archive, f'[[mutes]]\nquery = "crypto"\nuntil = "{EXPIRED}"\n')
    code, out, _ = run(capsys, cfg, "mutes", "add", "tag:heartfailure", "--until", FAR)
    assert code == 0 and "muted tag:heartfailure (id 1;" in out
    code, out, _ = run(capsys, cfg, "mutes", "add", "tag:heartfailure")
    assert code == 0 and "muted tag:heartfailure (id 1;" in out  # now for good, same id
    code, out, _ = run(capsys, cfg, "mutes", "add", "tag:heartfailure")
    assert "already muted (id 1)" in out
    code, out, err = run(capsys, cfg, "search", "--json", "since:3650d")
    assert "New" not in texts(out) and "1 matching post hidden" in err

    code, out, _ = run(capsys, cfg, "mutes", "list")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[0].split()[:3] == ["config", "query", "crypto"]
    assert "expired: through 2000-01-01" in lines[0]
    assert lines[1].split()[:3] == ["1", "query", "tag:heartfailure"] and "(from the cli)" in out
    code, out, _ = run(capsys, cfg, "mutes", "list", "--json")
    listed = [json.loads(line) for line in out.splitlines()]
    assert [(m["id"], m["active"], m["until"]) for m in listed] == [
        (None, False, "2000-01-02T00:00:00+00:00"), (1, True, None)]

    code, out, _ = run(capsys, cfg, "mutes", "remove", "1")
    assert code == 0 and "unmuted tag:heartfailure" in out
    code, out, err = run(capsys, cfg, "search", "--json", "since:3650d")
    assert "New" in texts(out) and "hidden" not in err
    code, _, err = run(capsys, cfg, "mutes", "remove", "1")
    assert code == 1 and err.strip() == \
        "error: no mute with id 1 (`rounds mutes list` shows them)"
    code, out, _ = run(capsys, cfg, "mutes", "add", "statin")
    assert "(id 2;" in out  # a removed mute's id is never given again


@pytest.mark.parametrize(("args", "needle"), [
    (["!!!"], "would hide every post"),
    (["tpoic:x"], "unknown filter 'tpoic:'"),
    (["crypto", "--until", "7d"], "relative to now"),
    (["crypto", "--until", "someday"], "cannot parse"),
])
def test_mutes_add_refuses_what_would_not_work(
        tmp_path: Path, archive: str, capsys: pytest.CaptureFixture[str],
        args: list[str], needle: str) -> None:
    code, _, err = run(capsys, config(tmp_path, archive), "mutes", "add", *args)
    assert code == 2 and needle in err
    code, out, err = run(capsys, config(tmp_path, archive), "mutes", "list")
    assert out == "" and "no mutes" in err


@pytest.mark.parametrize(("toml", "needle"), [
    ('[[mutes]]\nquery = "topic:nosuch"\n', "mutes[0].query: unknown topic 'nosuch'"),
    ('[[mutes]]\nquery = "!!! ..."\n', "mutes[0].query: a mute must say what to hide"),
    ('[[mutes]]\nquery = ""\n', "mutes[0].query: must not be empty"),
    ('[[mutes]]\nuntil = "2026-12-31"\n', "mutes[0].query: missing (required)"),
    ('[[mutes]]\nquery = "x"\nuntil = "7d"\n', "mutes[0].until: '7d' is relative to now"),
    ('[[mutes]]\nquery = "x"\nuntil = "2026-02-30"\n', "mutes[0].until: '2026-02-30' is out"),
    ('[[mutes]]\nquery = "x"\nuntil = 5\n', "mutes[0].until: must be str or date"),
    ('[[mutes]]\nquery = "x"\nfor = "7d"\n', "mutes[0].for: unknown key"),
    ('mutes = "crypto"\n', "mutes: must be list"),
])
def test_a_bad_mute_in_the_config_is_one_line_naming_the_key(
        tmp_path: Path, archive: str, capsys: pytest.CaptureFixture[str],
        toml: str, needle: str) -> None:
    cfg = config(tmp_path, archive, toml)
    with pytest.raises(ConfigError) as caught:
        load_settings(cfg, {})
    message = str(caught.value)
    assert needle in message and "\n" not in message and message.startswith(cfg)
    code, _, err = run(capsys, cfg, "search", "statin")
    assert code == 2 and err.count("\n") == 1 and needle in err


def test_until_takes_toml_dates_and_times(tmp_path: Path, archive: str) -> None:
    cfg = config(tmp_path, archive, '[[mutes]]\nquery = "a"\nuntil = 2026-12-31\n\n'
                                    '[[mutes]]\nquery = "b"\nuntil = 2026-12-31T08:00:00Z\n')
    day, moment = load_settings(cfg, {}).mutes
    assert day.until == datetime(2027, 1, 1, tzinfo=UTC)  # the whole 31st hides
    assert moment.until == datetime(2026, 12, 31, 8, tzinfo=UTC)
    assert day.active(datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
    assert not day.active(datetime(2027, 1, 1, tzinfo=UTC))


def test_search_finds_posts_by_hashtag(tmp_path: Path, archive: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, archive)
    _, out, _ = run(capsys, cfg, "search", "--json", "tag:#asco")
    assert texts(out) == ["Immunotherapy"]
    _, out, _ = run(capsys, cfg, "search", "--json", "-tag:asco,heartfailure", "since:3650d")
    assert texts(out) == ["Agree,", "Vaccination"]


def test_negated_words_are_never_read_as_short_options(
        tmp_path: Path, archive: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`-thread` once printed the help (-h) and `-snow` took "ow" as -n's value."""
    cfg = config(tmp_path, archive)
    _, out, _ = run(capsys, cfg, "search", "--json", "-n", "5", "since:3650d", "-thread",
                    "-snow")
    assert texts(out) == ["Agree,", "Immunotherapy", "Vaccination"]
    code, _, err = run(capsys, cfg, "search", "statin", "-n")
    assert code == 2 and "requires an argument" in err
    code, out, err = run(capsys, cfg, "search", "--josn", "statin")  # a typo, not a word
    assert code == 2 and "No such option '--josn'. Did you mean '--json'?" in err and not out
