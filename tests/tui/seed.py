"""Build reader test databases through the real write path (Repository.save_page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator.clock import ManualClock
from aggregator.models import Author, Boost, Media, Page, Post, Target
from aggregator.papers.detect import detect_post
from aggregator.settings import AccountSettings, Settings, SourceSettings, ViewSettings
from aggregator.storage.db import Database, open_database
from aggregator.storage.repository import Repository

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Match:
    topic: str
    rule: str = "hashtag"
    matched: str = ""
    weight: int = 1


def settings_for(url: str, views: tuple[ViewSettings, ...] = ()) -> Settings:
    return Settings(
        path=None, database_url=url,
        accounts={
            "med": AccountSettings(name="med", network="mastodon",
                                   base_url="https://med.example"),
            "x": AccountSettings(name="x", network="twitter", base_url="https://api.twitter.com"),
        },
        sources=(
            SourceSettings(name="cardiology", account="med", target=Target("list", "1")),
            SourceSettings(name="oncology", account="med", target=Target("hashtag", "oncology")),
            SourceSettings(name="x-health", account="x", target=Target("list", "9")),
        ),
        views=views,
    )


def author(n: int, network: str = "mastodon", *, name: str | None = None,
           bio: str = "") -> Author:
    if network == "mastodon":
        return Author("mastodon", f"doc{n}@med.example", f"doc{n}@med.example",
                      name or f"Dr Doc {n}", url=f"https://med.example/@doc{n}", bio=bio,
                      remote_id=str(1000 + n))
    return Author("twitter", str(5000 + n), f"xdoc{n}", name or f"X Doc {n}", bio=bio)


def post(n: int, *, network: str = "mastodon", text: str | None = None,
         minutes_ago: float | None = None, who: Author | None = None, **kw: object) -> Post:
    created = NOW - timedelta(minutes=minutes_ago if minutes_ago is not None else n * 10)
    a = who or author(n % 5, network)
    key = f"https://med.example/users/x/statuses/{n}" if network == "mastodon" else str(n)
    return Post(network=network, key=key, remote_id=str(n),  # type: ignore[arg-type]
                url=f"https://med.example/@x/{n}" if network == "mastodon"
                else f"https://x.com/i/status/{n}",
                author=a, created_at=created, text=text if text is not None else
                f"Post number {n} about heart failure and statins", raw="{}",
                **kw)  # type: ignore[arg-type]


class Seeder:
    def __init__(self, path: Path, views: tuple[ViewSettings, ...] = ()) -> None:
        self.url = f"sqlite:///{path}"
        self.db: Database = open_database(self.url)
        self.clock = ManualClock(NOW)
        self.repo = Repository(self.db, self.clock)
        self.settings = settings_for(self.url, views)
        self.sources = self.repo.sync_sources(self.settings)

    def save(self, source: str, posts: list[Post],
             topics: list[list[Match]] | None = None) -> None:
        """Stored as the collect service stores a page: with its topics and works."""
        self.repo.save_page(self.sources[source], Page(tuple(posts), None),
                            topics or [[] for _ in posts], [detect_post(p) for p in posts])


def standard(path: Path, views: tuple[ViewSettings, ...] = ()) -> Seeder:
    """A small realistic archive: two networks, three sources, topics, a boost, a reply."""
    s = Seeder(path, views)
    jane = Author("mastodon", "jane@cardio.example", "jane@cardio.example", "Dr Jane Heart",
                  url="https://cardio.example/@jane",
                  bio="Cardiologist. Heart failure, lipids, trials. Views my own.")
    first = post(1, who=jane, minutes_ago=5,
                 text="New #HeartFailure guideline: SGLT2 inhibitors for everyone with HFrEF.\n"
                      "Thread below with the key changes.",
                 hashtags=("HeartFailure",), links=("https://doi.org/10.1000/hf.2026",),
                 media=(Media("image", "https://cardio.example/m/1.png",
                              "Forest plot of mortality outcomes"),),
                 boosts=(Boost(author(3), "b1", NOW - timedelta(minutes=4)),))
    reply = post(2, minutes_ago=30, text="Agree, but what about eGFR < 20?",
                 reply_to_id="1", reply_to_author="jane@cardio.example")
    onc = post(3, minutes_ago=90, text="Immunotherapy update from #ASCO: durable responses.",
               hashtags=("ASCO",))
    tweet = post(4, network="twitter", minutes_ago=60 * 26,
                 text="Vaccination rates are falling: public health worry #PublicHealth",
                 quote_of="https://med.example/users/x/statuses/3")
    s.save("cardiology", [first, reply],
           [[Match("cardiology", "hashtag", "#HeartFailure", 3)],
            [Match("cardiology", "keyword", "eGFR")]])
    s.save("oncology", [onc, first], [[Match("oncology", "hashtag", "#ASCO", 3)],
                                      [Match("cardiology", "hashtag", "#HeartFailure", 3)]])
    s.save("x-health", [tweet], [[Match("public-health", "hashtag", "#PublicHealth", 3),
                                  Match("vaccines", "keyword", "vaccination")]])
    return s


HOSTILE_LINK = "https://evil.example/[bold]x[/bold]\u202eelif\u200b\x1b]52;c;SGVsbG8=\x07"
LINKS = ("https://doi.org/10.1000/hf.2026",
         "https://www.nejm.org/doi/full/10.1056/NEJMoa2026001?utm_source=mastodon&utm_medium=social",
         HOSTILE_LINK,
         "https://www.bank.example@evil.example/login",
         "https://аpple.example/",  # a Cyrillic "а"
         "javascript:alert(1)")


def with_links(path: Path) -> Seeder:
    """A post with six links (display text shortened by the network; hostile ones among
    them), and an older post with none."""
    s = Seeder(path)
    s.save("cardiology", [
        post(1, minutes_ago=1, text="Trial results: doi.org/10.1000/hf… and nejm.org/doi/full/…",
             links=LINKS),
        post(2, minutes_ago=2, text="No links in this one."),
    ])
    return s
