"""The worker pool (simulator/pool.py), with real processes: what a worker sees and how it ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from simulator.pool import WORKER_CONTEXT, send, worker_pool, worker_shared

ROOT = Path(__file__).resolve().parents[2]


def test_workers_are_spawned() -> None:
    assert WORKER_CONTEXT.get_start_method() == "spawn"


def test_a_worker_sees_the_environment_of_its_start_and_what_the_pool_shares(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BUTTON_POOL_PROBE", "set before the pool started")
    with worker_pool(1, {"run": 7}) as pool:
        seen = pool.submit(os.getenv, "BUTTON_POOL_PROBE").result()
        shared = pool.submit(worker_shared).result()
        pid = pool.submit(os.getpid).result()
    assert seen == "set before the pool started"
    assert shared == {"run": 7} and worker_shared() is None
    assert pid != os.getpid()


def test_every_message_a_job_sends_reaches_the_parent() -> None:
    with worker_pool(2) as pool:
        jobs = [pool.submit(send, ("message", i)) for i in range(20)]
        received = [pool.next_message(timeout=60) for _ in jobs]
    assert sorted(received) == [("message", i) for i in range(20)]


def test_a_worker_killed_while_it_sends_breaks_the_pool_and_closing_it_returns() -> None:
    """A worker killed halfway through a message leaves half of it in the pipe: the pool still reports
    the dead worker, and leaving it does not wait for the rest."""
    with worker_pool(1) as pool:
        pid = pool.submit(os.getpid).result()
        pool.submit(send, b"x" * 64_000_000).result()  # returns at once; the worker's queue writes on
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(BrokenProcessPool):
            pool.submit(os.getpid).result(timeout=60)


def test_a_worker_ignores_ctrl_c() -> None:
    """Ctrl-C is the parent's to handle (it stops the run); a worker that got it goes on."""
    with worker_pool(1) as pool:
        pid = pool.submit(os.getpid).result()
        pool.submit(signal.raise_signal, signal.SIGINT).result()
        assert pool.submit(os.getpid).result() == pid


def _alive(pid: int) -> bool:
    """Not yet gone (a zombie has ended; only its new parent has not reaped it yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


PARENT = """
import os, time
from simulator.pool import worker_pool
with worker_pool(1) as pool:
    print(pool.submit(os.getpid).result(), flush=True)
    pool.submit(time.sleep, 300)
    time.sleep(300)
"""


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads /proc")
def test_a_worker_ends_when_its_parent_is_killed() -> None:
    # stderr: the killed parent's resource tracker reports the pool's semaphores it cleans up.
    command = [sys.executable, "-c", PARENT]
    parent = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert parent.stdout is not None
    worker = int(parent.stdout.readline())
    assert _alive(worker)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=30)
    deadline = time.monotonic() + 30
    while _alive(worker):
        assert time.monotonic() < deadline, "the worker outlived its parent"
        time.sleep(0.1)
