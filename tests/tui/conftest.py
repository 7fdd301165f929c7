"""Reader test fixtures: a seeded SQLite archive and an app wired to it."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aggregator.reader.feed import Refresher, StorageFeedReader
from aggregator.settings import ViewSettings
from tests.tui.seed import Seeder, standard
from tui.app import ReaderApp

SIZE = (100, 30)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: Any) -> bool | None:
    """Run `async def` tests (Pilot needs an event loop) without an asyncio plugin."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{n: pyfuncitem.funcargs[n] for n in names}))
    return True
TOPIC_NAMES = {"cardiology": "Cardiology", "oncology": "Oncology",
               "public-health": "Public health", "vaccines": "Vaccines"}


class Opened(list[str]):
    def __call__(self, url: str) -> bool:
        self.append(url)
        return True


@pytest.fixture
def seeded(tmp_path: Path) -> Seeder:
    return standard(tmp_path / "reader.db",
                    views=(ViewSettings("Twitter only", "network:twitter"),))


MakeApp = Callable[..., ReaderApp]


@pytest.fixture
def make_app(seeded: Seeder) -> MakeApp:
    def make(seeder: Seeder | None = None, *, refresher: Refresher | None = None,
             opener: Callable[[str], object] | None = None,
             mark_read_on_move: bool = False,
             poll_seconds: float = 0) -> ReaderApp:
        s = seeder or seeded
        reader = StorageFeedReader(s.db, s.repo, s.settings, s.clock, TOPIC_NAMES)
        return ReaderApp(reader, refresher, mark_read_on_move=mark_read_on_move,
                         poll_seconds=poll_seconds,
                         opener=opener if opener is not None else Opened())
    return make
