"""Every command explains itself, and the layers keep their boundaries."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from aggregator.cli import main
from aggregator.cli.app import rounds


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, cmd in group.commands.items():
        path = (*prefix, name)
        found.append(path)
        if isinstance(cmd, click.Group):
            found += _commands(cmd, path)
    return found


COMMANDS = _commands(rounds)


def test_the_documented_commands_exist() -> None:
    top = {c[0] for c in COMMANDS}
    assert {"collect", "export", "sources", "init", "db", "read"} <= top


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*path, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: rounds " + " ".join(path))
    cmd: click.Command = rounds
    for name in path:
        assert isinstance(cmd, click.Group)
        cmd = cmd.commands[name]
    assert cmd.help and len(cmd.help.strip()) > 20, f"rounds {' '.join(path)} needs a docstring"


def test_aggregator_never_imports_textual() -> None:
    code = ("import sys, aggregator.cli, aggregator.service, aggregator.export, "
            "aggregator.collectors.registry, aggregator.storage.queries; "
            "import aggregator.collectors.mastodon.collector, "
            "aggregator.collectors.twitter.collector; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_collectors_never_import_storage() -> None:
    code = ("import sys, aggregator.collectors.mastodon.collector, "
            "aggregator.collectors.twitter.collector; "
            "print(sorted(m for m in sys.modules if m.startswith(('aggregator.storage', "
            "'sqlalchemy'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
