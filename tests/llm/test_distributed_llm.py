"""Distributed runs with LLM roles: `button worker` subprocesses on the throw-away PostgreSQL against the
scripted loopback endpoint.

A distributed evaluation stores the metrics a local one stores (every row and the summary), and the
run's --concurrency is one request limit for every worker together: two workers share it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from openai_server import OpenAIServer, serve
from typer.testing import CliRunner
from world_policy import WorldPolicy

from cli import app
from db.engine import ensure_schema, make_engine

pytestmark = pytest.mark.postgresql
runner = CliRunner()

METRICS = (
    "SELECT t.idx, r.strategy, r.n_subtasks, r.success, r.progress, r.required_steps, r.correct_steps, "
    "r.n_calls, r.valid_calls, r.n_assistant_turns, r.format_errors, r.n_turns, r.call_turns, "
    "r.parallel_turns, r.answered, r.termination, r.behaviour, r.look_alike, r.behaviour_passed, "
    "r.twin_passed FROM eval_results r JOIN tasks t ON t.id = r.task_id ORDER BY t.idx"
)


_rows = sys.modules["button_tests_pg"].rows  # tests/pg.py, loaded by conftest


@contextmanager
def _workers(url: str, tmp_path: Path, count: int, jobs: int) -> Iterator[None]:
    """`count` worker processes (each `jobs` jobs at once), stopped with Ctrl-C; each must leave cleanly."""
    engine = make_engine(url)
    ensure_schema(engine)  # before the processes race to create it
    engine.dispose()
    command = [sys.executable, "-m", "cli", "worker", "--db", url, "--stalled-after", "8"]
    command += ["--concurrency", str(jobs)]
    logs = [tmp_path / f"worker{i}.log" for i in range(count)]
    procs = [subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT) for log in logs]
    try:
        deadline = time.monotonic() + 60
        while _rows(url, "SELECT COUNT(*) FROM procrastinate_workers")[0][0] < count:  # all live
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "no worker up"
            time.sleep(0.1)
        yield
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        codes = [proc.wait(timeout=60) for proc in procs]
        outputs = [log.read_text() for log in logs]
        assert codes == [0] * count and not any("Traceback" in out for out in outputs), outputs


def _eval(url: str, server: OpenAIServer, *extra: str) -> str:
    result = runner.invoke(
        app,
        ["eval", "--model", "openai:scripted", "--base-url", server.url, "--seed", "0", "--n", "16",
         "--no-cache", "--db", url, *extra],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output


def test_a_distributed_evaluation_stores_what_a_local_one_stores(
    pg_url: str, pg_cluster: Any, plain_server: OpenAIServer, tmp_path: Path
) -> None:
    fresh_database = sys.modules["button_tests_pg"].fresh_database  # tests/pg.py, loaded by conftest
    with _workers(pg_url, tmp_path, 2, jobs=1):
        out = _eval(pg_url, plain_server, "--distributed", "--no-work")
    assert "button worker --db " + pg_url in out and "scripted" in out, out
    assert _rows(pg_url, "SELECT status FROM runs") == [("finished",)]
    assert _rows(pg_url, "SELECT COUNT(*) FROM conversations WHERE worker IS NULL") == [(0,)]
    with fresh_database(pg_cluster) as local_url:
        _eval(local_url, plain_server)
        assert _rows(pg_url, METRICS) == _rows(local_url, METRICS)
        assert len(_rows(local_url, METRICS)) == 16
        summary = "SELECT summary::text FROM eval_runs"
        assert _rows(pg_url, summary) == _rows(local_url, summary)


def test_two_workers_share_the_runs_request_limit(
    pg_url: str, world_policy: WorldPolicy, tmp_path: Path
) -> None:
    """Unshared, each job would have the run's 4 requests in flight (16 with two workers of two jobs);
    shared among the two live workers, they have 4 between them."""
    limit = 4
    with serve(world_policy, latency=0.2) as server, _workers(pg_url, tmp_path, 2, jobs=2):
        result = runner.invoke(
            app,
            ["generate", "--distributed", "--no-work", "--n", "48", "--db", pg_url,
             "--assistant-model", "openai:scripted", "--tool-model", "openai:scripted",
             "--base-url", server.url, "--no-cache", "--concurrency", str(limit)],
        )  # fmt: skip
        assert result.exit_code == 0 and "run 1 finished: 48 conversations" in result.output, result.output
    # at most the limit between them; how close to it the peak gets depends on how busy the machine is
    assert 1 < server.peak_in_flight <= limit, server.peak_in_flight
    assert len(_rows(pg_url, "SELECT DISTINCT worker FROM conversations")) == 2


def test_a_distributed_evaluation_here_alone_and_one_stopped_by_its_budget(
    pg_url: str, plain_server: OpenAIServer
) -> None:
    """`--distributed` without other workers: this process works on its own evaluation and prints the
    table a local one prints; a spent budget ends it like a local evaluation, with the report of what
    was scored."""
    out = _eval(pg_url, plain_server, "--distributed")
    assert "evaluation (held-out tasks, no sub-task hints)" in out and "100.0" in out, out
    assert _rows(pg_url, "SELECT COUNT(*), COUNT(summary) FROM eval_runs JOIN runs ON runs.id = run_id "
                 "WHERE runs.status = 'finished'") == [(1, 1)]  # fmt: skip
    out = _eval(pg_url, plain_server, "--distributed", "--llm.budget-tokens", "3000")
    assert "budget reached" in out and "evaluation (held-out tasks" in out, out
    scored, runs = (
        _rows(pg_url, "SELECT COUNT(*) FROM eval_results"),
        _rows(pg_url, "SELECT status FROM runs"),
    )
    assert 16 < scored[0][0] < 32 and runs == [("finished",), ("finished",)], (scored, runs)
