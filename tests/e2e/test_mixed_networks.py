"""Both networks in one database: one export, one record shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.cli import main
from aggregator.clock import ManualClock
from tests.fakes.mastodon import TAG, TOKEN, MastodonFake
from tests.fakes.server import LoopbackServer, serve
from tests.fakes.twitter import FakeX

X_LIST = "1500000000000000001"


@pytest.fixture
def fake_x() -> Iterator[tuple[FakeX, LoopbackServer]]:
    fake = FakeX(ManualClock())
    for server in serve(fake.handle):
        yield fake, server


def test_mixed_database_exports_one_uniform_record_shape(
        tmp_path: Path, db_url: str, fake_mastodon: MastodonFake,
        fake_x: tuple[FakeX, LoopbackServer], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    x, x_server = fake_x
    original = x.make_tweet("snowman", "Statins & #HeartFailure: new data <3",
                            urls=["https://doi.org/10.1000/xyz"])
    x.add_tweets(f"list:{X_LIST}", [original, x.make_retweet(original)])
    x.add_tweets(f"list:{X_LIST}", [x.make_tweet("snowman", f"ward round {i}")
                                    for i in range(20)])
    monkeypatch.setenv("ROUNDS_MED_TOKEN", TOKEN)
    monkeypatch.setenv("ROUNDS_X_BEARER", x.token)
    cfg = tmp_path / "rounds.toml"
    cfg.write_text(f"""
[database]
url = "{db_url}"
[accounts.med]
network = "mastodon"
base_url = "{fake_mastodon.base_url}"
token_env = "ROUNDS_MED_TOKEN"
[accounts.x]
network = "twitter"
base_url = "{x_server.base_url}"
bearer_token_env = "ROUNDS_X_BEARER"
max_reads_per_day = 5000
[[sources]]
name = "tag"
account = "med"
hashtag = "{TAG}"
[[sources]]
name = "xlist"
account = "x"
list = "{X_LIST}"
""")
    cfg.chmod(0o600)
    assert main(["--config", str(cfg), "collect"]) == 0
    capsys.readouterr()
    assert main(["--config", str(cfg), "export"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["network"] for r in records} == {"mastodon", "twitter"}
    shapes = {tuple(r) for r in records}
    assert len(shapes) == 1, "every record has the same fields in the same order"
    tweet = next(r for r in records if r["id"] == original["id"])
    assert tweet["text"].startswith("Statins & #HeartFailure: new data <3")
    assert tweet["links"] == ["https://doi.org/10.1000/xyz"]
    assert tweet["hashtags"] == ["HeartFailure"]
    assert tweet["boosted_by"] == ["happycamper"]
    assert tweet["sources"] == ["xlist"]
    assert len([r for r in records if r["network"] == "twitter"]) == 21  # retweet folded in

    capsys.readouterr()
    assert main(["--config", str(cfg), "sources"]) == 0
    out = capsys.readouterr().out
    assert "xlist" in out and "/5000" in out  # X reads spent today, against the budget
