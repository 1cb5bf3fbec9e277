"""LLM episodes sharded over worker processes (simulator/llm_workers.py), against the loopback server.

A sharded run stores what an in-process run stores; the budget is one budget across processes; kill -9
of the parent ends its workers, and a resume then ends with the same counts as an uninterrupted run.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai_server import OpenAIServer, serve
from typer.testing import CliRunner
from world_policy import WorldPolicy

from roles.ledger import LedgerEntry, SharedLedger, TokenLedger
from roles.model_config import RoleModel
from simulator.cli import app
from simulator.config import GenerateConfig
from simulator.llm_workers import llm_processes

N = 48  # three processes' worth of tasks at the 16-per-process minimum
ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(scope="module")
def policy() -> WorldPolicy:
    return WorldPolicy.for_tasks(N, seed=0)


@pytest.fixture
def server(policy: WorldPolicy) -> Iterator[OpenAIServer]:
    with serve(policy) as live:
        yield live


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
    endpoint = {"assistant": RoleModel(model="openai:m")}
    assert llm_processes(GenerateConfig(workers=8, concurrency=32, roles=endpoint), 1000) == 4  # 8 slots each
    assert llm_processes(GenerateConfig(workers=8, concurrency=256, roles=endpoint), 40) == 2  # 16 tasks each
    assert llm_processes(GenerateConfig(workers=3, concurrency=256, roles=endpoint), 1000) == 3
    assert llm_processes(GenerateConfig(workers=0, concurrency=256, roles=endpoint), 1000) == 1
    local = {"assistant": RoleModel(model="hf:/models/x"), "tool": RoleModel(model="openai:m")}
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


def test_sharded_run_stores_what_an_in_process_run_stores(tmp_path: Path, server: OpenAIServer) -> None:
    one, two = tmp_path / "one.db", tmp_path / "two.db"
    _button(*_args(one, server.url, "--workers", "0"))
    requests = len(server.requests)
    out = _button(*_args(two, server.url, "--workers", "2", "--concurrency", "16"))
    assert "over 2 processes" in out and f"{N} conversations simulated now" in out
    assert len(server.requests) == 2 * requests  # no request lost or repeated
    assert _rows(one, CONTENT) == _rows(two, CONTENT)
    assert _rows(two, "SELECT COUNT(DISTINCT task_id), COUNT(*) FROM conversations") == [(N, N)]
    assert _rows(two, "SELECT status FROM runs") == [("finished",)]
    # The ledger (merged from the workers) counts every request the server answered.
    ledger = out[out.index("LLM requests and tokens") :]
    total = next(line for line in ledger.splitlines() if "total" in line)
    assert str(requests) in total.replace(",", "").split(), ledger


def test_budget_is_one_budget_across_processes(tmp_path: Path, server: OpenAIServer) -> None:
    db = tmp_path / "run.db"
    budget = 60_000
    out = _button(
        *_args(db, server.url, "--workers", "2", "--concurrency", "16", "--budget-tokens", str(budget))
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


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _count(db: Path) -> int:
    try:
        return int(_rows(db, "SELECT COUNT(*) FROM conversations")[0][0])  # type: ignore[call-overload]
    except sqlite3.OperationalError:
        return 0


def test_kill_9_ends_the_workers_and_resume_matches_an_uninterrupted_run(
    tmp_path: Path, policy: WorldPolicy
) -> None:
    whole, killed = tmp_path / "whole.db", tmp_path / "killed.db"
    with serve(policy, latency=0.05) as slow:
        _button(*_args(whole, slow.url, "--workers", "0"))
        command = [sys.executable, "-m", "simulator.cli", *_args(killed, slow.url, "--workers", "2")]
        proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while _count(killed) < 4:
            assert proc.poll() is None and time.monotonic() < deadline, "no conversation stored in time"
            time.sleep(0.05)
        workers = _children(proc.pid)
        assert len(workers) >= 2  # the two workers (and the resource tracker)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(Path(f"/proc/{pid}").exists() and _alive(pid) for pid in workers):
            assert time.monotonic() < deadline, "workers outlived their parent"
            time.sleep(0.1)
        assert _count(killed) < N
        _button("generate", "--resume", "1", "--db", f"sqlite:///{killed}", "--workers", "2")
    assert _rows(killed, CONTENT) == _rows(whole, CONTENT)
    assert _rows(killed, "SELECT status FROM runs") == [("finished",)]


def _alive(pid: int) -> bool:
    """Not yet gone (a zombie has ended; only its parent, init here, has not reaped it yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
