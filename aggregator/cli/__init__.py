"""`rounds`: the command-line entry point. Each command lives in a module of this
package and registers itself on the group in `app`."""

from __future__ import annotations

import sys

import click

from aggregator.cli.app import rounds
from aggregator.errors import AggregatorError, ConfigError

# Importing the command modules registers their commands on `rounds`.
from aggregator.cli import commands  # noqa: F401  isort: skip


def main(argv: list[str] | None = None) -> int:
    """Run `rounds`; our errors become one line on stderr and an exit code, not a traceback."""
    try:
        code = rounds.main(args=argv, prog_name="rounds", standalone_mode=False)
    except click.exceptions.Abort:
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
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
