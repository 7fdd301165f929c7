"""Issue 12 item 7: unknown topics, sources and networks in a query are errors that name
the nearest valid names, in search, export, the reader and saved views."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.cli import main
from aggregator.clock import ManualClock
from aggregator.errors import ConfigError, QueryError
from aggregator.query import Vocabulary, parse_query
from aggregator.settings import load_settings
from aggregator.storage.db import open_database
from aggregator.storage.repository import Repository

NOW = datetime(2026, 5, 1, tzinfo=UTC)
VOCAB = Vocabulary(topics={"cardiology": "Cardiology & cardiovascular",
                           "infectious_disease": "Infectious disease & AMR",
                           "neurology": "Neurology & stroke"},
                   sources=("cardiology", "icu-list"))


@pytest.mark.parametrize(("text", "needle"), [
    ("topic:cardio", "unknown topic 'cardio' at column 1; did you mean cardiology?"),
    ("source:cardiolgy", "unknown source 'cardiolgy' at column 1; did you mean cardiology?"),
    ("network:mastodn", "unknown network 'mastodn' at column 1; did you mean mastodon?"),
    ("statin source:nowhere", "unknown source 'nowhere' at column 8; known: cardiology, "
                              "icu-list"),
])
def test_unknown_names_say_what_was_meant(text: str, needle: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(text, now=NOW, vocabulary=VOCAB)
    assert needle in str(caught.value)


@pytest.mark.parametrize(("text", "topic"), [
    ('topic:"Infectious disease"', "infectious_disease"),
    ('topic:"infectious disease & AMR"', "infectious_disease"),
    ("topic:Neurology", "neurology"),
    ("topic:CARDIOLOGY", "cardiology"),
])
def test_topic_names_as_the_reader_shows_them_are_accepted(text: str, topic: str) -> None:
    assert parse_query(text, now=NOW, vocabulary=VOCAB).topics == (topic,)


CONFIG = """
[accounts.med]
network = "mastodon"
base_url = "https://med.example"

[[sources]]
name = "cardiology"
account = "med"
hashtag = "cardiology"
topics = [{topics}]
{views}
"""


def _config(tmp_path: Path, topics: str = '"cardiology"', views: str = "") -> Path:
    path = tmp_path / "rounds.toml"
    path.write_text(CONFIG.format(topics=topics, views=views))
    path.chmod(0o600)
    return path


def test_a_saved_view_with_an_unknown_topic_fails_when_the_config_loads(tmp_path: Path) -> None:
    path = _config(tmp_path, views='[[views]]\nname = "Hearts"\nquery = "topic:cardio"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(str(path), environ={})
    message = str(caught.value)
    assert str(path) in message and "views[0].query" in message and "'Hearts'" in message
    assert "did you mean cardiology?" in message


def test_a_source_topic_must_be_a_topic_id(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(str(_config(tmp_path, topics='"cardio"')), environ={})
    message = str(caught.value)
    assert "sources.cardiology.topics: unknown topic 'cardio'" in message
    assert "cardiology, oncology" in message
    good = load_settings(str(_config(
        tmp_path, views='[[views]]\nname = "ID"\nquery = \'topic:"Infectious disease"\'\n')),
        environ={})
    assert good.views[0].name == "ID"


def test_search_and_export_refuse_unknown_names(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(_config(tmp_path))
    url = f"sqlite:///{tmp_path / 'q.db'}"
    assert main(["--config", cfg, "--database-url", url, "search", "topic:cardio"]) == 2
    assert "did you mean cardiology?" in capsys.readouterr().err
    assert main(["--config", cfg, "--database-url", url, "export", "--query",
                 "source:cardiolgy"]) != 0
    assert "did you mean cardiology?" in capsys.readouterr().err


def test_the_readers_filter_refuses_unknown_names(tmp_path: Path) -> None:
    from aggregator.reader.feed import StorageFeedReader

    settings = load_settings(str(_config(tmp_path)), environ={})
    db = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    clock = ManualClock()
    try:
        reader = StorageFeedReader(db, Repository(db, clock), settings, clock)
        with pytest.raises(QueryError, match="did you mean cardiology"):
            reader.check_query("/topic:cardio".lstrip("/"))
        reader.check_query('topic:"Cardiology"')
    finally:
        db.dispose()
