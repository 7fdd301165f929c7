"""`rounds daemon`: collect every source on its schedule until stopped."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import click

from aggregator.cli.app import AppContext, rounds
from aggregator.errors import ConfigError
from aggregator.jobs import SourceRunner
from aggregator.locking import ClaimManager
from aggregator.logformat import configure_daemon_logging


@rounds.command()
@click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Append the log here (reopened when logrotate moves it). Default: stderr.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: one object per line, for log collectors.")
@click.option("--lease", type=click.FloatRange(min=10.0), default=300.0, show_default=True,
              help="Seconds a PostgreSQL claim lasts without renewal (renewed every page).")
@click.pass_context
def daemon(ctx: click.Context, log_file: Path | None, log_format: str, lease: float) -> None:
    """Collect every source at its `every`, until SIGTERM or Ctrl-C.

    Any number of daemons (and `rounds collect --due` from cron) can share one database:
    each source is collected by one process at a time. SIGTERM/SIGINT finish the page in
    flight and exit; SIGHUP re-reads the configuration. One log line per run.
    """
    from aggregator.scheduler import Daemon

    app: AppContext = ctx.find_object(AppContext)  # type: ignore[assignment]
    parent = ctx.parent.params if ctx.parent else {}
    level = logging.WARNING if parent.get("quiet") else (
        logging.DEBUG if parent.get("verbose", 0) >= 2 else logging.INFO)
    configure_daemon_logging(str(log_file) if log_file else None, log_format, level)
    # Opening the database may migrate it: Alembic's "Context impl ..." lines are not news.
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))
    if not app.settings.sources:
        raise click.UsageError("no sources configured; add [[sources]] to "
                               f"{app.settings.path or 'your configuration (rounds init)'}")
    claims = ClaimManager(app.db, app.clock, lease_seconds=lease)
    from aggregator.recheck import default_make_api, recheck_recent

    def recheck() -> object:  # edits and deletions of recent posts, a few at a time
        return recheck_recent(app.settings, app.repo, default_make_api(app.environ, app.clock))

    Daemon(runner_factory(app, claims), app.clock, recheck=recheck).run_forever()


def runner_factory(app: AppContext,
                   claims: ClaimManager) -> Callable[[Callable[[], bool]], SourceRunner]:
    """Builds a runner from the configuration as it is now (re-read on each call after the
    first, for SIGHUP). The database stays the one the daemon started with."""
    from aggregator.cli.collect import build_service

    calls = 0

    def make(should_stop: Callable[[], bool]) -> SourceRunner:
        nonlocal calls
        if calls:
            reread_settings(app)
        calls += 1
        return SourceRunner(build_service(app), claims, app.clock, should_stop=should_stop)

    return make


def reread_settings(app: AppContext, attempts: int = 3) -> None:
    """Load the configuration file again, for SIGHUP. A file being rewritten in place (an
    editor, a deployment tool) can be read half-written: the file's size and mtime are
    compared before and after reading, and a read that overlapped a write is tried again.
    A configuration without sources is refused (a truncated file reads as one)."""
    old = app.settings
    path = old.path
    app.__dict__.pop("settings", None)  # cached_property: load the file again
    for _ in range(attempts):
        before = _stamp(path)
        try:
            settings = app.settings
        except ConfigError:
            if _stamp(path) != before:
                app.__dict__.pop("settings", None)
                continue  # it changed while we read it: read the new one
            app.__dict__["settings"] = old
            raise
        if _stamp(path) == before:
            if not settings.sources:
                app.__dict__["settings"] = old
                raise ConfigError(f"{path}: no [[sources]] in it now (a file being "
                                  "rewritten?); keeping the running configuration")
            return
        app.__dict__.pop("settings", None)
    app.__dict__["settings"] = old
    raise ConfigError(f"{path}: it kept changing while it was read; keeping the running "
                      "configuration (send SIGHUP again once it is written)")


def _stamp(path: Path | None) -> tuple[int, int] | None:
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size
