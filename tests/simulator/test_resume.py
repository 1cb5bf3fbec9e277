"""Interrupting `button generate` (kill -9, Ctrl-C, a dead worker) then --resume: nothing lost, nothing
duplicated."""

from __future__ import annotations

import gc
import os
import signal
import sqlite3
import subprocess
import sys
import time
import weakref
from pathlib import Path
from typing import Any

import pytest

N = 160
CTRL_C_N = 1200


def _start(db: Path, *extra: str, n: int = N) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "cli",
        "generate",
        "--n",
        str(n),
        "--seed",
        "11",
        "--db",
        f"sqlite:///{db}",
        "--concurrency",
        "2",
        *extra,
    ]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _count(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db, timeout=30) as con:
        try:
            return int(con.execute(sql).fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def _wait_for_conversations(db: Path, proc: subprocess.Popen[bytes], at_least: int) -> None:
    deadline = time.monotonic() + 120
    while _count(db, "SELECT COUNT(*) FROM conversations") < at_least:
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        assert time.monotonic() < deadline, "no conversations stored in time"
        time.sleep(0.05)


def _resume_and_check(db: Path, n: int = N) -> None:
    resumed = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "generate",
            "--resume",
            "1",
            "--db",
            f"sqlite:///{db}",
            "--workers",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert _count(db, "SELECT COUNT(*) FROM tasks") == n
    assert _count(db, "SELECT COUNT(*) FROM conversations") == n
    assert _count(db, "SELECT COUNT(DISTINCT task_id) FROM conversations") == n
    assert _count(db, "SELECT COUNT(*) FROM conversations WHERE status = 'accepted'") == n
    assert _count(db, "SELECT COUNT(*) FROM runs") == 1
    assert _count(db, "SELECT COUNT(*) FROM runs WHERE status = 'finished'") == 1
    orphans = (
        "SELECT COUNT(*) FROM messages m LEFT JOIN conversations c ON c.id = m.conversation_id "
        "WHERE c.id IS NULL"
    )
    assert _count(db, orphans) == 0


def test_kill_9_then_resume(tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    proc = _start(db, "--workers", "0")
    _wait_for_conversations(db, proc, 10)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert _count(db, "SELECT COUNT(*) FROM conversations") < N
    _resume_and_check(db)


def test_ctrl_c_marks_run_interrupted_then_resume(tmp_path: Path) -> None:
    db = tmp_path / "interrupted.db"
    # Large enough that the run is still going when Ctrl-C lands, however loaded the machine is:
    # results come back a chunk at a time, so a small run can finish between two polls.
    proc = _start(db, "--workers", "1", n=CTRL_C_N)
    _wait_for_conversations(db, proc, 10)
    proc.send_signal(signal.SIGINT)
    output = proc.communicate(timeout=180)[0].decode()  # a hang guard, roomy for a loaded machine
    assert proc.returncode == 130, output
    assert "button generate --resume 1" in output
    assert "Traceback" not in output
    assert _count(db, "SELECT COUNT(*) FROM runs WHERE status = 'interrupted'") == 1
    _resume_and_check(db, CTRL_C_N)


def _workers(pid: int) -> list[int]:
    """The worker processes of `pid` (spawned by simulator/pool.py; not multiprocessing's resource
    tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:  # not a process, or ended meanwhile
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"spawn_main" in command:
            found.append(int(entry.name))
    return found


def test_a_dead_worker_stops_the_run_as_interrupted_then_resume(tmp_path: Path) -> None:
    db = tmp_path / "dead.db"
    proc = _start(db, "--workers", "2", n=CTRL_C_N)
    _wait_for_conversations(db, proc, 10)
    workers = _workers(proc.pid)
    assert workers, "no worker process found"
    os.kill(workers[0], signal.SIGKILL)  # as the out-of-memory killer would
    output = proc.communicate(timeout=180)[0].decode()  # a hang guard, roomy for a loaded machine
    assert proc.returncode == 1, output
    assert "worker process died" in output and "button generate --resume 1" in output, output
    assert "Traceback" not in output
    assert _count(db, "SELECT COUNT(*) FROM runs WHERE status = 'interrupted'") == 1
    _resume_and_check(db, CTRL_C_N)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_while_tasks_are_stored_leaves_a_resumable_run(tmp_path: Path, signum: int) -> None:
    """Ctrl-C (or SIGTERM) before the first conversation, while the run's tasks are being made: the run
    exists, so it is marked interrupted and named (it used to stay 'running', and the hint said RUN)."""
    db = tmp_path / "early.db"
    n = 20_000  # storing its tasks takes far longer than the wait below
    proc = _start(db, "--workers", "0", n=n)
    deadline = time.monotonic() + 120
    while _count(db, "SELECT COUNT(*) FROM tasks") == 0:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signum)
    output = proc.communicate(timeout=180)[0].decode()  # a hang guard, roomy for a loaded machine
    assert proc.returncode == 130, output
    assert "button generate --resume 1" in output and "Traceback" not in output, output
    assert _count(db, "SELECT COUNT(*) FROM runs WHERE status = 'interrupted'") == 1
    assert 0 < _count(db, "SELECT COUNT(*) FROM tasks") < n
    assert _count(db, "SELECT COUNT(*) FROM conversations") == 0


def test_a_stop_python_swallowed_still_stops_the_run_after_the_next_episode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A KeyboardInterrupt raised inside a weakref callback (garbage collection runs them at any
    bytecode) is only handed to sys.unraisablehook by Python; the stop must still happen, at the next
    stored episode, and its traceback is not printed (CI once showed one above the resume hint)."""
    from datamodel.run_config import GenerateConfig
    from db.engine import ensure_schema, make_engine, session_factory
    from simulator.batch import prepare_run, simulate_pending
    from simulator.stopping import stop_on_signals

    engine = make_engine(f"sqlite:///{tmp_path / 'swallowed.db'}")
    ensure_schema(engine)
    sessions = session_factory(engine)
    run_id, config = prepare_run(sessions, GenerateConfig(n=6, seed=5, workers=0))
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    reported: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)  # the hook before ours
    try:
        stop_on_signals()
        handler = signal.getsignal(signal.SIGINT)
        assert callable(handler)

        class Collected:
            pass

        def failing(_ref: object) -> None:
            raise ValueError("not a stop")

        thing, other = Collected(), Collected()
        watch = weakref.ref(thing, lambda _ref: handler(signal.SIGINT, None))
        also = weakref.ref(other, failing)
        del thing, other  # the callbacks' exceptions go to sys.unraisablehook, not to us
        gc.collect()
        # the stop is remembered, so its traceback is not printed; other unraisables still are
        assert watch() is None and also() is None
        assert [type(u.exc_value) for u in reported] == [ValueError]
        with pytest.raises(KeyboardInterrupt):
            simulate_pending(sessions, run_id, config)
    finally:
        for signum, earlier in previous.items():
            signal.signal(signum, earlier)
    stored = _count(tmp_path / "swallowed.db", "SELECT COUNT(*) FROM conversations")
    assert stored == 1
    assert _count(tmp_path / "swallowed.db", "SELECT COUNT(*) FROM runs WHERE status = 'interrupted'") == 1
    engine.dispose()


def test_sigterm_during_an_evaluation_leaves_it_resumable(tmp_path: Path) -> None:
    """A batch scheduler's SIGTERM (or Ctrl-C) stops `button eval` as it stops `button generate`: every
    scored conversation is kept, the run is marked interrupted, and --resume finishes it."""
    db = tmp_path / "eval.db"
    n = 600
    command = [
        sys.executable,
        "-m",
        "cli",
        "eval",
        "--model",
        "offline",
        "--n",
        str(n),
        "--db",
        f"sqlite:///{db}",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while _count(db, "SELECT COUNT(*) FROM eval_results") < 5:
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        assert time.monotonic() < deadline, "no evaluation stored in time"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    output = proc.communicate(timeout=180)[0].decode()  # a hang guard, roomy for a loaded machine
    assert proc.returncode == 130, output
    assert "button eval --resume 1" in output and "Traceback" not in output, output
    assert _count(db, "SELECT COUNT(*) FROM runs WHERE status = 'interrupted'") == 1
    assert _count(db, "SELECT COUNT(*) FROM eval_results") < n
    resumed = subprocess.run(
        [sys.executable, "-m", "cli", "eval", "--resume", "1", "--db", f"sqlite:///{db}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert _count(db, "SELECT COUNT(*) FROM eval_results") == n
    assert _count(db, "SELECT COUNT(*) FROM runs WHERE status = 'finished'") == 1
