"""Configuration: the documented format, and one clear message for every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.cli import main
from aggregator.errors import ConfigError
from aggregator.settings import load_settings

GOOD = """
[database]
url = "sqlite:////tmp/x.db"

[accounts.med]
network = "mastodon"
base_url = "https://med-mastodon.com"
token_env = "ROUNDS_MED_TOKEN"

[[sources]]
name = "cardiology"
account = "med"
list = "42"
every = "15m"
topics = ["cardiology"]
backfill = 50

[[sources]]
name = "fda"
account = "med"
user = "@FDA@mastodon.social"
every = "2h"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rounds.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_documented_format_loads(tmp_path: Path) -> None:
    s = load_settings(str(write(tmp_path, GOOD)), environ={})
    assert s.database_url == "sqlite:////tmp/x.db"
    card, fda = s.sources
    assert (card.target.kind, card.target.value, card.every, card.backfill) == (
        "list", "42", 900, 50)
    assert card.topics == ("cardiology",)
    assert (fda.target.kind, fda.target.value, fda.every, fda.backfill) == (
        "user", "FDA@mastodon.social", 7200, 200)


def test_environment_then_flags_override_the_file(tmp_path: Path) -> None:
    path = str(write(tmp_path, GOOD))
    env = {"ROUNDS_DATABASE_URL": "sqlite:////tmp/env.db"}
    assert load_settings(path, env).database_url == "sqlite:////tmp/env.db"
    assert load_settings(path, env, "sqlite:////tmp/flag.db").database_url == "sqlite:////tmp/flag.db"


def test_token_comes_from_the_named_variable(tmp_path: Path) -> None:
    s = load_settings(str(write(tmp_path, GOOD)), environ={})
    assert s.accounts["med"].token({"ROUNDS_MED_TOKEN": "sekrit"}) == "sekrit"
    assert s.accounts["med"].token({}) is None


def test_missing_default_file_is_an_empty_config() -> None:
    s = load_settings(None, environ={})
    assert s.sources == () and s.database_url.startswith("sqlite:///")


@pytest.mark.parametrize(("change", "key", "problem"), [
    (("every = \"15m\"", "every = \"15x\""), "sources.cardiology.every", "cannot parse"),
    (("backfill = 50", "backfill = 50\ncolour = \"red\""), "sources.cardiology.colour",
     "unknown key"),
    (("account = \"med\"\nlist", "account = \"nope\"\nlist"), "sources.cardiology.account",
     "undefined account 'nope'"),
    (("name = \"fda\"", "name = \"cardiology\""), "sources.cardiology", "duplicate source name"),
    (("list = \"42\"", "list = \"42\"\nhashtag = \"x\""), "sources.cardiology",
     "exactly one of list, hashtag, user, search"),
    (("token_env = \"ROUNDS_MED_TOKEN\"", ""), "sources.cardiology.list", "need a token"),
    (("network = \"mastodon\"", "network = \"myspace\""), "accounts.med.network", "one of"),
    (("https://med-mastodon.com", "http://med-mastodon.com"), "accounts.med.base_url", "https"),
    (("network = \"mastodon\"\n", ""), "accounts.med.network", "missing"),
    (("user = \"@FDA@mastodon.social\"", "search = \"#cardiology\""), "sources.fda.search",
     "X accounts only"),
    (("topics = [\"cardiology\"]", "topics = \"cardiology\""), "sources.cardiology.topics",
     "must be list"),
    (("every = \"2h\"", "every = \"2h\"\n[[views]]\nname = \"v\"\nquery = \"tpic:x\""),
     "views[0].query", "unknown filter"),
])
def test_each_mistake_names_file_key_and_problem(tmp_path: Path, change: tuple[str, str],
                                                 key: str, problem: str) -> None:
    path = write(tmp_path, GOOD.replace(*change, 1))
    with pytest.raises(ConfigError) as err:
        load_settings(str(path), environ={})
    message = str(err.value)
    assert str(path) in message and key in message and problem in message, message


