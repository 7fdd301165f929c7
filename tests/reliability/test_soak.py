"""Soak (issue 18 item 1): the daemon's scheduler loop on the injected clock, through
thousands of collection passes over 50 sources (30 Mastodon hashtags, 20 X lists) on the
loopback fakes, with new posts, edits, deletions (upstream) and sporadic faults (5xx
bursts that exhaust the retries, 429s, connection resets, slow answers).

A pass is one run of one source's job. At pass 1,000 (and at the end) the process's
resident memory, open file descriptors, threads, checked-out database connections and
log volume (bytes per pass over the preceding passes) are measured; the end must be
within a small bound of pass 1,000. The archive must hold every post the fakes served
exactly once, and `rounds status --json` must agree with it.

The long run (10,000 passes, minutes) is marked `long`: `make reliability` runs it;
`make test` runs the 300-pass variant.
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from aggregator.cli import main
from aggregator.clock import ManualClock
from aggregator.storage.schema import post_sources, posts
from tests.fakes.server import Reply
from tests.reliability.daemonloop import DaemonWorld, daemon_world, run_log

REPORT_NETWORK = "both"  # Mastodon and X
SEED = 20261130
MASTODON, X = 30, 20
EVERY = 300  # seconds ("5m")
RECHECK_HOURS = 2  # posts this recent are re-checked for edits and deletions
KEEP_TWEETS = 100  # per X list, newest first (passes read forward from their cursor)
Record = Callable[[str, object], None]  # pytest's record_property


@dataclass
class Checkpoint:
    rss_kb: int
    fds: int
    threads: int
    connections: int
    log_bytes_per_pass: float


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _measure(w: DaemonWorld, log_bytes: int, passes: int) -> Checkpoint:
    gc.collect()
    # the fake server's threads (one per open keep-alive connection) are not the daemon's
    ours = [t for t in threading.enumerate() if "process_request_thread" not in t.name]
    return Checkpoint(_rss_kb(), len(os.listdir("/proc/self/fd")), len(ours),
                      w.app.db.engine.pool.checkedout(),  # type: ignore[attr-defined]
                      log_bytes / max(passes, 1))


class Upstream:
    """What happens upstream between passes, seeded: new posts, edits and deletions of
    posts already collected, and faults armed on a source's next request."""

    def __init__(self, w: DaemonWorld, rng: random.Random) -> None:
        self.w, self.rng = w, rng
        self.served: dict[str, set[str]] = {"mastodon": set(), "twitter": set()}
        self.edited = self.deleted = self.faults = 0

    def new_posts(self) -> None:
        i = self.rng.randrange(MASTODON + X)
        n = self.rng.randint(1, 3)
        if i < MASTODON:
            for s in self.w.mastodon.add_new(f"tag:soak{i}", n):
                self.served["mastodon"].add(str(s["id"]))
        else:
            tweets = [self.w.x.make_tweet("snowman", f"ward round {self.rng.random()}")
                      for _ in range(n)]
            self.w.x.add_tweets(f"list:{9000 + i - MASTODON}", tweets)
            self.served["twitter"] |= {str(t["id"]) for t in tweets}

    def _stored_mastodon(self) -> str | None:
        with self.w.app.db.engine.connect() as conn:
            row = conn.execute(select(posts.c.remote_id).where(
                posts.c.network == "mastodon", posts.c.deleted_at.is_(None))
                .order_by(func.random()).limit(1)).first()
        return str(row[0]) if row else None

    def edit_or_delete(self) -> None:
        status_id = self._stored_mastodon()
        found = self.w.mastodon.statuses.get(status_id or "")
        if found is None:
            return
        if self.rng.random() < 0.5:
            found["content"] = f"<p>Corrected: {self.rng.random()}</p>"
            found["edited_at"] = self.w.clock.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
            self.edited += 1
        else:
            self.w.mastodon.delete_status(str(status_id))
            self.deleted += 1

    def forget_old(self) -> None:
        """The fakes drop what no pass asks for again (posts older than the re-check
        window, scrolled past every cursor), so the process's memory measures the daemon,
        not the fakes' growing store."""
        m, x = self.w.mastodon, self.w.x
        cutoff = (self.w.clock.now() - timedelta(hours=RECHECK_HOURS + 1)).strftime(
            "%Y-%m-%dT%H:%M:%S")
        with m._lock:
            old = {i for i, s in m.statuses.items() if s["created_at"] < cutoff}
            for i in old:
                del m.statuses[i]
            for timeline in m.timelines.values():
                timeline[:] = [s for s in timeline if str(s["id"]) not in old]
        with x._lock:
            for ids in x.timelines.values():
                del ids[KEEP_TWEETS:]
            kept = {i for ids in x.timelines.values() for i in ids}
            for i in [i for i in x.tweets if i not in kept]:
                del x.tweets[i]
            x._tokens.clear()  # paging tokens of passes long finished

    def fault(self) -> None:
        i = self.rng.randrange(MASTODON + X)
        path = f"/timelines/tag/soak{i}" if i < MASTODON else f"/2/lists/{9000 + i - MASTODON}/"
        reply, times = self.rng.choice([
            (Reply.json({"error": "upstream"}, 503), 4),  # as many as the tries: that pass fails
            (Reply.json({"error": "Too many requests"}, 429, **{"Retry-After": "30"}), 1),
            (Reply(reset=True), 1),
            (Reply.json({"error": "bad gateway"}, 502), 1),
        ])
        self.w.server.faults.arm(reply, path, times)
        self.faults += 1


