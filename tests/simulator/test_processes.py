"""Worker processes come from a fork server (simulator/processes.py) and still see the parent's world."""

from __future__ import annotations

import gc
import os

import pytest

from simulator.processes import adopt_environment, start_worker_server, worker_context


def test_a_worker_sees_the_environment_of_its_start_not_of_the_servers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    start_worker_server()
    monkeypatch.setenv("BUTTON_PROCESSES_PROBE", "set after the server started")
    environ = dict(os.environ)
    with worker_context().Pool(1, initializer=adopt_environment, initargs=(environ,)) as pool:
        seen = pool.apply(os.getenv, ("BUTTON_PROCESSES_PROBE",))
        pid = pool.apply(os.getpid)
    assert seen == "set after the server started"
    assert pid != os.getpid()


def test_workers_fork_from_a_server_where_the_platform_has_one() -> None:
    expected = "forkserver" if os.name == "posix" else "spawn"
    assert worker_context().get_start_method() == expected


def test_a_worker_starts_with_what_the_server_loaded_frozen() -> None:
    """Collections in a worker leave the server's modules alone (simulator/fork_server_settle.py)."""
    if worker_context().get_start_method() != "forkserver":
        pytest.skip("no fork server on this platform")
    start_worker_server()
    with worker_context().Pool(1) as pool:
        frozen = pool.apply(gc.get_freeze_count)
    assert frozen > 10_000