def test_broken_toml_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(str(write(tmp_path, "[accounts\n")), environ={})


def test_cli_reports_bad_config_in_one_line_with_exit_2(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, GOOD.replace("every = \"15m\"", "every = \"soon\""))
    db = tmp_path / "never.db"
    code = main(["--config", str(path), "--database-url", f"sqlite:///{db}", "collect"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "sources.cardiology.every" in err
    assert "Traceback" not in err
    assert not db.exists()


def test_group_readable_config_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path, GOOD)
    path.chmod(0o644)
    load_settings(str(path), environ={})
    assert "readable by group or others" in caplog.text


def test_init_writes_a_0600_starter_that_loads_and_never_overwrites(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "cfg" / "rounds.toml"
    assert main(["--config", str(target), "init"]) == 0
    assert target.stat().st_mode & 0o777 == 0o600
    assert load_settings(str(target), environ={}).sources[0].name == "cardiology"
    target.write_text("# mine\n")
    assert main(["--config", str(target), "init"]) == 1
    assert target.read_text() == "# mine\n"
    assert "already exists" in capsys.readouterr().err


def _uncommented(text: str) -> str:
    """Every commented-out table of the example (`# [accounts.x]`, `# [[sources]]`, …) and
    the `# key = value` lines under it, uncommented."""
    out, inside = [], False
    for line in text.splitlines():
        bare = line[2:] if line.startswith("# ") else None
        if bare is not None and bare.startswith("["):
            inside = True
            out.append(bare)
        elif inside and bare is not None and " = " in bare.split("#")[0]:
            out.append(bare)
        else:
            inside = inside and bare is not None
            out.append(line)
    return "\n".join(out)


def test_the_example_config_loads_as_shipped_and_with_every_example_uncommented(
        tmp_path: Path) -> None:
    """What `rounds init` writes: every network's account and every kind of source in it
    is valid as written, so a newcomer who uncomments one gets a working config."""
    from aggregator.cli.admin import example_config

    shipped = tmp_path / "shipped.toml"
    shipped.write_text(example_config())
    assert {s.name for s in load_settings(str(shipped), {}).sources} == {"cardiology"}
    full = tmp_path / "full.toml"
    full.write_text(_uncommented(example_config()))
    settings = load_settings(str(full), {})
    assert {a.network for a in settings.accounts.values()} == {"mastodon", "twitter",
                                                               "bluesky", "feed"}
    assert {s.target.kind for s in settings.sources} == {"hashtag", "user", "list", "search",
                                                         "feed", "curated"}
    assert (Path(__file__).parents[1] / "config" / "rounds.example.toml").read_text() == \
        example_config()  # the copy in config/ is the one rounds init writes


def test_reader_images_default_to_on_demand_and_can_be_set(tmp_path: Path) -> None:
    assert load_settings(str(write(tmp_path, "")), environ={}).reader.images == "on-demand"
    text = "[reader]\nimages = \"auto\"\nimage_max_mb = 2.5\nimage_cache_mb = 50\n"
    reader = load_settings(str(write(tmp_path, text)), environ={}).reader
    assert (reader.images, reader.image_max_mb, reader.image_cache_mb) == ("auto", 2.5, 50.0)


@pytest.mark.parametrize(("text", "key", "problem"), [
    ("images = \"sometimes\"", "reader.images",
     "must be one of on-demand, auto, off, not 'sometimes'"),
    ("images = false", "reader.images", "must be str, not bool"),
    ("image_max_mb = 0", "reader.image_max_mb", "must be a number of megabytes above 0"),
    ("image_cache_mb = -5", "reader.image_cache_mb", "must be a number of megabytes above 0"),
    ("image_size = 3", "reader.image_size", "unknown key"),
])
def test_reader_image_mistakes_are_one_line(tmp_path: Path, text: str, key: str,
                                            problem: str) -> None:
    path = write(tmp_path, f"[reader]\n{text}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(str(path), environ={})
    message = str(err.value)
    assert str(path) in message and key in message and problem in message, message
    assert "\n" not in message
