"""The daemon's scheduler loop on the injected clock.

`rounds daemon` hands its jobs to APScheduler, which reads the system clock. Scenarios
that run days of schedule in seconds drive the same jobs (the Daemon's own, with their
interval triggers, jitter and coalescing) the way APScheduler's loop does, on a
ManualClock: take the job due first, move the clock to its time, run it, ask its trigger
for the next time. Between steps the daemon's once-a-second wall-clock check runs, as in
`Daemon.run_forever`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from aggregator.cli.app import AppContext
from aggregator.cli.daemon import runner_factory
from aggregator.clock import ManualClock
from aggregator.locking import ClaimManager
from aggregator.recheck import default_make_api, recheck_recent
from aggregator.scheduler import Daemon
from aggregator.storage.schema import posts, runs, sources
from tests.fakes.bluesky import AllNetworks, FakeBluesky
from tests.fakes.mastodon import TOKEN as MASTODON_TOKEN
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.server import LoopbackServer
from tests.fakes.twitter import TOKEN as X_TOKEN
from tests.fakes.twitter import FakeX

ENVIRON = {"ROUNDS_MED_TOKEN": MASTODON_TOKEN, "ROUNDS_X_BEARER": X_TOKEN}


class RunLog(logging.Handler):
    """Every `run source=... outcome=...` line the runner logs, with the monotonic time,
    and the size of everything the daemon logged (bytes, formatted as text)."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(logging.INFO)
        self.clock = clock
        self.runs: list[tuple[str, str, float]] = []  # (source, outcome, monotonic)
        self.bytes = 0
        self.lines = 0
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        self.bytes += len(text) + 1
        self.lines += 1
        message = record.getMessage()
        if message.startswith("run source="):  # ok and error, busy and not-due alike
            fields = dict(f.split("=", 1) for f in message.split()[1:3])
            self.runs.append((fields["source"], fields["outcome"], self.clock.monotonic()))

    def collected(self, source: str) -> list[float]:
        return [t for s, _, t in self.runs if s == source]


@contextmanager
def run_log(clock: ManualClock) -> Iterator[RunLog]:
    handler = RunLog(clock)
    root = logging.getLogger("aggregator")
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


@dataclass
class Step:
    job: str  # "source:NAME" or "recheck"
    at: datetime  # the wall clock when it ran
    mono: float  # the monotonic clock when it ran


@dataclass
class VirtualLoop:
    daemon: Daemon
    clock: ManualClock
    steps: list[Step] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.daemon.check_clock()  # as `start()` does

    def due_first(self) -> Any:
        self.daemon.tend()  # what run_forever's loop does every second and after each run
        return min(self._jobs(), key=lambda j: j.next_run_time)

    def _jobs(self) -> list[Any]:
        return [j for j in self.daemon._scheduler.get_jobs() if j.next_run_time is not None]

    def step(self) -> Step:
        """Run the job due first (waiting for it on the clock); returns what ran."""
        job = self.due_first()
        wait = (job.next_run_time - self.clock.now()).total_seconds()
        if wait > 0:
            self.clock.advance(wait)
        now = self.clock.now()
        run_times = job._get_run_times(now)[-1:]  # coalesce=True: missed runs are one
        # APScheduler plans the next run as it hands this one to the executor
        job.modify(next_run_time=job.trigger.get_next_fire_time(run_times[-1], now))
        done = Step(job.id, now, self.clock.monotonic())
        job.func(*job.args)
        self.steps.append(done)
        return done

    def run_until(self, mono: float) -> None:
        """Steps until the next job is due after the monotonic time `mono`."""
        while True:
            job = self.due_first()
            wait = (job.next_run_time - self.clock.now()).total_seconds()
            if self.clock.monotonic() + max(wait, 0.0) > mono:
                self.clock.advance(mono - self.clock.monotonic())
                return
            self.step()


def write_config(path: Path, db_url: str, base_url: str, *, mastodon: int, x: int,
                 every: str = "15m", first: int = 0, top: str = "") -> Path:
    """`mastodon` hashtag sources (tag<first>, ...) and `x` list sources (list0, ...),
    written atomically (as an editor that renames would)."""
    blocks = [top, f'[database]\nurl = "{db_url}"\n',
              f'[accounts.med]\nnetwork = "mastodon"\nbase_url = "{base_url}"\n'
              'token_env = "ROUNDS_MED_TOKEN"\n',
              f'[accounts.x]\nnetwork = "twitter"\nbase_url = "{base_url}"\n'
              'bearer_token_env = "ROUNDS_X_BEARER"\n']
    blocks += [f'[[sources]]\nname = "tag{i}"\naccount = "med"\nhashtag = "soak{i}"\n'
               f'every = "{every}"\n' for i in range(first, first + mastodon)]
    blocks += [f'[[sources]]\nname = "list{i}"\naccount = "x"\nlist = "{9000 + i}"\n'
               f'every = "{every}"\n' for i in range(x)]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(blocks), encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


@dataclass
class DaemonWorld:
    """A daemon wired as `rounds daemon` wires it (configuration file, runner factory,
    claims, recheck), on a ManualClock, against Mastodon and X fakes on one loopback."""

    clock: ManualClock
    mastodon: FakeMastodon
    x: FakeX
    server: LoopbackServer
    app: AppContext
    daemon: Daemon
    loop: VirtualLoop

    def collections(self) -> dict[str, int]:
        """Runs recorded per source (a skipped, not-due run records none)."""
        with self.app.db.engine.connect() as conn:
            return {r[0]: int(r[1]) for r in conn.execute(
                select(sources.c.name, func.count(runs.c.id))
                .join(runs, runs.c.source_id == sources.c.id).group_by(sources.c.name))}

    def post_keys(self) -> list[str]:
        with self.app.db.engine.connect() as conn:
            return [r[0] for r in conn.execute(select(posts.c.key))]


@contextmanager
def daemon_world(tmp_path: Path, clock: ManualClock, *, mastodon: int, x: int,
                 every: str = "15m", top: str = "") -> Iterator[DaemonWorld]:
    """The world; `world.daemon` has its jobs, on `clock` (the scheduler is not started:
    `world.loop` runs them)."""
    m, fx, sky = FakeMastodon(clock, seed=False), FakeX(clock), FakeBluesky(clock)
    m.set_budget(10**9, 300)
    fx.set_budget(10**9, 900)
    for i in range(x):
        fx.timelines.setdefault(f"list:{9000 + i}", [])  # the lists exist, empty
    server = LoopbackServer(AllNetworks(m, fx, sky)).start()
    cfg = write_config(tmp_path / "rounds.toml", f"sqlite:///{tmp_path / 'rounds.db'}",
                       server.base_url, mastodon=mastodon, x=x, every=every, top=top)
    app = AppContext(config=str(cfg), environ=ENVIRON, clock=clock)
    claims = ClaimManager(app.db, clock)

    def recheck() -> object:
        return recheck_recent(app.settings, app.repo, default_make_api(app.environ, clock))

    daemon = Daemon(runner_factory(app, claims), clock, recheck=recheck)
    daemon.sync_jobs(daemon.make_runner(daemon.stopping.is_set))
    daemon.schedule_recheck()
    try:
        yield DaemonWorld(clock, m, fx, server, app, daemon, VirtualLoop(daemon, clock))
    finally:
        daemon.shutdown()
        server.stop()
        app.db.dispose()
