"""LLM episodes sharded over worker processes (simulator/llm_shards.py), against the loopback server.

A sharded run stores what an in-process run stores, with the API key of the parent's environment; the
budget is one budget across processes; Ctrl-C, kill -9 of the parent and a dead worker each stop the run
without losing or duplicating anything, and a resume then stores what an uninterrupted run stores.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import POLICY_TASKS
from openai_server import OpenAIServer, serve
from typer.testing import CliRunner
from world_policy import WorldPolicy

from cli import app
from datamodel.models import RoleModel, Roles
from datamodel.run_config import GenerateConfig
from roles.ledger import LedgerEntry, SharedLedger, TokenLedger
from simulator.llm_shards import llm_processes

N = POLICY_TASKS  # up to three processes' worth of tasks at the 16-per-process minimum
ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _args(db: Path, url: str, *extra: str) -> list[str]:
    return [
        "generate", "--n", str(N), "--db", f"sqlite:///{db}", "--assistant-model", "openai:scripted",
        "--tool-model", "openai:scripted", "--base-url", url, "--timeout", "5", "--no-cache", *extra,
    ]  # fmt: skip


def _button(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db, timeout=30) as con:
        return list(con.execute(sql))


CONTENT = (
    "SELECT t.idx, c.status, c.termination, c.n_turns, m.idx, m.role, m.content, m.final_answer, "
    "m.prompt_tokens, m.completion_tokens "
    "FROM conversations c JOIN tasks t ON t.id = c.task_id JOIN messages m ON m.conversation_id = c.id "
    "ORDER BY t.idx, m.idx"
)


def test_processes_follow_workers_tasks_slots_and_local_models() -> None:
    endpoint = Roles(assistant=RoleModel(model="openai:m"))
    assert llm_processes(GenerateConfig(workers=8, concurrency=32, roles=endpoint), 1000) == 4  # 8 slots each
    assert llm_processes(GenerateConfig(workers=8, concurrency=256, roles=endpoint), 40) == 2  # 16 tasks each
    assert llm_processes(GenerateConfig(workers=3, concurrency=256, roles=endpoint), 1000) == 3
    assert llm_processes(GenerateConfig(workers=0, concurrency=256, roles=endpoint), 1000) == 1
    local = Roles(assistant=RoleModel(model="hf:/models/x"), tool=RoleModel(model="openai:m"))
    assert llm_processes(GenerateConfig(workers=8, concurrency=256, roles=local), 1000) == 1


def test_shared_ledger_sums_spend_across_processes_and_hands_over_entries() -> None:
    totals = multiprocessing.get_context("spawn").Array("q", [100, 10])  # spent before (bottom-up)
    ledger = SharedLedger(totals=totals)
    ledger.record("assistant", "simulate", "m", 30, 5, cached=False)
    ledger.record("assistant", "simulate", "m", 0, 0, cached=True)
    totals[0] += 1000  # another process's request
    assert (ledger.prompt_tokens, ledger.completion_tokens) == (1130, 15)
    run = TokenLedger()
    run.record("assistant", "simulate", "m", 1, 1, cached=False)
    run.merge(ledger.take())
    assert ledger.entries == {} and ledger.prompt_tokens == 1130  # handed over; totals stay the run's
    assert run.entries[("assistant", "simulate", "m")] == LedgerEntry(3, 1, 31, 6)


def test_sharded_run_stores_what_an_in_process_run_stores(
    tmp_path: Path, llm_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = tmp_path / "one.db", tmp_path / "two.db"
    monkeypatch.setenv("BUTTON_TEST_KEY", "sk-test-of-the-parent")  # set in this process only
    key = ("--api-key-env", "BUTTON_TEST_KEY")
    _button(*_args(one, llm_server.url, "--workers", "0", *key))
    requests = len(llm_server.requests)
    out = _button(*_args(two, llm_server.url, "--workers", "2", "--concurrency", "16", *key))
    assert "over 2 processes" in out and f"{N} conversations simulated now" in out
    assert len(llm_server.requests) == 2 * requests  # no request lost or repeated
    assert set(llm_server.auth) == {"Bearer sk-test-of-the-parent"}  # the workers saw the parent's key
    assert _rows(one, CONTENT) == _rows(two, CONTENT)
    assert _rows(two, "SELECT COUNT(DISTINCT task_id), COUNT(*) FROM conversations") == [(N, N)]
    assert _rows(two, "SELECT status FROM runs") == [("finished",)]
    # The ledger (merged from the workers) counts every request the server answered.
    ledger = out[out.index("LLM requests and tokens") :]
    total = next(line for line in ledger.splitlines() if "total" in line)
    assert str(requests) in total.replace(",", "").split(), ledger


def test_budget_is_one_budget_across_processes(tmp_path: Path, llm_server: OpenAIServer) -> None:
    db = tmp_path / "run.db"
    budget = 60_000
    out = _button(
        *_args(db, llm_server.url, "--workers", "2", "--concurrency", "16", "--budget-tokens", str(budget))
    )
    assert "budget reached" in out
    spent = _rows(db, "SELECT SUM(prompt_tokens) + SUM(completion_tokens) FROM messages")[0][0]
    assert isinstance(spent, int)
    # Requests already sent when the budget ran out still count: at most one per slot in flight.
    biggest = _rows(db, "SELECT MAX(prompt_tokens + completion_tokens) FROM messages")[0][0]
    assert isinstance(biggest, int)
    assert budget <= spent <= budget + 16 * biggest
    done = _rows(db, "SELECT COUNT(*) FROM conversations")[0][0]
    assert isinstance(done, int) and 0 < done < N
    assert _rows(db, "SELECT status FROM runs") == [("interrupted",)]
    _button("generate", "--resume", "1", "--db", f"sqlite:///{db}", "--workers", "2", "--concurrency", "16")
    assert _rows(db, "SELECT COUNT(DISTINCT task_id), COUNT(*) FROM conversations") == [(N, N)]
    assert _rows(db, "SELECT status FROM runs") == [("finished",)]


def test_a_setup_error_is_reported_once_before_any_worker_starts(tmp_path: Path) -> None:
    args = ["generate", "--n", str(N), "--db", f"sqlite:///{tmp_path / 'run.db'}", "--workers", "2"]
    args += ["--assistant-model", "openai:gpt-4o-mini", "--api-key-env", "BUTTON_TEST_UNSET_KEY"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert result.output.count("needs an API key: set $BUTTON_TEST_UNSET_KEY") == 1, result.output
    assert "worker process" not in result.output and "Traceback" not in result.output


@pytest.fixture(scope="module")
def whole_run(
    world_policy: WorldPolicy, tmp_path_factory: pytest.TempPathFactory
) -> list[tuple[object, ...]]:
    """What an uninterrupted in-process run stores (CONTENT rows)."""
    db = tmp_path_factory.mktemp("whole") / "whole.db"
    with serve(world_policy) as live:
        _button(*_args(db, live.url, "--workers", "0"))
    return _rows(db, CONTENT)


def _children(pid: int) -> dict[int, str]:
    """The processes whose parent is `pid`, with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found[int(entry.name)] = command
    return found


