"""aggregator.pipeline.produce: a generator run in a worker process, its items handed back
in order."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.errors import InputError
from aggregator.pipeline import WorkerDied, interrupts_deferred, produce
from tests.conftest import process_alive, wait_until

# --------------------------------------------------------------------------- produce


def numbers(n: int, fail_at: int | None = None, die_at: int | None = None
            ) -> Iterator[tuple[int, int]]:
    for i in range(n):
        if i == fail_at:
            raise InputError(f"input.jsonl:{i}", "not valid JSON")
        if i == die_at:
            os._exit(9)  # as the kernel's OOM killer would end it: no word, no cleanup
        yield os.getpid(), i


@pytest.mark.parametrize("worker", [True, False])
def test_produce_yields_a_generators_items_in_order_from_a_worker_or_from_here(
        worker: bool) -> None:
    out = list(produce(numbers, (50,), worker=worker, depth=2))
    assert [i for _, i in out] == list(range(50))
    assert ({pid for pid, _ in out} == {os.getpid()}) == (not worker)


def test_produce_raises_the_workers_error_after_the_items_before_it() -> None:
    seen = []
    with pytest.raises(InputError) as caught:
        for _, i in produce(numbers, (10, 6)):
            seen.append(i)
    assert seen == list(range(6))
    assert (caught.value.position, caught.value.reason) == ("input.jsonl:6", "not valid JSON")


def test_produce_says_so_when_the_worker_dies_without_a_word() -> None:
    seen = []
    with pytest.raises(WorkerDied, match="exit code 9"):
        for _, i in produce(numbers, (10, None, 4)):
            seen.append(i)
    # what it had queued but not yet written dies with it: a prefix, in order, arrives
    assert seen == list(range(len(seen))) and len(seen) <= 4


def test_a_consumer_that_stops_early_stops_the_worker() -> None:
    items = produce(numbers, (10_000,), depth=2)
    pid, _ = next(items)
    assert pid != os.getpid() and process_alive(pid)
    items.close()
    assert wait_until(lambda: not process_alive(pid)), "the worker went on after the end"



def pid_then_a_huge_item() -> Iterator[object]:
    yield os.getpid()
    yield b"x" * 50_000_000  # far more than a pipe holds: written while the consumer reads
    time.sleep(600)  # killed long before this ends


def writing_to_a_pipe(pid: int) -> bool:
    """A thread of `pid` is blocked writing to a pipe (Linux: its wait channel)."""
    return any("pipe" in wchan.read_text()
               for wchan in Path(f"/proc/{pid}/task").glob("*/wchan"))


def test_a_worker_killed_halfway_through_writing_an_item_is_reported_not_waited_for(
        ) -> None:
    """The kernel's OOM killer picks the worker while it hands over a big chunk: the
    importer must stop with WorkerDied, not wait for the rest of the chunk for ever."""
    items = produce(pid_then_a_huge_item, ())
    pid = next(items)
    assert isinstance(pid, int)
    assert wait_until(lambda: writing_to_a_pipe(pid)), "the worker never wrote the item"
    os.kill(pid, signal.SIGKILL)
    outcome: list[BaseException | object] = []

    def take() -> None:
        try:
            outcome.append(next(items))
        except BaseException as exc:  # what the consumer sees is the point
            outcome.append(exc)

    taker = threading.Thread(target=take, daemon=True)
    taker.start()
    taker.join(timeout=60)
    assert not taker.is_alive(), "still waiting for the rest of a dead worker's item"
    assert isinstance(outcome[0], WorkerDied) and "exit code -9" in str(outcome[0])


def unpicklable() -> Iterator[object]:
    yield 1
    yield lambda: None  # a lambda does not pickle


def test_an_item_the_worker_cannot_hand_over_is_an_error_here() -> None:
    items = produce(unpicklable, ())
    assert next(items) == 1
    with pytest.raises(RuntimeError, match="could not hand over an item"):
        next(items)


def test_ctrl_c_inside_a_deferred_block_acts_once_the_block_is_done() -> None:
    """A commit and the count of what it kept happen together or not at all."""
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            steps.append("committed")
            steps.append("counted")
        steps.append("after the block")
    assert steps == ["committed", "counted"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
