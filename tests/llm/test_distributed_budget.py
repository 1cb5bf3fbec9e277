"""One token budget across `button worker` processes, against the scripted loopback endpoint.

Two worker subprocesses simulate a distributed LLM run on the throw-away PostgreSQL; the run's spend is
what its workers have asked for, each writing its own and reading the others' about once a second
(`worker_spend`): when it reaches the budget both stop, and the run is left interrupted and resumable.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import POLICY_TASKS
from openai_server import OpenAIServer
from typer.testing import CliRunner

from cli import app

pytestmark = pytest.mark.postgresql
runner = CliRunner()
BUDGET = 20_000  # spent by the first jobs of the two workers, well before the last tasks start
JOBS_PER_WORKER = 2
REQUESTS_PER_JOB = 8  # the run's --concurrency (shared by the two workers): episodes in flight per job


_rows = sys.modules["button_tests_pg"].rows  # tests/pg.py, loaded by conftest


def test_a_budget_spent_across_two_workers_stops_both(
    pg_url: str, llm_server: OpenAIServer, tmp_path: Path
) -> None:
    command = [sys.executable, "-m", "cli", "worker", "--db", pg_url, "--stalled-after", "8"]
    command += ["--concurrency", str(JOBS_PER_WORKER)]
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    workers = [subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT) for log in logs]
    try:
        result = runner.invoke(
            app,
            ["generate", "--distributed", "--no-work", "--n", str(POLICY_TASKS), "--db", pg_url,
             "--assistant-model", "openai:scripted", "--tool-model", "openai:scripted",
             "--base-url", llm_server.url, "--timeout", "5", "--no-cache", "--concurrency",
             str(REQUESTS_PER_JOB), "--budget-tokens", str(BUDGET)],
        )  # fmt: skip
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGINT)
        codes = [worker.wait(timeout=60) for worker in workers]
    outputs = [log.read_text() for log in logs]
    assert codes == [0, 0] and not any("Traceback" in out for out in outputs), outputs
    assert result.exit_code == 0 and "budget reached" in result.output, result.output
    spent, biggest = _rows(
        pg_url,
        "SELECT SUM(n), MAX(n) FROM (SELECT SUM(prompt_tokens + completion_tokens) AS n FROM messages "
        "GROUP BY conversation_id) AS per_conversation",
    )[0]
    requested = _rows(
        pg_url, "SELECT COUNT(*), SUM(prompt_tokens + completion_tokens) FROM worker_spend GROUP BY run_id"
    )
    assert requested[0][0] == 2 and BUDGET <= spent <= requested[0][1], requested  # both wrote theirs
    # What was stored past the budget is at most the episodes in flight when it was reached (each
    # worker stops sending within a second of the other's requests; the episodes they were in finish).
    in_flight = 2 * JOBS_PER_WORKER * REQUESTS_PER_JOB
    assert spent <= BUDGET + in_flight * biggest
    stored = _rows(pg_url, "SELECT COUNT(*), COUNT(DISTINCT task_id) FROM conversations")[0]
    assert stored[0] == stored[1] and 0 < stored[0] < POLICY_TASKS
    assert _rows(pg_url, "SELECT status FROM runs") == [("interrupted",)]
    assert len(_rows(pg_url, "SELECT DISTINCT worker FROM conversations")) == 2
