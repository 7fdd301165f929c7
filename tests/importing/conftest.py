"""A configuration file on a fresh database (SQLite, and PostgreSQL when configured), and
`rounds` run in-process with its output captured."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from aggregator.cli import main


@dataclass
class Rounds:
    config: Path
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *args: str | Path) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(["--config", str(self.config), *map(str, args)])
        out, err = self.capsys.readouterr()
        return code, out, err

    def ok(self, *args: str | Path) -> str:
        code, out, err = self(*args)
        assert code == 0, err
        return out

    def records(self, *args: str) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.ok("export", "--raw", *args).splitlines()]


MakeRounds = Callable[..., Rounds]


def write_config(path: Path, url: str, extra: str = "") -> Path:
    path.write_text(f'[database]\nurl = "{url}"\n{extra}')
    path.chmod(0o600)
    return path


@pytest.fixture
def rounds(tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]) -> Rounds:
    return Rounds(write_config(tmp_path / "rounds.toml", db_url), capsys)


@pytest.fixture
def fresh_rounds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> MakeRounds:
    """Another archive (SQLite), e.g. to import an export into."""
    def make(name: str = "other", extra: str = "") -> Rounds:
        url = f"sqlite:///{tmp_path / (name + '.db')}"
        return Rounds(write_config(tmp_path / f"{name}.toml", url, extra), capsys)
    return make
