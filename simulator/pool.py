"""The simulator's one process pool: offline chunks (simulator/batch.py) and LLM shards
(simulator/llm_shards.py) both run in its workers.

A stdlib `ProcessPoolExecutor` on the `spawn` start method, on every platform. Each worker is a fresh
interpreter that imports what its jobs need (the stack, about 1.2 s, once per worker and run, every
worker at the same time) and inherits nothing else of the parent: no threads (a progress bar's), no open
database connections or their locks. Its environment is the parent's at the worker's start, so an API
key set before the run reaches it. `forkserver` without a preload list would import the same modules in
every fork, so it saves nothing here and adds a server whose environment is the one of its own start.

Jobs send what they make with `send` while they run, and return only small values (a status, a count).
Every message reaches the parent through one queue that a thread of the parent reads as it comes, so
finished episodes are stored as they arrive and no worker waits at its exit for its data to be read.
It also keeps a dead worker from hanging the run: a worker killed halfway through writing a message
leaves half of it in the pipe, and whoever reads it then waits forever; only that thread does, while
the pool, whose own result pipe carries messages too small to be cut (one atomic write each), reports
the dead worker (`BrokenProcessPool` on the jobs' futures).

Every worker, from its start:
- ignores Ctrl-C: the parent owns the run; it stops its workers and marks the run interrupted;
- ends itself when the parent is gone (kill -9): nobody would store its episodes, and its requests would
  still cost money;
- reads `worker_shared()`: the object the pool was started with (shared memory and events of
  `WORKER_CONTEXT`), handed over at the worker's start, the only way multiprocessing passes them on.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing.connection import wait
from typing import Any

__all__ = ["WORKER_CONTEXT", "WorkerPool", "first_failure", "send", "worker_pool", "worker_shared"]

WORKER_CONTEXT = multiprocessing.get_context("spawn")
_READER_EXIT_S = 1.0  # how long closing waits for the parent's reader thread to see the end

# In a worker: what its pool was started with.
_outbox: Any = None
_shared: Any = None


class WorkerPool:
    """Jobs in worker processes, and the messages they send while they run."""

    def __init__(self, processes: int, shared: Any) -> None:
        self._outbox = WORKER_CONTEXT.Queue()
        self._inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._executor = ProcessPoolExecutor(
            processes,
            mp_context=WORKER_CONTEXT,
            initializer=_start_worker,
            initargs=(self._outbox, shared),
        )
        self._reader = threading.Thread(target=self._read, name="pool-messages", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while (message := self._outbox.get()) is not None:
            self._inbox.put(message)

    def submit(self, job: Callable[..., Any], /, *args: Any) -> Future[Any]:
        """Run `job(*args)` in a worker."""
        return self._executor.submit(job, *args)

    def next_message(self, timeout: float) -> Any:
        """The next message a worker sent; raises `queue.Empty` when none came within `timeout`."""
        return self._inbox.get(timeout=timeout)

    def close(self) -> None:
        """Cancel the jobs not started, wait for the running ones, then end the reader thread."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._outbox.cancel_join_thread()  # the end mark below may be stuck behind a dead worker's lock
        self._outbox.put(None)
        self._reader.join(timeout=_READER_EXIT_S)  # still reading half a message: left to exit with us


@contextmanager
def worker_pool(processes: int, shared: Any = None) -> Iterator[WorkerPool]:
    """A pool of `processes` workers, each started with `shared` (see `worker_shared`). On leaving the
    block, jobs not started are cancelled and running ones are waited for (a job that can run long must
    watch for a stop request of its own, as LLM shards do)."""
    pool = WorkerPool(processes, shared)
    try:
        yield pool
    finally:
        pool.close()


def first_failure(jobs: Sequence[Future[Any]]) -> tuple[int, BaseException] | None:
    """The first job (its index) that ended with an error. `BrokenProcessPool`: a worker died (killed,
    out of memory), and every job not finished by then fails with it."""
    for index, job in enumerate(jobs):
        error = job.exception() if job.done() and not job.cancelled() else None
        if error is not None:
            return index, error
    return None


def send(message: Any) -> None:
    """In a worker: send `message` (not None) to the parent, which reads it with `next_message`."""
    _outbox.put(message)


def worker_shared() -> Any:
    """In a worker: the `shared` object its pool was started with (None in the parent)."""
    return _shared


def _start_worker(outbox: Any, shared: Any) -> None:
    global _outbox, _shared
    _outbox, _shared = outbox, shared
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_end_with, args=(parent.sentinel,), name="parent-watch", daemon=True).start()


def _end_with(parent_sentinel: int) -> None:
    """Wait until the parent is gone, then end this worker at once: nobody is left to read what it sends."""
    wait([parent_sentinel])
    os.kill(os.getpid(), signal.SIGTERM)
