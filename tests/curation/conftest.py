"""Curation fixtures: `rounds` runs the command line on a fresh SQLite archive."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.cli import main


@pytest.fixture
def rounds(tmp_path: Path, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'cli.db'}"

    def run(*args: str, code: int = 0) -> tuple[str, str]:
        got = main(["--database-url", url, *args])
        out, err = capsys.readouterr()
        assert got == code, (out, err)
        return out, err

    return run
