"""Synthetic archives for the benchmarks, derived from the recorded fixtures, fixed seed.

`generate_statuses(n)` gives N Mastodon timeline entries as raw JSON dicts shaped exactly
like the recorded ones (tests/data/mastodon/timelines_list.json): realistic text lengths,
health hashtags from the default taxonomy (so classification is not trivial), links
(doi.org, medrxiv, news), mentions, replies, media and ~15% boosts (reblog wrappers, a third
of them boosting a status that is also in the archive). `generate_tweets(n)` gives X API v2
pages with `includes`. Same seed, same archive, byte for byte.

`build_db(url, n)` fills a database through the real write path (normalize, classify,
Repository.save_page in pages of 2,000) and sets some posts read and starred. SQLite
builds are cached under bench/out/ keyed by (n, seed, schema head).
"""

from __future__ import annotations

import json
import random
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
OUT = Path(__file__).resolve().parent / "out"
SEED = 20260801
BOOST_SHARE = 0.15
LAYOUT = "interleaved"  # in the cached archives' names: X pages stored among the Mastodon ones
START = datetime(2026, 1, 1, tzinfo=UTC)

SERVERS = ["med-mastodon.com", "mastodon.social", "scholar.social", "mstdn.science",
           "social.epidemiology.example", "medibubble.org", "fediscience.org", "mas.to"]
HEALTH_TAGS = ["cardiology", "HeartFailure", "AFib", "oncology", "BreastCancer", "LCSM",
               "IDtwitter", "LongCovid", "COVID19", "PublicHealth", "GlobalHealth",
               "Vaccines", "VaccinesWork", "MentalHealth", "Psychiatry", "Neurology",
               "Stroke", "Dementia", "Diabetes", "T1D", "Obesity", "CritCare", "Sepsis",
               "EmergencyMedicine", "FOAMed", "Pediatrics", "WomensHealth", "Surgery",
               "Nephrology", "CKD", "Hepatology", "IBD", "Rheumatology", "Dermatology",
               "Radiology", "Pathology", "FDA", "HealthPolicy", "Medicare", "NHS",
               "ClinicalTrials", "MetaAnalysis", "MedEd", "Nursing", "Pharmacy",
               "DigitalHealth", "HealthAI", "Burnout", "PatientSafety", "MedMastodon",
               "MedTwitter", "hcsm"]
OTHER_TAGS = ["caturday", "photography", "coffee", "running", "books", "python", "linux",
              "music", "gardening", "fediverse"]
SENTENCES = [
    "New trial results on SGLT2 inhibitors in heart failure with preserved ejection fraction.",
    "Our ward saw three more cases of sepsis this week; early antibiotics matter.",
    "Great grand rounds today on atrial fibrillation and anticoagulation in the elderly.",
    "The preprint suggests wastewater surveillance picked up the wave two weeks early.",
    "Measles vaccination coverage keeps dropping and outbreaks follow, as predicted.",
    "Burnout among residents is a staffing problem, not a resilience problem.",
    "Reminder: a negative D-dimer does not rule out PE when pretest probability is high.",
    "Thread on how to read a forest plot without getting fooled by the subgroups.",
    "The FDA approved another biosimilar today, pricing details still unclear.",
    "Long covid clinics are closing just as the evidence on rehabilitation matures.",
    "Mental health services for adolescents have a waiting list of nine months here.",
    "Stroke thrombectomy outcomes were better when door-to-groin time was under an hour.",
    "Type 1 diabetes technology has changed everything for our younger patients.",
    "Telehealth follow-up for CKD worked surprisingly well in the rural cohort.",
    "Sharing slides from the journal club on the new meta-analysis of statins.",
    "Hand hygiene audits improved after we put the dispensers where people actually walk.",
    "Lovely morning walk before the night shift, the dog approves.",
    "Coffee count today: four. The pager count: much higher.",
    "Reading a paper on AI triage tools; the external validation is thin.",
    "Nurses are the backbone of every ICU I have worked in. Pay them properly.",
    "Clinical decision rules are only as good as the population they were derived in.",
    "Pediatric RSV admissions are up again, the immunization campaign starts next week.",
    "A reminder that medication reconciliation at discharge prevents real harm.",
    "Prior authorization delays for cancer drugs are a patient safety issue.",
]
CHATTER = [
    "Lovely morning walk before the night shift, the dog approves.",
    "Coffee count today: four. The pager count: much higher.",
    "Anyone else think the new conference app is worse than the old one?",
    "Finally finished the grant report, time for a long weekend.",
    "The train was late again, so I read two papers on the way in.",
    "Teaching session went well; the students asked better questions than I did.",
    "Snow outside, warm soup inside, nothing to complain about today.",
    "If you are at the meeting next week, come say hi at the poster session.",
    "Three hours of meetings that could have been one email.",
    "Book recommendation thread: what are you reading this month?",
]
LINKS = ["https://doi.org/10.1056/NEJMoa{n}", "https://www.medrxiv.org/content/10.1101/{n}v1",
         "https://www.biorxiv.org/content/10.1101/{n}v2",
         "https://pubmed.ncbi.nlm.nih.gov/{n}/", "https://clinicaltrials.gov/study/NCT{n}",
         "https://www.fda.gov/news-events/press-announcements/{n}",
         "https://www.statnews.com/2026/03/{n}/health-news/",
         "https://www.bbc.co.uk/news/health-{n}", "https://example.org/blog/{n}"]