def soak(tmp_path: Path, passes: int, capsys: pytest.CaptureFixture[str],
         record_property: Record) -> None:
    rng = random.Random(SEED)
    span = timedelta(seconds=passes / (MASTODON + X) * EVERY * 1.15)
    clock = ManualClock(datetime.now(UTC) - span)  # ends just before now: `status` reads it
    first_check = min(1000, passes // 3)
    with daemon_world(tmp_path, clock, mastodon=MASTODON, x=X, every="5m",
                      top=f"recheck_hours = {RECHECK_HOURS}\n") as w, run_log(clock) as log:
        up = Upstream(w, rng)
        for _ in range(3 * (MASTODON + X)):
            up.new_posts()
        done = 0
        marks: dict[int, Checkpoint] = {}
        bytes_at = 0
        quiet_from = passes - 3 * (MASTODON + X)  # the last rounds: nothing new upstream
        while done < passes:
            w.server.log.clear()  # the fake's request log (no request is in flight here)
            roll = rng.random()
            if done >= quiet_from:
                pass
            elif roll < 0.30:
                up.new_posts()
            elif roll < 0.36:
                up.edit_or_delete()
            elif roll < 0.40:
                up.fault()
            if w.loop.step().job.startswith("source:"):
                done += 1
                if done % 250 == 0:
                    up.forget_old()
                if done in (first_check, passes):
                    marks[done] = _measure(w, log.bytes - bytes_at, first_check)
                if done in (first_check, passes - first_check):
                    bytes_at = log.bytes  # log volume over the next `first_check` passes
        outcomes = Counter(o for _, o, _ in log.runs)
        db_url = w.app.settings.database_url
        with w.app.db.engine.connect() as conn:
            stored = [(r[0], str(r[1])) for r in conn.execute(
                select(posts.c.network, posts.c.remote_id))]
            links = int(conn.execute(select(func.count()).select_from(post_sources))
                        .scalar_one())
        config = w.app.config
        edited, deleted, faults = up.edited, up.deleted, up.faults
        served = up.served
    a, b = marks[first_check], marks[passes]
    record_property(f"RSS at pass {first_check:,} / {passes:,}",
                    f"{a.rss_kb / 1024:.0f} MB / {b.rss_kb / 1024:.0f} MB")
    record_property("open fds", f"{a.fds} / {b.fds}")
    record_property("threads", f"{a.threads} / {b.threads}")
    record_property("DB connections checked out",
                    f"{a.connections} / {b.connections}")
    record_property("log bytes per pass", f"{a.log_bytes_per_pass:.0f} / "
                    f"{b.log_bytes_per_pass:.0f}")
    lost = sum(len(ids - {r for n, r in stored if n == net}) for net, ids in served.items())
    dupes = len(stored) - len(set(stored))
    record_property("posts served / stored / lost / duplicated",
                    f"{sum(map(len, served.values()))} / {len(stored)} / {lost} / {dupes}")
    record_property("upstream edits / deletions / faults",
                    f"{edited} / {deleted} / {faults}")
    record_property("runs ok / error", f"{outcomes['ok']} / {outcomes['error']}")

    assert dupes == 0 and lost == 0
    assert {(n, r) for n, r in stored} == {(n, r) for n, ids in served.items() for r in ids}
    assert outcomes["ok"] + outcomes["error"] == passes, outcomes  # none busy or skipped
    assert outcomes["error"] > 0  # the faults did bite
    assert b.fds <= a.fds + 4, (a, b)  # a keep-alive connection is 2 fds here (both ends)
    assert b.threads <= a.threads, (a, b)
    assert a.connections == b.connections == 0
    assert b.rss_kb <= a.rss_kb + 16 * 1024, (a, b)
    assert b.log_bytes_per_pass <= a.log_bytes_per_pass * 1.25, (a, b)

    capsys.readouterr()
    assert main(["--config", str(config), "status", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = report["sources"]
    assert len(rows) == MASTODON + X
    assert all(r["last_error"] is None and r["consecutive_failures"] == 0 and not r["failing"]
               and r["claimed_by"] is None and r["last_success_at"] == r["last_run_at"]
               for r in rows), [r for r in rows if r["last_error"]]
    assert sum(r["posts_24h"] for r in rows) == links  # all of it arrived within a day
    for r in rows:
        last = datetime.fromisoformat(r["last_run_at"].replace("Z", "+00:00"))
        due = datetime.fromisoformat(r["next_due"].replace("Z", "+00:00"))
        assert due - last == timedelta(seconds=EVERY)
    assert db_url


def test_soak_300_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                         record_property: Record) -> None:
    """Soak: 300 passes over 50 sources, figures stable, every post exactly once"""
    soak(tmp_path, 300, capsys, record_property)


@pytest.mark.long
def test_soak_10000_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                           record_property: Record) -> None:
    """Soak: 10,000 passes over 50 sources, figures at pass 1,000 and 10,000"""
    soak(tmp_path, 10_000, capsys, record_property)


def test_a_run_delayed_by_a_rate_limit_keeps_the_sources_next_turn(tmp_path: Path) -> None:
    """Soak: sources delayed behind a rate-limit wait are not skipped as 'not due' next time"""
    clock = ManualClock()
    with daemon_world(tmp_path, clock, mastodon=4, x=0, every="5m") as w, \
            run_log(clock) as log:
        for i in range(4):
            w.mastodon.add_new(f"tag:soak{i}", 2)
        w.loop.run_until(clock.monotonic() + 600)
        # each source's next request waits out a rate limit: the account's sources, one
        # after another on its thread, start later and later
        for i in range(4):
            w.server.faults.arm(Reply.json({"error": "Too many requests"}, 429,
                                           **{"Retry-After": "120"}), f"/timelines/tag/soak{i}")
        w.loop.run_until(clock.monotonic() + 1800)
        outcomes = Counter(o for _, o, _ in log.runs)
        assert set(outcomes) == {"ok"}, outcomes
        for i in range(4):
            times = log.collected(f"tag{i}")
            gaps = [b - a for a, b in itertools.pairwise(times)]
            assert max(gaps) < 2 * EVERY - 30, (i, gaps)  # no turn lost (its own wait aside)
