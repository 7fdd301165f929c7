"""The `rounds` command group and the context every command shares.

This is the composition root: it builds settings, the database, collectors and the
classifier, and hands them down. Commands are thin; the work lives in the library.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, update_wrapper
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

import click

from aggregator import __version__
from aggregator.clock import Clock, SystemClock
from aggregator.errors import ArchiveMissing
from aggregator.settings import Settings, load_settings
from aggregator.storage.db import Database, open_database, open_existing
from aggregator.storage.repository import Repository
from aggregator.textutil import TerminalSafeFormatter

if TYPE_CHECKING:
    from aggregator.query import Vocabulary


@dataclass
class AppContext:
    config: str | None = None
    database_url: str | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    clock: Clock = field(default_factory=SystemClock)
    # Set by commands that only read (`pass_reader`): the archive must already exist at
    # the current schema; it is never created or migrated for them.
    existing_only: bool = False

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.config, self.environ, self.database_url)

    @cached_property
    def db(self) -> Database:
        if self.existing_only:
            return open_existing(self.settings.database_url)
        return open_database(self.settings.database_url)

    @cached_property
    def repo(self) -> Repository:
        return Repository(self.db, self.clock)

    @cached_property
    def imported_sources(self) -> list[str]:
        """The import-only sources' names (`rounds import`): queries and `export --source`
        may name them too."""
        from aggregator.storage.import_sources import import_source_names

        try:
            return import_source_names(self.db)
        except ArchiveMissing:  # no archive yet: none (the command says so when it reads)
            return []

    def vocabulary(self) -> Vocabulary:
        return self.settings.query_vocabulary(self.imported_sources)


pass_app = click.make_pass_decorator(AppContext)

P = ParamSpec("P")
R = TypeVar("R")


def pass_reader(command: Callable[Concatenate[AppContext, P], R]) -> Callable[P, R]:
    """`pass_app` for commands that only read: their `app.db` is the existing archive,
    never created or migrated (a missing or older one is an error saying what to run)."""
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        app = click.get_current_context().ensure_object(AppContext)
        app.existing_only = True
        return command(app, *args, **kwargs)
    return update_wrapper(run, command)


def configure_logging(verbose: int, quiet: bool) -> None:
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    if quiet:
        level = logging.ERROR
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(TerminalSafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    # urllib3 logs full request URLs at DEBUG; they never carry tokens (headers do), but
    # keep third-party chatter at INFO and above unless asked twice.
    if verbose < 3:
        logging.getLogger("urllib3").setLevel(logging.INFO)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config", metavar="PATH", envvar="ROUNDS_CONFIG",
              help="Configuration file. Default: $ROUNDS_CONFIG, else "
                   "<user config dir>/grandrounds/rounds.toml.")
@click.option("--database-url", metavar="URL",
              help="Database URL (overrides [database] url and $ROUNDS_DATABASE_URL).")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.version_option(__version__, prog_name="rounds")
@click.pass_context
def rounds(ctx: click.Context, config: str | None, database_url: str | None, verbose: int,
           quiet: bool) -> None:
    """grandrounds: curated Mastodon, X and Bluesky lists and health feeds, collected into a
    local archive and read by topic in the terminal.

    \b
    Start here:
      rounds init        write a starter configuration file
      rounds collect     collect every configured source once
      rounds read        open the reader
      rounds demo        try it all on bundled sample posts
    """
    configure_logging(verbose, quiet)
    # a caller (a test) may hand in a context to inject its clock; the options win
    given = ctx.obj if isinstance(ctx.obj, AppContext) else AppContext()
    ctx.obj = AppContext(config=config, database_url=database_url, clock=given.clock)
