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

import contextlib
import gc
import multiprocessing
import os
import pickle
import queue
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from types import FrameType
from typing import Any, TypeVar

from aggregator.errors import AggregatorError

R = TypeVar("R")

# Bulk work allocates millions of short-lived containers (parsed JSON, posts, rows) that form
# no cycles; at the default threshold (700) the cyclic collector runs every few hundred of
# them and walks the young ones each time: a third of JSON parsing and half of unpickling
# on the bench (bench/ingest.py stage_costs). Rarer passes keep what they free the same.
BULK_GC_THRESHOLD = (100_000, 50, 100)


@contextlib.contextmanager
def bulk_gc() -> Iterator[None]:
    """Cyclic garbage collection at bulk pace for the duration (restored after)."""
    before = gc.get_threshold()
    gc.set_threshold(*BULK_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)


_INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done, then act as they would have.

    For a commit and the count of what it kept: an interrupt landing between the two
    (a commit takes tens of ms) left the data committed and the summary one transaction
    short. Only the main thread can hold signals; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[signal.Signals] = []

    def hold(signum: int, _frame: FrameType | None) -> None:
        caught.append(signal.Signals(signum))

    previous = {s: signal.signal(s, hold) for s in _INTERRUPTS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if caught:
            handler = previous[caught[0]]
            if callable(handler):
                handler(caught[0], None)
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), caught[0])


class WorkerDied(AggregatorError):
    """The worker process ended without a word (killed, out of memory)."""


def produce(fn: Callable[..., Iterable[R]], args: tuple[Any, ...], *, worker: bool = True,
            depth: int = 4) -> Iterator[R]:
    """The items of `fn(*args)`, iterated in a spawned worker process (`worker=False`:
    here), at most `depth` ahead of the consumer.

    An exception in the worker is raised here where its item would have come (as the
    worker's exception when it pickles, else a RuntimeError with its text). A worker that
    dies, even halfway through writing an item, is WorkerDied here: the items come through
    a pipe whose only writer is the worker (this process closes its copy), so its death
    is the end of the pipe. (A multiprocessing.Queue keeps a writer here too: a worker
    killed mid-item left this side waiting for the rest of it for ever.) Closing the
    iterator, an exception here, or this process's end stops the worker: it ignores
    Ctrl-C (the terminal sends it to both; this process decides) and exits when the pipe
    has no reader (SIGKILL of this process leaves no orphan).
    """
    if not worker:
        yield from fn(*args)
        return
    context = multiprocessing.get_context("spawn")
    reader, writer = context.Pipe(duplex=False)
    proc = context.Process(target=_run_producer, args=(fn, args, writer, depth),
                           daemon=True, name="rounds-worker")
    proc.start()
    writer.close()
    try:
        while True:
            try:
                kind, value = reader.recv()
            except (EOFError, OSError):  # the pipe ended: its writer is gone
                proc.join()
                raise WorkerDied(f"the worker process ended (exit code {proc.exitcode}) "
                                 "before its work was done") from None
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        reader.close()  # a worker still writing gets EPIPE and exits
        if proc.is_alive():
            proc.terminate()
        proc.join()


def _run_producer(fn: Callable[..., Iterable[Any]], args: tuple[Any, ...], channel: Any,
                  depth: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.set_threshold(*BULK_GC_THRESHOLD)
    # a thread writes to the pipe while this one makes the next items (up to `depth`)
    outbox: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=max(1, depth - 1))

    def pump() -> None:
        while True:
            message = outbox.get()
            try:
                channel.send(message)
            except OSError:  # no reader: the consumer is gone (closed, or killed)
                os._exit(1)
            except Exception as exc:  # an item that does not pickle: say so, then stop
                with contextlib.suppress(OSError):
                    channel.send(("error", RuntimeError(
                        f"the worker could not hand over an item ({type(exc).__name__}: "
                        f"{exc})")))
                os._exit(1)
            if message[0] != "item":
                return

    sender = threading.Thread(target=pump, name="rounds-worker-send", daemon=True)
    sender.start()
    try:
        for item in fn(*args):
            outbox.put(("item", item))
    except BaseException as exc:  # every failure goes to the consumer
        outbox.put(("error", _portable(exc)))
    else:
        outbox.put(("end", None))
    sender.join()
    channel.close()


def _portable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # an exception class that does not round-trip
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


__all__ = ["WorkerDied", "bulk_gc", "interrupts_deferred", "produce"]
