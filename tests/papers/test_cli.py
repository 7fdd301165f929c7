"""`rounds papers` end to end: the demo archive (collected through the real collectors
from the demo server) ranked by distinct voices, --json/--since/--topic/--list, text within
the terminal's width, read-only; `rounds papers backfill` finds the same works again;
`rounds papers enrich` against a loopback Crossref: titles, one line per failure, each
work asked once, paced, refused without a mailto."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from aggregator.cli import main
from aggregator.clock import ManualClock
from aggregator.errors import ConfigError
from aggregator.models import Author
from aggregator.papers.enrich import enrich
from aggregator.settings import PapersSettings
from aggregator.storage.db import open_database
from aggregator.storage.papers_schema import post_works, works
from tests.fakes.crossref import Crossref
from tests.fakes.server import LoopbackServer, serve
from tests.tui.seed import Seeder, post

TRIAL = "10.5555/demo.2026.0101"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    assert main(["--database-url", url, "demo", "--no-tui"]) == 0
    return url


def files_of(url: str) -> dict[str, str]:
    """The archive's files and their contents (SQLite's shared-memory index and an empty
    WAL are what any reader opens, not writes)."""
    path = Path(url.removeprefix("sqlite:///"))
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in path.parent.glob(path.name + "*")
            if not p.name.endswith("-shm") and p.stat().st_size > 0}


def test_the_demo_journal_club_ranked_by_voices_in_json(
        demo_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = files_of(demo_url)
    code, out, err = run(capsys, "--database-url", demo_url, "papers", "--json", "-n", "50")
    assert code == 0, err
    doc = json.loads(out)
    ranked = doc["works"]
    top = ranked[0]
    # Amara (Mastodon), Lucía's boost, Priya (doi: in an X post's text), Kim (Bluesky),
    # Raj (the publisher's page with a utm tag): five voices, four posts
    assert (top["scheme"], top["identifier"], top["voices"], top["posts"]) == \
        ("doi", TRIAL, 5, 4)
    assert top["link"] == f"https://doi.org/{TRIAL}"
    assert top["title"].startswith("Sotagliflozin-like SGLT2 inhibition")
    assert top["first_seen"].endswith("Z") and top["who"][0] == "Dr Amara Okafor"
    assert {"Lucía Fernández, RN", "Dr Priya Raman", "Dr Kim Osei", "Raj Menon, PharmD"} \
        <= set(top["who"])
    voices = [w["voices"] for w in ranked]
    assert voices == sorted(voices, reverse=True)
    kinds = {(w["scheme"], w["identifier"]) for w in ranked}
    assert {("nct", "NCT09990202"), ("pmid", "99900301"),
            ("doi", "10.1101/2026.01.06.99990804")} <= kinds  # trial, PubMed, medRxiv v1/v2
    nct = next(w for w in ranked if w["scheme"] == "nct")
    assert nct["voices"] == 3 and nct["link"] == "https://clinicaltrials.gov/study/NCT09990202"
    assert files_of(demo_url) == before  # read-only


def test_since_topic_and_list(demo_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    def idents(*args: str) -> list[tuple[str, int]]:
        code, out, err = run(capsys, "--database-url", demo_url, "papers", "--json",
                             "-n", "50", *args)
        assert code == 0, err
        return [(w["identifier"], w["voices"]) for w in json.loads(out)["works"]]

    everything = idents()
    cardio = idents("--topic", "Cardiology")  # a topic's name works as well as its id
    assert cardio[0] == (TRIAL, 5) and "10.1101/2026.01.06.99990804" not in dict(cardio)
    assert len(cardio) < len(everything)  # fewer works, and fewer voices for some
    assert {ident for ident, _ in cardio} < {ident for ident, _ in everything}
    # the Clinicians list now: Amara, Sam, Kim, Noor (Priya removed, Lucía moved); the
    # demo's voices are their Mastodon and X accounts, and Kim shared it on Bluesky
    clinicians = dict(idents("--list", "Clinicians"))
    assert clinicians[TRIAL] == 1 and clinicians["10.5555/demo.2026.0102"] == 2
    recent = dict(idents("--since", "2h"))
    assert TRIAL in recent and "99900301" not in recent  # shared ~14 h before the demo
    code, _, err = run(capsys, "--database-url", demo_url, "papers", "--topic", "cardio")
    assert code == 2 and "unknown topic 'cardio'" in err and "cardiology" in err
    code, _, err = run(capsys, "--database-url", demo_url, "papers", "--list", "Nope")
    assert code == 1 and err.count("\n") == 1 and "no curated list named 'Nope'" in err
    code, _, err = run(capsys, "--database-url", demo_url, "papers", "--since", "someday")
    assert code == 2 and "--since" in err


def test_text_fits_the_terminal_and_strangers_text_is_inert(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    s = Seeder(tmp_path / "r.db")
    evil = Author("mastodon", "evil@x.example", "evil@x.example", "\x1b[2J[bold]Evil[/]")
    s.save("cardiology", [post(1, who=evil, text="see PMID: 123456 \x1b]52;c;SGVsbG8=\x07"),
                          post(2, text="and PMID 123456 again " + "x" * 300)])
    s.db.dispose()
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = run(capsys, "--database-url", s.url, "papers")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("  1. 2 voices, 2 posts  (no title)")
    assert "PMID 123456  https://pubmed.ncbi.nlm.nih.gov/123456/" in lines[1]
    assert "Evil" in lines[2] and "\x1b" not in out
    assert all(len(line) <= 80 for line in lines)


def test_on_a_missing_archive_it_creates_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'none.db'}"
    code, _, err = run(capsys, "--database-url", url, "papers")
    assert code != 0 and err.count("\n") == 1 and not (tmp_path / "none.db").exists()


def test_backfill_finds_the_works_again(tmp_path: Path, demo_url: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "copy.db"
    code, _, err = run(capsys, "--database-url", demo_url, "db", "copy", "--to",
                       f"sqlite:///{copy}")
    assert code == 0, err
    url = f"sqlite:///{copy}"
    _, before, _ = run(capsys, "--database-url", url, "papers", "--json", "-n", "100")
    db = open_database(url)
    with db.engine.begin() as conn:  # as if stored before this version
        conn.execute(post_works.delete())
        conn.execute(works.delete())
    db.dispose()
    code, _, err = run(capsys, "--database-url", url, "papers")
    assert code == 0 and "rounds papers backfill" in err
    code, _, err = run(capsys, "--database-url", url, "papers", "backfill", "--batch", "25")
    assert code == 0, err
    assert "from the first post" in err and "share a paper" in err
    _, after, _ = run(capsys, "--database-url", url, "papers", "--json", "-n", "100")
    assert json.loads(after)["works"] == json.loads(before)["works"]
    code, _, err = run(capsys, "--database-url", url, "papers", "backfill")
    assert code == 0 and "read 0 posts after post" in err


# ---------------------------------------------------------------------- enrich


@pytest.fixture
def crossref() -> Iterator[LoopbackServer]:
    yield from serve(Crossref({"10.5555/Known.1": "<i>In vivo</i> &amp; in silico: a "
                                                  "fictional trial"}))


def untitled_archive(path: Path) -> Seeder:
    s = Seeder(path)
    titled = ('{"card": {"url": "https://doi.org/10.5555/titled.3", '
              '"title": "Already titled by its card"}}')
    from dataclasses import replace
    s.save("cardiology", [
        post(1, text="Known: doi:10.5555/known.1"),
        post(2, text="Unknown to Crossref: https://doi.org/10.5555/missing.2",
             links=("https://doi.org/10.5555/missing.2",)),
        replace(post(3, links=("https://doi.org/10.5555/titled.3",)), raw=titled),
        post(4, links=("https://pubmed.ncbi.nlm.nih.gov/123456/",)),
    ])
    return s


def config(tmp_path: Path, url: str, papers: str) -> str:
    cfg = tmp_path / "rounds.toml"
    cfg.write_text(f'[database]\nurl = "{url}"\n\n[papers]\n{papers}\n', encoding="utf-8")
    cfg.chmod(0o600)
    return str(cfg)


def test_enrich_titles_from_crossref_once_with_one_line_per_failure(
        tmp_path: Path, crossref: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    s = untitled_archive(tmp_path / "r.db")
    cfg = config(tmp_path, s.url, f'mailto = "curator@example.org"\n'
                                  f'crossref_url = "{crossref.base_url}"\n'
                                  f"requests_per_second = 10")
    code, _, err = run(capsys, "--config", cfg, "papers", "enrich")
    assert code == 0, err
    lines = err.splitlines()
    assert lines[-1] == "asked Crossref about 2 DOIs: 1 titled, 1 failed"
    failures = [line for line in lines[:-1] if "missing.2" in line]
    assert len(failures) == 1 and "doi:10.5555/missing.2" in failures[0]
    assert "not found" in failures[0].lower() and "Traceback" not in err
    asked = crossref.requests("/works/")
    assert sorted(r.path for r in asked) == ["/works/10.5555%2Fknown.1",
                                             "/works/10.5555%2Fmissing.2"]
    assert all(r.arg("mailto") == "curator@example.org" for r in asked)
    assert all("mailto:curator@example.org" in r.headers["user-agent"] for r in asked)
    code, out, _ = run(capsys, "--config", cfg, "papers", "--json")
    titles = {w["identifier"]: w["title"] for w in json.loads(out)["works"]}
    assert titles == {"10.5555/known.1": "In vivo & in silico: a fictional trial",
                      "10.5555/missing.2": None, "10.5555/titled.3": "Already titled by its card",
                      "123456": None}
    crossref.reset()
    code, _, err = run(capsys, "--config", cfg, "papers", "enrich")  # asked once: cached
    assert code == 0 and "no untitled DOIs left" in err and crossref.requests() == []
    code, _, err = run(capsys, "--config", cfg, "papers", "enrich", "--retry-failed")
    assert [r.path for r in crossref.requests()] == ["/works/10.5555%2Fmissing.2"]
    assert "1 failed" in err


def test_enrich_is_off_until_a_mailto_is_configured(
        tmp_path: Path, crossref: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    s = untitled_archive(tmp_path / "r.db")
    cfg = config(tmp_path, s.url, f'crossref_url = "{crossref.base_url}"')
    code, _, err = run(capsys, "--config", cfg, "papers", "enrich")
    assert code == 2 and err.count("\n") == 1 and "[papers] mailto" in err
    assert crossref.requests() == []
    bad = config(tmp_path, s.url, 'mailto = "not an address"')
    code, _, err = run(capsys, "--config", bad, "papers", "enrich")
    assert code == 2 and "papers.mailto" in err


def test_enrich_paces_requests_and_goes_on_when_crossref_is_unreachable(
        tmp_path: Path, crossref: LoopbackServer) -> None:
    s = untitled_archive(tmp_path / "r.db")
    clock = ManualClock()
    polite = PapersSettings("curator@example.org", crossref.base_url, 1.0)
    result = enrich(s.db, polite, clock)
    assert (result.asked, result.titled) == (2, 1)
    assert clock.sleeps == [1.0]  # one second between the two requests, on the clock
    down = LoopbackServer(Crossref({})).start()
    down.stop()  # a port nobody answers on
    lines: list[str] = []
    gone = enrich(s.db, PapersSettings("curator@example.org", down.base_url, 5.0), clock,
                  retry_failed=True, report=lines.append)
    assert gone.asked == 1 and len(lines) == 1 and "missing.2" in lines[0]
    assert "\n" not in lines[0]
    with s.db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(works)
                            .where(works.c.enrich_error.is_not(None))).scalar_one() == 1
    with pytest.raises(ConfigError):
        enrich(s.db, PapersSettings("", crossref.base_url, 1.0), clock)
