"""Clock jumps (issue 18 item 4): the wall clock moves back an hour or forward a day
under a running daemon (injected: ManualClock.jump moves the wall clock, not the
monotonic one). Each source keeps being collected about every `every` (measured on the
monotonic clock), no run piles up, nothing is stored twice, `rounds status` never says a
source is due a day from now, and `collect --due` (cron) runs a source whose last run
looks like it is in the future.

PostgreSQL leases on the database's clock: tests/ops/test_copy_and_claims.py.
"""

from __future__ import annotations

import gzip
import itertools
import json
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.archive import ArchiveResult, archive_new, verify
from aggregator.clock import ManualClock
from aggregator.status import list_status
from tests.reliability.daemonloop import DaemonWorld, daemon_world, run_log

REPORT_NETWORK = "both"  # Mastodon and X
EVERY = 900.0
HOUR, DAY = 3600.0, 86400.0
# the longest honest gap between two collections of a source: its interval, its
# jitter (10%) and the scheduler's early-run slack
MAX_GAP = EVERY * 1.1 + 60


def _feed(w: DaemonWorld, n: int) -> None:
    for i in range(4):
        w.mastodon.add_new(f"tag:soak{i}", n)
    for i in range(2):
        w.x.add_tweets(f"list:{9000 + i}", [w.x.make_tweet("snowman", f"ward round {j}")
                                            for j in range(n)])


def _gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


@pytest.mark.parametrize("direction", ["back an hour", "forward a day"])
def test_every_source_keeps_its_pace_across_a_clock_jump(
        tmp_path: Path, direction: str, record_property: Callable[[str, object], None]) -> None:
    """Clock jumps: sources keep their pace, none starves, none collected twice at once"""
    jump = -HOUR if direction == "back an hour" else DAY
    clock = ManualClock()
    with daemon_world(tmp_path, clock, mastodon=4, x=2) as w, run_log(clock) as log:
        _feed(w, 5)
        w.loop.run_until(clock.monotonic() + 2 * HOUR)
        jumped_at = clock.monotonic()
        clock.jump(jump)
        _feed(w, 3)
        w.loop.run_until(clock.monotonic() + 2 * HOUR)
        names = [f"tag{i}" for i in range(4)] + ["list0", "list1"]
        longest = max(max(_gaps([t for s, o, t in log.runs if s == n and o == "ok"]))
                      for n in names)
        record_property("longest gap between two collections of a source",
                        f"{longest:.0f} s (every {EVERY:.0f} s)")
        for name in names:
            times = [t for s, o, t in log.runs if s == name and o == "ok"]
            assert max(_gaps(times)) <= MAX_GAP, (name, _gaps(times))  # nobody starves
            after = [t for t in times if t > jumped_at]
            assert len(after) >= 2 * HOUR / MAX_GAP, (name, after)
            # forward: what fell due ran once (coalesced), not once per missed interval
            assert min(_gaps([jumped_at, *after])) >= EVERY * 0.9 - 60 or len(after) <= 9
        outcomes = Counter(o for _, o, _ in log.runs)
        assert set(outcomes) == {"ok"}, outcomes  # never busy, never skipped as not due
        keys = w.post_keys()
        assert len(keys) == len(set(keys)) == 4 * 8 + 2 * 8
        for status in list_status(w.app.settings, w.app.repo):
            assert status.next_due is not None
            assert status.next_due <= clock.now() + timedelta(seconds=MAX_GAP), status


def test_cron_runs_a_source_whose_last_run_is_in_the_future_once(tmp_path: Path) -> None:
    """Clock jumps: `collect --due` after the clock went back an hour runs each source once"""
    clock = ManualClock()
    with daemon_world(tmp_path, clock, mastodon=2, x=1) as w:
        runner = w.daemon.make_runner(lambda: False)
        assert len(runner.run_many(due_only=True)) == 3
        clock.advance(60)
        assert runner.due_sources() == []
        clock.jump(-HOUR)  # every last run is now 59 minutes in the future
        assert len(runner.due_sources()) == 3  # not an hour and a quarter of silence
        runner.run_many(due_only=True)
        assert runner.due_sources() == []  # and then on its pace again
        clock.advance(EVERY)
        assert len(runner.due_sources()) == 3
        runner.service.close()


def test_posts_that_arrive_after_the_clock_went_back_are_archived_once(tmp_path: Path) -> None:
    """Clock jumps: `rounds archive` after the clock went back an hour loses no post"""
    clock = ManualClock()
    out = tmp_path / "archive"
    with daemon_world(tmp_path, clock, mastodon=2, x=0) as w:
        def collect_and_archive(new: int) -> ArchiveResult:
            for i in range(2):
                w.mastodon.add_new(f"tag:soak{i}", new)
            w.loop.run_until(clock.monotonic() + EVERY * 1.2)
            clock.advance(120)  # past --settle
            return archive_new(w.app.repo, out, settle=timedelta(seconds=60))

        assert collect_and_archive(5).total == 10
        clock.jump(-HOUR)  # posts now arrive "before" the archive's mark
        assert collect_and_archive(3).total == 6
        assert collect_and_archive(2).total == 4  # still behind the old mark
        clock.advance(2 * HOUR)  # and once the clock has passed it again
        assert collect_and_archive(1).total == 2
        keys = set(w.post_keys())
    archived = [json.loads(line)["key"] for path in sorted(out.rglob("*.jsonl.gz"))
                for line in gzip.decompress(path.read_bytes()).decode().splitlines()]
    assert len(archived) == len(set(archived)) == len(keys)  # each once, none lost
    assert set(archived) == keys
    assert verify(out)[1] == []