LANGS = ["en"] * 16 + ["de", "fr", "es", None]


def _popular(draw: int) -> int:
    """A link's number from a uniform draw, skewed so that a few works are shared by many
    posts and most by few (as papers are): 7 digits still, the same draws as before."""
    return 1000000 + int(POPULAR_POOL * ((draw - 1000000) / 9000000) ** 3)


POPULAR_POOL = 20_000  # distinct numbers behind the links


def _load_body(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)["body"]


def _templates() -> tuple[dict[str, Any], dict[str, Any]]:
    statuses = _load_body(DATA / "mastodon" / "timelines_list.json")
    status = dict(statuses[0])
    account = dict(status["account"])
    return status, account


def snowflake(when: datetime, seq: int) -> str:
    return str((int(when.timestamp() * 1000) << 16) + (seq & 0xFFFF))


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


class _Factory:
    """Deterministic builder of accounts and statuses."""

    def __init__(self, seed: int, n_accounts: int) -> None:
        self.rng = random.Random(seed)
        self.status_tpl, self.account_tpl = _templates()
        self.accounts = [self._account(i) for i in range(n_accounts)]

    def _account(self, i: int) -> dict[str, Any]:
        rng = self.rng
        server = SERVERS[i % len(SERVERS)]
        username = f"{rng.choice(['dr', 'nurse', 'epi', 'rx', 'md', 'prof'])}_{i:05d}"
        acct = username if server == SERVERS[0] else f"{username}@{server}"
        account = dict(self.account_tpl)
        account.update(
            id=str(110000000000000000 + i * 7919), username=username, acct=acct,
            display_name=f"{rng.choice(['Dr', 'Prof', 'Nurse', ''])} "
                         f"{rng.choice(['Ada', 'Ben', 'Chen', 'Dana', 'Emeka', 'Farah'])} "
                         f"{rng.choice(['Lee', 'Okafor', 'Schmidt', 'Garcia', 'Ito'])}".strip(),
            note=f"<p>{rng.choice(['Cardiologist', 'Epidemiologist', 'ICU nurse', 'GP'])}. "
                 f"Views my own. <a href=\"https://{server}/tags/medmastodon\" "
                 f"class=\"mention hashtag\" rel=\"tag\">#<span>MedMastodon</span></a></p>",
            url=f"https://{server}/@{username}", uri=f"https://{server}/users/{username}",
            followers_count=rng.randint(10, 20000), statuses_count=rng.randint(10, 9000))
        return account

    def _content(self, account_tags: list[str], mentions: list[dict[str, Any]],
                 n: int) -> tuple[str, list[dict[str, str]]]:
        rng = self.rng
        parts = [f'<span class="h-card" translate="no"><a href="{m["url"]}" '
                 f'class="u-url mention">@<span>{m["username"]}</span></a></span>'
                 for m in mentions]
        length = min(int(rng.lognormvariate(0.2, 0.7)) + 1, 12)  # sentences
        text = " ".join(rng.choice(SENTENCES if rng.random() < 0.5 else CHATTER)
                        for _ in range(length))
        paragraphs = [f"<p>{' '.join(parts)} {text}</p>" if parts else f"<p>{text}</p>"]
        if rng.random() < 0.35:
            url = rng.choice(LINKS).format(n=_popular(rng.randint(1000000, 9999999)))
            scheme, rest = url.split("://", 1)
            paragraphs.append(
                f'<p><a href="{url}" target="_blank" rel="nofollow noopener" translate="no">'
                f'<span class="invisible">{scheme}://</span><span class="ellipsis">'
                f'{rest[:30]}</span><span class="invisible">{rest[30:]}</span></a></p>')
        tags = list(account_tags)
        k = rng.choice([0, 1, 1, 2, 2, 3, 4])
        tags += rng.sample(HEALTH_TAGS if rng.random() < 0.85 else OTHER_TAGS, k)
        tags = list(dict.fromkeys(tags))
        if tags:
            server = SERVERS[n % len(SERVERS)]
            paragraphs.append("<p>" + " ".join(
                f'<a href="https://{server}/tags/{t.lower()}" class="mention hashtag" '
                f'rel="tag">#<span>{t}</span></a>' for t in tags) + "</p>")
        tag_objs = [{"name": t.lower(), "url": f"https://{SERVERS[0]}/tags/{t.lower()}"}
                    for t in tags]
        return "".join(paragraphs), tag_objs

    def status(self, seq: int, when: datetime, tags: list[str],
               prior: list[dict[str, Any]]) -> dict[str, Any]:
        rng = self.rng
        account = rng.choice(self.accounts)
        sid = snowflake(when, seq)
        mentions: list[dict[str, Any]] = []
        reply_to = reply_acc = None
        if prior and rng.random() < 0.2:
            parent = rng.choice(prior)
            parent_acc = parent["account"]
            reply_to, reply_acc = parent["id"], parent_acc["id"]
            mentions.append({"id": parent_acc["id"], "username": parent_acc["username"],
                             "url": parent_acc["url"], "acct": parent_acc["acct"]})
        content, tag_objs = self._content(tags, mentions, seq)
        status = dict(self.status_tpl)
        status.update(
            id=sid, created_at=_iso(when), in_reply_to_id=reply_to,
            in_reply_to_account_id=reply_acc, language=rng.choice(LANGS),
            uri=f"{account['uri']}/statuses/{sid}", url=f"{account['url']}/{sid}",
            replies_count=rng.randint(0, 5), reblogs_count=rng.randint(0, 20),
            favourites_count=rng.randint(0, 50), content=content, account=account,
            mentions=mentions, tags=tag_objs, reblog=None, media_attachments=[],
            sensitive=False, spoiler_text="")
        if rng.random() < 0.1:
            status["media_attachments"] = [{
                "id": sid, "type": "image", "url": f"https://files.example/{sid}.png",
                "preview_url": f"https://files.example/{sid}_s.png", "remote_url": None,
                "description": "Chart of admissions per week", "blurhash": None, "meta": {}}]
        if rng.random() < 0.03:
            status["spoiler_text"] = "long covid, death"
            status["sensitive"] = True
        return status

    def boost(self, seq: int, when: datetime, original: dict[str, Any]) -> dict[str, Any]:
        booster = self.rng.choice(self.accounts)
        sid = snowflake(when, seq)
        wrapper = dict(self.status_tpl)
        wrapper.update(id=sid, created_at=_iso(when), in_reply_to_id=None,
                       in_reply_to_account_id=None, content="", account=booster,
                       uri=f"{booster['uri']}/statuses/{sid}/activity",
                       url=f"{booster['url']}/{sid}", reblog=original, mentions=[], tags=[],
                       media_attachments=[], application=None, language=None)
        return wrapper


