"""The simulator's one process pool: offline chunks (simulator/batch.py) and LLM shards
(simulator/llm_shards.py) both run in its workers.

A stdlib `ProcessPoolExecutor` on the `spawn` start method, on every platform. Each worker is a fresh
interpreter that imports what its jobs need (the stack, about 1.5 s, once per worker and run, every
worker at the same time) and inherits nothing else of the parent: no threads (a progress bar's), no open
database connections or their locks. Its environment is the parent's at the worker's start, so an API
key set before the run reaches it. `forkserver` without a preload list would import the same modules in
every fork, so it saves nothing here and adds a server whose environment is the one of its own start.

Every worker, from its start:
- ignores Ctrl-C: the parent owns the run; it stops its workers and marks the run interrupted;
- ends itself when the parent is gone (kill -9): nobody would store its episodes, and its requests would
  still cost money;
- reads `worker_shared()`: the object the pool was started with (shared memory, queues, events of
  `WORKER_CONTEXT`), handed over at the worker's start, the only way multiprocessing passes them on.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing.connection import wait
from typing import Any

__all__ = ["WORKER_CONTEXT", "worker_pool", "worker_shared"]

WORKER_CONTEXT = multiprocessing.get_context("spawn")

_shared: Any = None  # in a worker: what its pool was started with


@contextmanager
def worker_pool(processes: int, shared: Any = None) -> Iterator[ProcessPoolExecutor]:
    """A pool of `processes` workers, each started with `shared` (see `worker_shared`). On leaving the
    block, jobs not started are cancelled and running ones are waited for (a job that can run long must
    watch for a stop request of its own, as LLM shards do)."""
    pool = ProcessPoolExecutor(
        processes, mp_context=WORKER_CONTEXT, initializer=_start_worker, initargs=(shared,)
    )
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def worker_shared() -> Any:
    """In a worker: the `shared` object its pool was started with (None in the parent)."""
    return _shared


def _start_worker(shared: Any) -> None:
    global _shared
    _shared = shared
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_end_with, args=(parent.sentinel,), name="parent-watch", daemon=True).start()


def _end_with(parent_sentinel: int) -> None:
    """Wait until the parent is gone, then end this worker at once: no clean-up, no half-written result."""
    wait([parent_sentinel])
    os.kill(os.getpid(), signal.SIGTERM)
