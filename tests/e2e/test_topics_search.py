"""Topics at ingest, `rounds topics`, `rounds search`, and reclassification."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aggregator.cli import main
from aggregator.cli.app import AppContext
from aggregator.cli.collect import build_service
from aggregator.topics.reclassify import reclassify
from tests.e2e.conftest import WriteConfig
from tests.fakes.mastodon import TAG, MastodonFake

POSTS = [
    "<p>New <a href=\"https://med.example/tags/HeartFailure\" class=\"mention hashtag\">"
    "#<span>HeartFailure</span></a> guideline: SGLT2 inhibitors for everyone with HFrEF</p>",
    "<p>Measles outbreak: vaccination coverage fell below 90% in two counties</p>",
    "<p>What a stroke of luck, the coffee machine works again</p>",
    "<p>Preprint on long covid fatigue <a href=\"https://www.medrxiv.org/content/1\">"
    "medrxiv.org/content/1</a></p>",
]


@pytest.fixture
def collected(write_config: WriteConfig, fake_mastodon: MastodonFake,
              capsys: pytest.CaptureFixture[str]) -> Path:
    fake_mastodon.api.add_statuses(f"tag:{TAG}", [
        fake_mastodon.api.make_status(content=c) for c in POSTS])
    cfg = write_config()
    assert main(["--config", str(cfg), "collect", "--source", "tag"]) == 0
    capsys.readouterr()
    return cfg


def search(cfg: Path, capsys: pytest.CaptureFixture[str], *query: str) -> list[dict[str, object]]:
    capsys.readouterr()
    assert main(["--config", str(cfg), "search", "--json", *query]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_posts_carry_topics_and_explain_says_why(collected: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    found = search(collected, capsys, "topic:cardiology")
    assert len(found) == 1 and "SGLT2" in str(found[0]["text"])
    assert "cardiology" in found[0]["topics"]  # type: ignore[operator]
    assert not search(collected, capsys, "topic:neurology")  # "stroke of luck" is vetoed
    assert main(["--config", str(collected), "topics", "explain", str(found[0]["url"])]) == 0
    out = capsys.readouterr().out
    assert "cardiology" in out and "hashtag" in out


def test_explain_says_why_a_topic_was_dropped(collected: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    lucky = search(collected, capsys, '"stroke of luck"')
    assert len(lucky) == 1 and "neurology" not in lucky[0]["topics"]  # type: ignore[operator]
    assert main(["--config", str(collected), "topics", "explain", str(lucky[0]["url"])]) == 0
    out = capsys.readouterr().out
    assert "no topics matched" in out
    assert "not neurology: keyword 'stroke' vetoed by 'stroke of luck'" in out
    # SGLT2 is shared with cardiology: the heart-failure post is not endocrinology
    hf = search(collected, capsys, "SGLT2")
    assert "endocrine_diabetes" not in hf[0]["topics"]  # type: ignore[operator]
    assert main(["--config", str(collected), "topics", "explain", str(hf[0]["url"])]) == 0
    out = capsys.readouterr().out
    assert "not endocrine_diabetes: 'sglt2' is shared with cardiology" in out


def test_full_text_and_filters_combine(collected: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    hits = search(collected, capsys, "measles", "network:mastodon", "since:3650d")
    assert len(hits) == 1 and "vaccines" in hits[0]["topics"]  # type: ignore[operator]
    assert search(collected, capsys, '"coffee machine"')
    assert not search(collected, capsys, "measles", "-outbreak")
    preprint = search(collected, capsys, "has:link", "fatigue")
    assert preprint and "type:preprint" in preprint[0]["facets"]  # type: ignore[operator]


@pytest.mark.parametrize("query", ['"unbalanced', "tpic:cardiology", "since:yesterdayish",
                                   'NEAR( "a" * ^ OR AND ) :'])
def test_bad_or_hostile_queries_never_crash(collected: Path, query: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(collected), "search", query])
    err = capsys.readouterr().err
    assert code in (0, 2), err
    assert "Traceback" not in err
    if code == 2:
        assert "^" in err  # points at the offending token


def test_topics_list_counts_posts(collected: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(collected), "topics", "list"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if "cardiology" in ln)
    assert line.split()[-1] == "1"


def test_reclassify_applies_a_new_topics_file_and_resumes(
        collected: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = collected.parent / "my-topics.toml"
    mine.write_text('[[topics]]\nid = "coffee"\nname = "Coffee"\nkeywords = ["coffee machine"]\n')
    text = collected.read_text()
    collected.write_text(f'topics_file = "{mine.name}"\n' + text)
    assert not search(collected, capsys, "topic:coffee")

    app = AppContext(config=str(collected))
    service = build_service(app)
    calls = []

    def stop_after_first_batch(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        reclassify(app.repo, service.classify, {}, "v2", batch=2,
                   progress=stop_after_first_batch)
    again = reclassify(app.repo, service.classify, {}, "v2", batch=2)
    assert again.resumed_from > 0 and again.done == again.total
    assert main(["--config", str(collected), "topics", "reclassify"]) == 0
    assert len(search(collected, capsys, "topic:coffee")) == 1
    assert len(search(collected, capsys, "topic:cardiology")) == 1
