"""Curation fixtures: `rounds` runs the command line on a fresh SQLite archive."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from aggregator.cli import main

Run = Callable[..., tuple[str, str]]


def runner(capsys: pytest.CaptureFixture[str], *options: str) -> Run:
    """`run(*args, code=0)`: `rounds OPTIONS ARGS`, asserting the exit code; (out, err)."""

    def run(*args: str, code: int = 0) -> tuple[str, str]:
        got = main([*options, *args])
        out, err = capsys.readouterr()
        assert got == code, (out, err)
        return out, err

    return run


@pytest.fixture
def rounds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    return runner(capsys, "--database-url", f"sqlite:///{tmp_path / 'cli.db'}")
