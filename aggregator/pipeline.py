"""Bulk work on both cores: batches prepared in a worker process while this one stores.

`produce` runs a whole generator (an import's readers, from opening the files to
classified posts) in the worker and hands its batches over:

    for chunk in produce(chunks, (reading,)):
        ...  # store it: the worker is already reading and classifying the next ones

An import spends as long parsing, normalizing and classifying posts as SQLite spends
storing them, and SQLite writes from one process: the reading moves to a worker process
(spawned, so it inherits no database connection, lock or thread) and the two overlap.
Items come back in order; at most `depth` are in flight, so memory stays flat however
long the input; an exception in the worker is raised here, from the `next()` that would
have returned its item.
"""

from __future__ import annotations

import gc
import multiprocessing
import pickle
import queue
import signal
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from aggregator.errors import AggregatorError

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


class WorkerDied(AggregatorError):
    """The worker process ended without a word (killed, out of memory)."""


_POLL_S = 0.5  # how often each side checks that the other is still there


def produce(fn: Callable[..., Iterable[R]], args: tuple[Any, ...], *, worker: bool = True,
            depth: int = 4) -> Iterator[R]:
    """The items of `fn(*args)`, iterated in a spawned worker process (`worker=False`:
    here), at most `depth` ahead of the consumer.

    An exception in the worker is raised here where its item would have come (as the
    worker's exception when it pickles, else a RuntimeError with its text). Closing the
    iterator, an exception here, or this process's end stops the worker: it ignores
    Ctrl-C (the terminal sends it to both; this process decides) and gives up when this
    process is gone (SIGKILL leaves no orphan waiting on a full queue).
    """
    if not worker:
        yield from fn(*args)
        return
    context = multiprocessing.get_context("spawn")
    channel: Any = context.Queue(maxsize=depth)
    proc = context.Process(target=_run_producer, args=(fn, args, channel), daemon=True,
                           name="rounds-worker")
    proc.start()
    try:
        while True:
            try:
                kind, value = channel.get(timeout=_POLL_S)
            except queue.Empty:
                if not proc.is_alive() and channel.empty():
                    raise WorkerDied(f"the worker process ended (exit code "
                                     f"{proc.exitcode}) before its work was done") from None
                continue
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join()
        channel.close()
        channel.join_thread()


def _run_producer(fn: Callable[..., Iterable[Any]], args: tuple[Any, ...],
                  channel: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.set_threshold(*BULK_GC_THRESHOLD)
    parent = multiprocessing.parent_process()

    def send(message: tuple[str, Any]) -> None:
        while True:
            try:
                channel.put(message, timeout=_POLL_S)
                return
            except queue.Full:
                if parent is not None and not parent.is_alive():
                    channel.cancel_join_thread()  # what is queued has no reader
                    raise SystemExit(1) from None

    try:
        for item in fn(*args):
            send(("item", item))
    except BaseException as exc:  # every failure goes to the consumer
        send(("error", _portable(exc)))
        return
    send(("end", None))


def _portable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # an exception class that does not round-trip
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


__all__ = ["WorkerDied", "bulk_gc", "produce"]