def _workers(pid: int) -> list[int]:
    """The worker processes of a `button generate`: its spawned children (simulator/pool.py), not
    multiprocessing's resource tracker."""
    return sorted(p for p, command in _children(pid).items() if "spawn_main" in command)


def _alive(pid: int) -> bool:
    """Not yet gone (a zombie has ended; only its parent, init here, has not reaped it yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _count(db: Path) -> int:
    try:
        return int(_rows(db, "SELECT COUNT(*) FROM conversations")[0][0])  # type: ignore[call-overload]
    except sqlite3.OperationalError:
        return 0


def _start_sharded(db: Path, url: str) -> subprocess.Popen[bytes]:
    """`button generate --workers 2` in its own process, once it has stored a few conversations."""
    command = [sys.executable, "-m", "cli", *_args(db, url, "--workers", "2")]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while _count(db) < 4:
        assert proc.poll() is None and time.monotonic() < deadline, "no conversation stored in time"
        time.sleep(0.05)
    assert len(_workers(proc.pid)) == 2
    return proc


def test_kill_9_ends_the_workers_and_resume_matches_an_uninterrupted_run(
    tmp_path: Path, world_policy: WorldPolicy, whole_run: list[tuple[object, ...]]
) -> None:
    db = tmp_path / "killed.db"
    with serve(world_policy, latency=0.05) as slow:
        proc = _start_sharded(db, slow.url)
        workers = _workers(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in workers):
            assert time.monotonic() < deadline, "workers outlived their parent"
            time.sleep(0.1)
        assert _count(db) < N
        _button("generate", "--resume", "1", "--db", f"sqlite:///{db}", "--workers", "2")
    assert _rows(db, CONTENT) == whole_run
    assert _rows(db, "SELECT status FROM runs") == [("finished",)]


def test_ctrl_c_stops_the_workers_and_resume_matches_an_uninterrupted_run(
    tmp_path: Path, world_policy: WorldPolicy, whole_run: list[tuple[object, ...]]
) -> None:
    db = tmp_path / "stopped.db"
    with serve(world_policy, latency=0.05) as slow:
        proc = _start_sharded(db, slow.url)
        workers = _workers(proc.pid)
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=180)[0].decode()  # a hang guard, roomy for a loaded machine
        assert proc.returncode == 130, output
        assert "button generate --resume 1" in output and "Traceback" not in output, output
        assert not any(_alive(pid) for pid in workers)
        assert _rows(db, "SELECT status FROM runs") == [("interrupted",)]
        assert _count(db) < N
        _button("generate", "--resume", "1", "--db", f"sqlite:///{db}", "--workers", "2")
    assert _rows(db, CONTENT) == whole_run
    assert _rows(db, "SELECT status FROM runs") == [("finished",)]


def test_a_dead_worker_stops_the_run_cleanly_and_resume_finishes_it(
    tmp_path: Path, world_policy: WorldPolicy, whole_run: list[tuple[object, ...]]
) -> None:
    db = tmp_path / "dead.db"
    with serve(world_policy, latency=0.05) as slow:
        proc = _start_sharded(db, slow.url)
        worker = _workers(proc.pid)[0]
        os.kill(worker, signal.SIGKILL)  # as the out-of-memory killer would
        output = proc.communicate(timeout=180)[0].decode()  # a hang guard, roomy for a loaded machine
        assert proc.returncode == 1, output
        assert "worker process died" in output and "button generate --resume 1" in output, output
        assert "Traceback" not in output
        assert _rows(db, "SELECT status FROM runs") == [("interrupted",)]
        assert _count(db) < N
        _button("generate", "--resume", "1", "--db", f"sqlite:///{db}", "--workers", "2")
    assert _rows(db, CONTENT) == whole_run
    assert _rows(db, "SELECT COUNT(DISTINCT task_id), COUNT(*) FROM conversations") == [(N, N)]
