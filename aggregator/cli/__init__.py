"""`rounds`: the command-line entry point. Each command lives in a module of this
package and registers itself on the group in `app`."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

import click

from aggregator.cli.app import rounds
from aggregator.errors import AggregatorError, ConfigError

# Importing the command modules registers their commands on `rounds`.
from aggregator.cli import commands  # noqa: F401  isort: skip


TERMINATED = "Terminated: finished work is kept; run the command again for the rest."


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C: transactions roll back, temporary files are removed
    and the run is recorded as interrupted, instead of the process vanishing mid-write."""


def _terminate(_signum: int, _frame: FrameType | None) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    """Run `rounds`; our errors become one line on stderr and an exit code, not a traceback."""
    if threading.current_thread() is not threading.main_thread():
        return _run(argv)  # (signal handlers belong to the main thread)
    previous = signal.signal(signal.SIGTERM, _terminate)  # the daemon installs its own
    try:
        return _run(argv)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run(argv: list[str] | None) -> int:
    try:
        code = rounds.main(args=argv, prog_name="rounds", standalone_mode=False)
    except click.exceptions.Abort as exc:  # click's name for an interrupt (and a "no")
        if isinstance(exc.__cause__, Terminated):
            click.echo(TERMINATED, err=True)
            return 143
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    except AggregatorError as exc:
        click.echo(f"error: {exc}", err=True)
        return 1
    except Terminated:
        click.echo(TERMINATED, err=True)
        return 143
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
