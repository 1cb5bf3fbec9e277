"""Where the simulator's worker processes come from: forks of a fork server that has the worker code loaded.

Both kinds of parallel run (offline episodes in simulator/batch.py, LLM episodes in
simulator/llm_workers.py) start their workers from `worker_context()`:

- **spawn** starts a fresh interpreter per worker that imports the whole stack again (about 1.5 s), and
  `Process.start` blocks while it writes a large shard of tasks into a worker that is still importing, so
  workers come up one after another: 3 s of a 10 s run with two workers (bench/concurrency.py).
- **fork** of the parent is instant but copies whatever the parent holds: threads (a progress bar's
  monitor), open database connections and their locks. Python itself is moving away from it.
- **forkserver** (used here wherever the platform has it): one clean, single-threaded process imports
  the worker modules once; every worker is a fork of it, ready in milliseconds and sharing nothing with
  the parent but what it is sent. `start_worker_server()` starts it early, so its imports overlap the
  parent's own set-up (creating the run, generating or composing its tasks).

A fork of the server has the environment the server started with, not the parent's at `start()`; workers
call `adopt_environment` with a copy of the parent's sent along (an API key set after the server started
must still reach them, as it would under spawn).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # ForkServerContext does not exist on Windows
    from multiprocessing.context import ForkServerContext, SpawnContext

__all__ = ["WORKER_MODULES", "adopt_environment", "start_worker_server", "worker_context"]

# What a worker runs: the fork server imports these (and the parent's main module, as multiprocessing's
# own default preload does) before its first fork. A module that fails to import is skipped by the
# server and imported by the worker that needs it, as under spawn. The last one freezes what the others
# loaded, so that forks never walk it in their collections.
WORKER_MODULES = (
    "__main__",
    "simulator.batch",
    "simulator.llm_workers",
    "roles.endpoint",
    "autogen_ext.models.openai",
    "simulator.fork_server_settle",
)


def worker_context() -> ForkServerContext | SpawnContext:
    """The multiprocessing context workers start from: forkserver where there is one, spawn elsewhere."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")  # Windows
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(WORKER_MODULES))
    return context


def start_worker_server() -> None:
    """Start the fork server now, without waiting for it: it loads the worker modules in its own process
    while the caller goes on, and the first worker started later is forked as soon as it is ready. Once
    started it serves every later run of this process; it exits with the process."""
    if worker_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def adopt_environment(environ: Mapping[str, str]) -> None:
    """In a worker: take the parent's environment and leave Ctrl-C to the parent (which stops the
    workers itself and marks the run interrupted)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.clear()
    os.environ.update(environ)
