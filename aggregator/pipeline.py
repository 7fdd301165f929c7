"""Bulk work on both cores: batches prepared in a worker process while this one stores.

    for posts, topics in ahead(batches, prepare, initializer=setup, initargs=(config,)):
        ...  # store them: the worker is already preparing the next batches

An import or a bulk load spends as long parsing, normalizing and classifying posts as
SQLite spends storing them, and SQLite writes from one process: the preparation moves to
a worker process (spawned, so it inherits no database connection, lock or thread) and
the two overlap. Results come back in the order of `items`; at most `depth` batches are
in flight, so memory stays flat however long the input; an exception in the worker is
raised here, from the `next()` that would have returned its batch.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Bulk work allocates millions of short-lived containers (parsed JSON, posts, rows) that form
# no cycles; at the default threshold (700) the cyclic collector runs every few hundred of
# them and walks the young ones each time: a third of JSON parsing and half of unpickling
# on the bench (bench/ingest.py stage_costs). Rarer passes keep what they free the same.
BULK_GC_THRESHOLD = (100_000, 50, 100)


@contextmanager
def bulk_gc() -> Iterator[None]:
    """Cyclic garbage collection at bulk pace for the duration (restored after)."""
    before = gc.get_threshold()
    gc.set_threshold(*BULK_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _start_worker(initializer: Callable[..., object] | None, initargs: tuple[Any, ...]
                  ) -> None:
    gc.set_threshold(*BULK_GC_THRESHOLD)  # the worker process does nothing but bulk work
    if initializer is not None:
        initializer(*initargs)


def ahead(items: Iterable[T], fn: Callable[[T], R], *,
          initializer: Callable[..., object] | None = None, initargs: tuple[Any, ...] = (),
          depth: int = 3, workers: int = 1) -> Iterator[R]:
    """`fn(item)` for each item, computed in `workers` processes (0: here), yielded in
    order.

    `fn` and `initializer` must be importable module-level functions (they are sent to a
    spawned process by name); `initializer(*initargs)` runs once in each worker.
    """
    if workers == 0:  # in this process (one core, or a machine other work keeps busy)
        if initializer is not None:
            initializer(*initargs)
        yield from map(fn, items)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             initializer=_start_worker,
                             initargs=(initializer, initargs)) as pool:
        flying: deque[Future[R]] = deque()
        try:
            for item in items:
                flying.append(pool.submit(fn, item))
                if len(flying) > depth:
                    yield flying.popleft().result()
            while flying:
                yield flying.popleft().result()
        finally:
            for future in flying:
                future.cancel()


__all__ = ["ahead", "bulk_gc"]
