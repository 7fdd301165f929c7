"""`rounds daemon`: APScheduler 3 runs each source at its `every`.

* One job per source: an interval trigger with jitter, ``max_instances=1`` and
  ``coalesce=True`` (missed runs collapse into one). An overdue source (never run, or
  its `every` passed while no daemon ran) runs at once; the others first run when due,
  staggered by up to a minute so a restart does not fire every source at once.
* Every run goes through `SourceRunner.run(due_only=True)`: the same claim as cron and
  other daemons, so no two processes (on one SQLite file or one PostgreSQL) collect a
  source at once, and a source just collected elsewhere is not collected again.
* One executor (one thread) per account: an account's sources run one after another and
  share its collector, whose RateBudget paces requests under the server's limit.
* SIGINT/SIGTERM: the page in flight is finished and committed, then the daemon exits.
  SIGHUP: the configuration is read again and the jobs re-synced.
* The wall clock may jump (NTP, an operator, a restored VM). The daemon compares it with
  the monotonic clock every second and moves every job by the jump, so each source keeps
  its place in the schedule (no hour of silence after a jump back, no burst and skipped
  turn after a jump forward).
* The database failing (unreachable, locked past the busy timeout, disk full: a
  StorageError) stops that pass with one log line and pauses every source: 1 s, then
  2, 4, ... up to 5 minutes while it keeps failing. The failed source and the ones the
  pause held back are retried when it ends, so nothing waits for its next interval and
  the daemon never needs a restart. The page in flight was rolled back, its cursor with
  it: the retry fetches it again, nothing is lost or stored twice.

This is the only module that imports apscheduler.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from aggregator.clock import Clock
from aggregator.errors import AggregatorError, StorageError
from aggregator.jobs import SourceRunner, next_due

logger = logging.getLogger(__name__)

MakeRunner = Callable[[Callable[[], bool]], SourceRunner]
STAGGER_MAX = 60.0
RECHECK_EVERY = 600  # seconds between edits/deletions re-checks (a few posts each)
CLOCK_JUMP = 30.0  # seconds the wall clock may drift from the monotonic one between checks


def _span(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds:.0f} s"
BACKOFF_FIRST = 1.0  # seconds of pause after the database failed once; doubles each time
BACKOFF_MAX = 300.0


def jitter_for(every: int) -> float:
    """Up to 10% of the interval, at most 30 s."""
    return min(every * 0.1, 30.0)


class Daemon:
    """Schedules every configured source until stopped.

    `make_runner(should_stop)` builds a SourceRunner from the current configuration; it is
    called at start and again on every reload.
    """

    def __init__(self, make_runner: MakeRunner, clock: Clock, *,
                 stagger_max: float = STAGGER_MAX,
                 recheck: Callable[[], object] | None = None,
                 recheck_every: int = RECHECK_EVERY) -> None:
        self.make_runner = make_runner
        self.recheck = recheck
        self.recheck_every = recheck_every
        self.clock = clock
        self.stagger_max = stagger_max
        self.stopping = threading.Event()
        self._reload = threading.Event()
        self._wake = threading.Event()
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self._runner: SourceRunner | None = None
        self._retired: list[SourceRunner] = []
        self._executors: set[str] = set()
        self._lock = threading.Lock()
        self._clock_seen: tuple[datetime, float] | None = None
        self._planned: dict[str, datetime | None] = {}  # job id -> next run, at the last check
        # sources whose run just ended; their next turn is checked by the main loop, never
        # by a job's thread (APScheduler's shutdown holds its job store lock while it waits
        # for running jobs: a job touching the scheduler then would deadlock the stop)
        self._paced: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._monotonic = clock.monotonic  # pauses: a wall-clock jump must not stretch them
        self._db_failures = 0  # in a row
        self._db_retry_at = 0.0  # monotonic seconds
        # retries asked for by job threads, scheduled by the main loop: a job thread must
        # not touch the scheduler (its shutdown holds the job store lock while it waits for
        # running jobs, so a job calling into it then would deadlock the stop)
        self._retries: queue.SimpleQueue[tuple[str, float, bool]] = queue.SimpleQueue()

    # ------------------------------------------------------------------ jobs

    def sync_jobs(self, runner: SourceRunner) -> None:
        """Make the jobs match the runner's configuration (add, replace, remove)."""
        settings = runner.service.settings
        runner.source_ids()  # register new sources before their jobs run
        last = runner.last_runs()  # (both reads before anything changes: they may fail)
        with self._lock:
            if self._runner is not None and self._runner is not runner:
                self._retired.append(self._runner)
            self._runner = runner
        runner.slack = 5.0 + max((jitter_for(s.every) for s in settings.sources), default=0.0)
        wanted = {f"source:{s.name}" for s in settings.sources}
        for job in self._scheduler.get_jobs():
            if job.id.startswith("source:") and job.id not in wanted:
                job.remove()
                logger.info("unscheduled %s", job.id)
        existing = {job.id: job for job in self._scheduler.get_jobs()}
        now = self.clock.now()
        count = max(len(settings.sources), 1)
        for i, source in enumerate(settings.sources):
            alias = f"account:{source.account}"
            if alias not in self._executors:
                self._scheduler.add_executor(ThreadPoolExecutor(1), alias)
                self._executors.add(alias)
            job_id = f"source:{source.name}"
            old = existing.get(job_id)
            old_every = (getattr(old.trigger, "interval", None) if old is not None else None)
            if old is not None and old_every == timedelta(seconds=source.every):
                continue  # unchanged: keep its place in the schedule
            due = next_due(last.get(source.name), source.every, now)
            if due is None or due <= now:
                first, offset = now, 0.0  # overdue (or never run): collect it at once
            else:  # on its own schedule, staggered so a restart does not fire all at once
                offset = i / count * min(float(source.every), self.stagger_max)
                first = due + timedelta(seconds=offset)
            self._scheduler.add_job(
                self._run_job, IntervalTrigger(
                    seconds=source.every, jitter=jitter_for(source.every), timezone=UTC),
                next_run_time=first,
                args=[source.name], id=job_id, name=source.name, executor=alias,
                max_instances=1, coalesce=True, replace_existing=True,
                misfire_grace_time=max(source.every, 1))
            logger.info("scheduled source=%s every=%ds first_run_in=%.1fs", source.name,
                        source.every, (first - now).total_seconds())

    def _run_job(self, name: str, due_only: bool = True) -> None:
        if self.stopping.is_set():
            return
        with self._lock:
            runner = self._runner
        if runner is None:
            return
        paused = self._paused_for()
        if paused > 0:  # the database is failing: try this source when the pause ends
            logger.debug("run source=%s held back %.1fs: database paused", name, paused)
            self._retry(name, paused, due_only=due_only)
            return
        try:
            source = runner.service.settings.source(name)
            runner.run(source, due_only=due_only)
            self._paced.put(name)  # the main loop moves its next turn if need be
            self._wake.set()
        except StorageError as exc:  # the database, not the source: pause, then retry
            self._database_failed(name, exc)
        except AggregatorError as exc:  # one line (a lock in the way)
            logger.error("run source=%s outcome=error error=%s", name, exc)
        except Exception:  # keep the daemon alive; the next run tries again
            logger.exception("run source=%s outcome=crash", name)
        else:
            self._database_ok()

    # ------------------------------------------------------------------ database back-off

    def _paused_for(self) -> float:
        with self._lock:
            return (self._db_retry_at - self._monotonic()) if self._db_failures else 0.0

    def _database_failed(self, name: str, exc: StorageError) -> None:
        with self._lock:
            self._db_failures += 1
            failures = self._db_failures
            delay = min(BACKOFF_FIRST * 2.0 ** min(failures - 1, 30), BACKOFF_MAX)
            self._db_retry_at = self._monotonic() + delay
        logger.error("run source=%s outcome=error error=%r; database failure %d in a row: "
                     "collection paused for %.0fs", name, str(exc), failures, delay,
                     extra={"event": "run", "source": name, "outcome": "error",
                            "error": str(exc), "paused_seconds": delay})
        self._retry(name, delay, due_only=False)  # its pass failed: redo it, due or not

    def _database_ok(self) -> None:
        with self._lock:
            failures, self._db_failures = self._db_failures, 0
        if failures:
            logger.info("database reachable again after %d failed attempts; collection "
                        "resumes", failures, extra={"event": "database-ok"})

    def _retry(self, name: str, delay: float, *, due_only: bool) -> None:
        """Ask for one extra run of a source in `delay` seconds (see _schedule_retries)."""
        self._retries.put((name, self._monotonic() + delay, due_only))
        self._wake.set()

    def _schedule_retries(self) -> None:
        """In the main loop: the retries the jobs asked for, on each source's executor."""
        while not self.stopping.is_set():
            try:
                name, at, due_only = self._retries.get_nowait()
            except queue.Empty:
                return
            job = self._scheduler.get_job(f"source:{name}")
            if job is None:  # removed by a reload meanwhile
                continue
            pending = self._scheduler.get_job(f"retry:{name}")
            if pending is not None and not pending.args[1]:
                due_only = False  # a failed pass stays owed, due or not
            when = self.clock.now() + timedelta(seconds=max(at - self._monotonic(), 0.0))
            self._scheduler.add_job(
                self._run_job, "date", run_date=when, args=[name, due_only],
                id=f"retry:{name}", name=f"retry {name}", executor=job.executor,
                replace_existing=True, misfire_grace_time=None)

    def _keep_pace(self, name: str) -> None:
        """The next turn no earlier than the source is due again. The trigger counts
        from when a run was planned: a run that started late (its account's thread was
        waiting out a rate limit) or a source collected meanwhile by another process would
        make the next turn come early, be skipped as not due, and leave the source
        uncollected for two intervals. (The job and runner as they are now: a reload may
        have replaced both while this run was in flight.)"""
        job = self._scheduler.get_job(f"source:{name}")
        with self._lock:
            runner = self._runner
        interval = getattr(job.trigger, "interval", None) if job is not None else None
        if job is None or job.next_run_time is None or runner is None or interval is None:
            return
        every = int(interval.total_seconds())
        due = next_due(runner.last_runs().get(name), every, self.clock.now())
        if due is not None and job.next_run_time < due - timedelta(
                seconds=min(runner.slack, every / 2)):
            job.modify(next_run_time=due)

    def tend(self) -> None:
        """What the main loop does every second and whenever a run ends: notice a wall
        clock jump, keep the pace of the sources whose run just ended."""
        self.check_clock()
        while True:
            try:
                name = self._paced.get_nowait()
            except queue.Empty:
                return
            try:
                self._keep_pace(name)
            except StorageError as exc:  # the database went away as the run ended: the
                # trigger's next time stands (the main loop must not die of it)
                logger.warning("source=%s: next turn kept as planned, the archive could not "
                               "be read: %s", name, exc)

    def check_clock(self) -> float:
        """Seconds the wall clock jumped since the last check (0.0: none).

        Every job still waiting for the time it had at the last check is moved by the
        jump, so each source keeps its place in the schedule: after a jump back it does not
        wait the jump out as well, after a jump forward the sources do not all fire at once
        (and then skip their next turn as not due yet). A job that ran since the last check
        was rescheduled on the new time already and is left alone."""
        wall, mono = self.clock.now(), self.clock.monotonic()
        seen, self._clock_seen = self._clock_seen, (wall, mono)
        planned, self._planned = self._planned, {
            job.id: job.next_run_time for job in self._scheduler.get_jobs()}
        if seen is None:
            return 0.0
        jump = (wall - seen[0]).total_seconds() - (mono - seen[1])
        if abs(jump) < CLOCK_JUMP:
            return 0.0
        logger.warning("the wall clock jumped %s by %s: every source keeps its place in the "
                       "schedule", "back" if jump < 0 else "forward", _span(abs(jump)))
        for job in self._scheduler.get_jobs():
            if job.next_run_time is not None and planned.get(job.id) == job.next_run_time:
                moved = max(job.next_run_time + timedelta(seconds=jump), wall)
                job.modify(next_run_time=moved)
                self._planned[job.id] = moved
        return jump

    def _source_jobs(self) -> int:
        return sum(job.id.startswith("source:") for job in self._scheduler.get_jobs())

    def _run_recheck(self) -> None:
        if self.stopping.is_set() or self.recheck is None:
            return
        if self._paused_for() > 0:
            return
        try:
            self.recheck()
        except StorageError as exc:
            logger.error("recheck failed: %s", exc)
        except Exception:
            logger.exception("recheck failed")

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        self.sync_jobs(self.make_runner(self.stopping.is_set))
        self.schedule_recheck()
        self._scheduler.start()
        self.check_clock()
        logger.info("daemon started with %d sources", self._source_jobs())

    def schedule_recheck(self) -> None:
        """The edits/deletions re-check every `recheck_every`, first one interval from now."""
        if self.recheck is None:
            return
        self._scheduler.add_executor(ThreadPoolExecutor(1), "recheck")
        self._scheduler.add_job(
            self._run_recheck, IntervalTrigger(seconds=self.recheck_every, timezone=UTC),
            next_run_time=self.clock.now() + timedelta(seconds=self.recheck_every),
            id="recheck", executor="recheck", max_instances=1, coalesce=True,
            replace_existing=True)

    def reload(self) -> None:
        try:
            runner = self.make_runner(self.stopping.is_set)
        except Exception as exc:  # a broken edit must not kill a running daemon
            logger.error("configuration not reloaded: %s", exc)
            return
        try:
            self.sync_jobs(runner)
        except StorageError as exc:  # nor a database that is away: the old one runs on
            runner.service.close()
            logger.error("configuration not reloaded: %s; send SIGHUP again once the "
                         "database is back", exc)
            return
        logger.info("configuration reloaded: %d sources", self._source_jobs())

    def request_stop(self) -> None:
        self.stopping.set()
        self._wake.set()

    def request_reload(self) -> None:
        self._reload.set()
        self._wake.set()

    def shutdown(self) -> None:
        """Stop scheduling, let running passes finish their page, release collectors."""
        self.stopping.set()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        with self._lock:
            runners = [*self._retired, *([self._runner] if self._runner else [])]
            self._retired, self._runner = [], None
        for runner in runners:
            runner.service.close()
        logger.info("daemon stopped")

    def run_forever(self, *, install_signals: bool = True) -> None:
        if install_signals:
            self._install_signals()
        self.start()
        try:
            while not self.stopping.is_set():
                self._wake.wait(1.0)
                self._wake.clear()
                self.tend()
                self._schedule_retries()
                if self._reload.is_set():
                    self._reload.clear()
                    self.reload()
        finally:
            self.shutdown()

    def _install_signals(self) -> None:
        def stop(signum: int, _frame: FrameType | None) -> None:
            logger.info("received %s: finishing the pages in flight", signal.Signals(signum).name)
            self.request_stop()

        def hup(_signum: int, _frame: FrameType | None) -> None:
            self.request_reload()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, hup)