def generate_statuses(n: int, seed: int = SEED, *, tags: list[str] | None = None,
                      start: datetime = START, step_seconds: float = 20.0,
                      n_accounts: int | None = None) -> list[dict[str, Any]]:
    """N timeline entries, OLDEST first, ids increasing with time.

    `tags`: hashtags every status carries (e.g. the timeline it is served on).
    """
    factory = _Factory(seed, n_accounts or max(50, min(5000, n // 20)))
    rng = factory.rng
    out: list[dict[str, Any]] = []
    originals: list[dict[str, Any]] = []
    extra_tags = list(tags or [])
    for i in range(n):
        when = start + timedelta(seconds=i * step_seconds + rng.random() * step_seconds / 2)
        if originals and rng.random() < BOOST_SHARE:
            if rng.random() < 1 / 3:  # boosts something also in the archive
                original = rng.choice(originals[-500:])
            else:  # boosts a status from elsewhere, only seen through this boost
                earlier = when - timedelta(hours=rng.randint(1, 72))
                original = factory.status(i, earlier, extra_tags, originals[-200:])
            out.append(factory.boost(i, when, original))
        else:
            status = factory.status(i, when, extra_tags, originals[-200:])
            originals.append(status)
            out.append(status)
    return out


def expected_keys(statuses: list[dict[str, Any]]) -> set[str]:
    """The distinct posts an archive holds (a boost stores its original)."""
    return {(s["reblog"] or s)["uri"] for s in statuses}


def generate_tweets(n: int, seed: int = SEED, per_page: int = 100,
                    step_seconds: float = 30.0) -> list[dict[str, Any]]:
    """X API v2 pages (``data`` + ``includes.users`` + ``includes.tweets`` for retweets),
    oldest page first, a tweet every `step_seconds` from START."""
    rng = random.Random(seed + 1)
    users = [{"id": str(100000 + i), "username": f"hc_voice{i}", "name": f"Health Voice {i}",
              "description": "Physician. Views my own.", "verified": False}
             for i in range(max(20, n // 50))]
    pages: list[dict[str, Any]] = []
    data: list[dict[str, Any]] = []
    includes: dict[str, list[dict[str, Any]]] = {"users": [], "tweets": []}
    for i in range(n):
        when = START + timedelta(seconds=i * step_seconds)
        tid = str(((int(when.timestamp() * 1000) - 1288834974657) << 22) + i)
        user = rng.choice(users)
        tags = rng.sample(HEALTH_TAGS, rng.choice([0, 1, 2]))
        text = rng.choice(SENTENCES) + "".join(f" #{t}" for t in tags)
        tweet: dict[str, Any] = {"id": tid, "text": text, "author_id": user["id"],
                                 "created_at": _iso(when), "lang": "en",
                                 "edit_history_tweet_ids": [tid]}
        if tags:
            tweet["entities"] = {"hashtags": [
                {"start": text.index("#" + t), "end": text.index("#" + t) + len(t) + 1,
                 "tag": t} for t in tags]}
        if rng.random() < BOOST_SHARE:
            original = dict(tweet, id=str(int(tid) - 7), author_id=rng.choice(users)["id"])
            includes["tweets"].append(original)
            tweet = {"id": tid, "text": f"RT: {text}"[:140], "author_id": user["id"],
                     "created_at": _iso(when), "lang": "en",
                     "referenced_tweets": [{"type": "retweeted", "id": original["id"]}]}
        data.append(tweet)
        if user not in includes["users"]:
            includes["users"].append(user)
        if len(data) == per_page or i == n - 1:
            for t in includes["tweets"]:
                owner = next(u for u in users if u["id"] == t["author_id"])
                if owner not in includes["users"]:
                    includes["users"].append(owner)
            pages.append({"data": data[::-1], "includes": includes,
                          "meta": {"result_count": len(data)}})
            data, includes = [], {"users": [], "tweets": []}
    return pages


# --------------------------------------------------------------------------- databases


@dataclass(frozen=True)
class Built:
    url: str
    posts: int
    seconds: float  # 0.0 when taken from the cache
    cached: bool


def bench_settings(url: str, n_sources: int = 8, base_url: str = "http://127.0.0.1:9"
                   ) -> Any:
    from aggregator.models import Target
    from aggregator.settings import AccountSettings, Settings, SourceSettings

    accounts = {
        "bench": AccountSettings(name="bench", network="mastodon", base_url=base_url),
        "benchx": AccountSettings(name="benchx", network="twitter",
                                  base_url="http://127.0.0.1:9"),
    }
    sources = tuple(SourceSettings(name=f"src{i:02d}", account="bench",
                                   target=Target("hashtag", f"src{i:02d}"), backfill=100000)
                    for i in range(n_sources))
    sources += (SourceSettings(name="x-list", account="benchx",
                               target=Target("list", "1"), backfill=100000),)
    return Settings(path=None, database_url=url, accounts=accounts, sources=sources)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def fill(url: str, n: int, seed: int = SEED, page: int = 2000) -> int:
    """Write ~n posts (9/10 Mastodon, 1/10 X) through the real write path; returns posts."""
    from aggregator.clock import SystemClock
    from aggregator.collectors.mastodon.normalize import normalize_status
    from aggregator.collectors.twitter.entities import TweetPage
    from aggregator.collectors.twitter.normalize import normalize_page
    from aggregator.models import Page
    from aggregator.papers.detect import detect_post
    from aggregator.storage.copy import analyze
    from aggregator.storage.db import open_database
    from aggregator.storage.repository import Repository
    from aggregator.topics.wiring import make_classify

    settings = bench_settings(url)
    db = open_database(url)
    try:
        repo = Repository(db, SystemClock())
        ids = repo.sync_sources(settings)
        classify = make_classify(settings)
        mastodon_ids = [ids[s.name] for s in settings.sources if s.account == "bench"]
        n_x = n // 10
        done = 0
        # X pages are stored between the Mastodon ones, over the same months, as sources
        # collected side by side store them: ids follow arrival and arrival follows time
        # (the full-text reads rely on it, and check it: queries._newest_hits).
        x_pages = generate_tweets(n_x, seed, step_seconds=(n - n_x) * 20 / max(n_x, 1))
        x_done = 0

        def store_x(until: str | None) -> int:
            """The X pages whose newest tweet is not after `until` (None: all left)."""
            nonlocal x_done
            stored = 0
            while x_done < len(x_pages) and (
                    until is None or x_pages[x_done]["data"][0]["created_at"] <= until):
                posts = normalize_page(TweetPage.from_json(x_pages[x_done]))
                x_done += 1
                topics = [classify(p, ()) for p in posts]
                works = [detect_post(p) for p in posts]
                stored += repo.save_page(ids["x-list"], Page(posts, None), topics, works).new
            return stored

        chunk = 100_000  # generate in slices: memory stays flat at 1M
        for c, lo in enumerate(range(0, n - n_x, chunk)):
            size = min(chunk, n - n_x - lo)
            statuses = generate_statuses(
                size, seed + c, start=START + timedelta(seconds=lo * 20))
            for j, batch in enumerate(_chunks(statuses, page)):
                source_id = mastodon_ids[(c * 1000 + j) % len(mastodon_ids)]
                posts = tuple(normalize_status(s) for s in batch)
                topics = [classify(p, ()) for p in posts]
                works = [detect_post(p) for p in posts]
                done += repo.save_page(source_id, Page(posts, None), topics, works).new
                done += store_x(batch[-1]["created_at"])  # same-format ISO times
        done += store_x(None)
        _mark(db)
        analyze(db)  # what autovacuum does after a bulk load, and `rounds db copy` does
    finally:
        db.dispose()
    return done


def _mark(db: Any) -> None:
    """About 60% read and 2% starred, spread over time, topics and sources."""
    from sqlalchemy import text

    with db.engine.begin() as conn:
        conn.execute(text("UPDATE posts SET is_read = ((id * 7) % 10 < 6), "
                          "starred = ((id * 13) % 50 = 0)"))


def build_db(url: str | None, n: int, seed: int = SEED) -> Built:
    """A filled database of ~n posts. `url=None`: a cached SQLite file under bench/out/."""
    if url is not None:
        started = time.perf_counter()
        count = fill(url, n, seed)
        return Built(url, count, time.perf_counter() - started, False)
    from aggregator.storage.db import head_revision

    head = head_revision().replace(",", "+")
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"read-{n}-{seed}-{head}-{LAYOUT}.db"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        info = json.loads(meta.read_text())
        return Built(f"sqlite:///{path}", int(info["posts"]), float(info["seconds"]), True)
    tmp = path.with_suffix(".tmp")
    for stale in OUT.glob(f"read-{n}-{seed}-*.tmp*"):
        stale.unlink()
    started = time.perf_counter()
    count = fill(f"sqlite:///{tmp}", n, seed)
    seconds = time.perf_counter() - started
    _checkpoint(tmp)
    shutil.move(str(tmp), str(path))
    meta.write_text(json.dumps({"posts": count, "seconds": seconds}))
    return Built(f"sqlite:///{path}", count, seconds, False)


def _checkpoint(path: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.commit()
    finally:
        conn.close()
