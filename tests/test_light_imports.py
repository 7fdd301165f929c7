"""The reader and the command line start without loading a network library: Mastodon.py,
tweepy and atproto (with pydantic) cost about a second and 45 MB before the first screen,
and only collection and list sync need them (they import them when they run)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("mastodon", "tweepy", "atproto", "pydantic", "feedparser")


@pytest.mark.parametrize("module", ["tui.app", "aggregator.reader.curator",
                                    "aggregator.cli", "aggregator.curation.sources"])
def test_reading_loads_no_network_library(module: str) -> None:
    code = (f"import sys, {module}; "
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.split()
    assert loaded == []
