"""aggregator.pipeline.ahead: batches prepared in a worker process, handed back in order."""

from __future__ import annotations

import os

import pytest

from aggregator.errors import ConfigError
from aggregator.pipeline import ahead

_offset: dict[str, int] = {}


def setup(offset: int) -> None:
    _offset["n"] = offset


def work(batch: list[int]) -> tuple[int, list[int]]:
    if 13 in batch:
        raise ConfigError("line 13: not JSON")
    return os.getpid(), [x + _offset["n"] for x in batch]


@pytest.mark.parametrize("workers", [1, 0])
def test_results_come_back_in_order_from_a_worker_or_from_here(workers: int) -> None:
    batches = [list(range(i, i + 3)) for i in range(0, 12, 3)]
    out = list(ahead(iter(batches), work, initializer=setup, initargs=(100,), depth=2,
                     workers=workers))
    assert [values for _, values in out] == [[x + 100 for x in b] for b in batches]
    assert ({pid for pid, _ in out} == {os.getpid()}) == (workers == 0)


def test_an_error_in_the_worker_is_raised_where_its_batch_would_come() -> None:
    seen = []
    with pytest.raises(ConfigError, match="line 13"):
        for _, values in ahead([[1], [2], [13], [4]], work, initializer=setup, initargs=(0,)):
            seen.append(values)
    assert seen == [[1], [2]]
