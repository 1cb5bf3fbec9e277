"""Runs spread over `button worker` processes on the throw-away PostgreSQL (offline roles, loopback only).

Two worker subprocesses stand in for two machines: the stored dataset equals an in-process run with the
same seed; a worker killed with -9 mid-run leaves its jobs to the other: every task stored once. The
queue's schema comes and goes with migration 0011; SQLite is refused with one line.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from cli import app
from db.engine import downgrade, ensure_schema, make_engine, migrate, session_factory
from db.reports import job_queue

pytestmark = pytest.mark.postgresql
runner = CliRunner()
# Seconds without a heartbeat before a worker counts as dead: a killed one's jobs are back soon, and a
# live one on a loaded machine (its heartbeat late) is not taken for dead.
STALLED_AFTER = "8"

CONTENT = (
    "SELECT t.idx, t.instruction, t.answer_text, c.status, c.rejected_by, c.termination, c.n_turns, "
    "c.n_calls, c.final_answer, m.idx, m.role, m.content, m.final_answer "
    "FROM conversations c JOIN tasks t ON t.id = c.task_id JOIN messages m ON m.conversation_id = c.id "
    "ORDER BY t.idx, m.idx"
)


def _button(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


_rows = sys.modules["button_tests_pg"].rows  # tests/pg.py, loaded by conftest


def _worker(url: str, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "cli", "worker", "--db", url, "--stalled-after", STALLED_AFTER, *extra]
    return subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT)


@contextmanager
def _workers(url: str, tmp_path: Path, count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` worker processes, stopped with Ctrl-C at the end (each must leave cleanly)."""
    procs = [_worker(url, tmp_path / f"worker{i}.log", "--concurrency", "2") for i in range(count)]
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        codes = [proc.wait(timeout=60) for proc in procs]
        logs = [(tmp_path / f"worker{i}.log").read_text() for i in range(count)]
        for code, out in zip(codes, logs, strict=True):
            assert code in (0, -signal.SIGKILL), out
            assert "Traceback" not in out, out


def _wait(url: str, sql: str, at_least: int, procs: list[subprocess.Popen[bytes]], **params: Any) -> None:
    deadline = time.monotonic() + 120
    while _rows(url, sql, **params)[0][0] < at_least:
        assert all(p.poll() is None for p in procs), "a worker stopped early"
        assert time.monotonic() < deadline, f"{sql}: fewer than {at_least} in time"
        time.sleep(0.1)


def test_two_workers_store_what_one_local_run_stores(pg_url: str, pg_cluster: Any, tmp_path: Path) -> None:
    fresh_database = sys.modules["button_tests_pg"].fresh_database  # tests/pg.py, loaded by conftest

    with _workers(pg_url, tmp_path, 2):
        code, out = _button(
            "generate",
            "--distributed",
            "--no-work",
            "--n",
            "40",
            "--seed",
            "3",
            "--db",
            pg_url,
        )
    assert code == 0, out
    assert "button worker --db " + pg_url in out and "run 1 finished: 40 conversations" in out
    with fresh_database(pg_cluster) as local_url:
        code, out = _button("generate", "--n", "40", "--seed", "3", "--workers", "0", "--db", local_url)
        assert code == 0, out
        assert _rows(pg_url, CONTENT) == _rows(local_url, CONTENT)
        assert len({row[0] for row in _rows(local_url, CONTENT)}) == 40
    workers = _rows(pg_url, "SELECT DISTINCT worker FROM conversations")
    assert all(w is not None and w.startswith(socket.gethostname() + ":") for (w,) in workers)
    assert _rows(pg_url, "SELECT status FROM runs") == [("finished",)]
    code, out = _button("stats", "--db", pg_url, "--run", "1")
    assert code == 0 and "Conversations by worker" in out and "Job queue" in out, out


def test_a_killed_worker_leaves_its_jobs_to_the_other(pg_url: str, tmp_path: Path) -> None:
    n = 160
    engine = make_engine(pg_url)
    ensure_schema(engine)  # before the processes race to create it
    engine.dispose()
    watch = subprocess.Popen(
        [sys.executable, "-m", "cli", "generate", "--distributed", "--no-work", "--n", str(n), "--seed", "5",
         "--db", pg_url],
        stdout=(tmp_path / "generate.log").open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    first = _worker(pg_url, tmp_path / "first.log", "--concurrency", "2")
    try:
        name = f"{socket.gethostname()}:{first.pid}"
        _wait(pg_url, "SELECT COUNT(*) FROM conversations WHERE worker = :w", 8, [first, watch], w=name)
        # mid-run, holding a job: it is the only worker, so every job in progress is its own
        _wait(pg_url, "SELECT COUNT(*) FROM procrastinate_jobs WHERE status = 'doing'", 1, [first, watch])
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        held = [row[0] for row in _rows(pg_url, "SELECT id FROM procrastinate_jobs WHERE status = 'doing'")]
        assert held, "the killed worker held no job"
        with _workers(pg_url, tmp_path, 1) as survivors:
            assert watch.wait(timeout=180) == 0, (tmp_path / "generate.log").read_text()
            # the run can finish before the sweep hands back a killed job whose episodes it had all
            # stored; the sweep still does, and the job then finds them stored
            _wait(pg_url, "SELECT 1 - LEAST(COUNT(*), 1) FROM procrastinate_jobs WHERE status = 'doing'",
                  1, survivors)  # fmt: skip
    finally:
        for proc in (first, watch):
            if proc.poll() is None:
                proc.kill()
    assert _rows(pg_url, "SELECT COUNT(*), COUNT(DISTINCT task_id) FROM conversations") == [(n, n)]
    assert _rows(pg_url, "SELECT status FROM runs") == [("finished",)]
    states = dict(_rows(pg_url, "SELECT status::text, COUNT(*) FROM procrastinate_jobs GROUP BY status"))
    assert states == {"succeeded": n // 8}
    # every job the killed worker held was started again (attempts counts starts) by the other
    restarted = _rows(pg_url, "SELECT id, attempts FROM procrastinate_jobs WHERE id = ANY(:ids)", ids=held)
    assert sorted(restarted) == [(job, 2) for job in sorted(held)], restarted
    stored_by = dict(_rows(pg_url, "SELECT worker, COUNT(*) FROM conversations GROUP BY worker"))
    assert len(stored_by) == 2 and stored_by[name] < n
    # what `button stats` shows: every job done, every task stored once, none left
    engine = make_engine(pg_url)
    with session_factory(engine)() as session:
        assert job_queue(session, 1).rows == [(1, 0, 0, n // 8, 0, n, n, 0)]
    engine.dispose()


def test_generate_works_on_its_own_run_without_other_workers(pg_url: str) -> None:
    code, out = _button("generate", "--distributed", "--n", "12", "--seed", "4", "--db", pg_url)
    assert code == 0 and "run 1 finished: 12 conversations" in out, out
    here = f"{socket.gethostname()}:{os.getpid()}"
    assert _rows(pg_url, "SELECT worker, COUNT(*) FROM conversations GROUP BY worker") == [(here, 12)]


def test_an_episode_another_worker_committed_first_is_dropped(pg_url: str) -> None:
    """The unique key on (run, task), inside the storing transaction, drops what another attempt or
    worker committed first."""
    from datamodel.run_config import GenerateConfig
    from db import store
    from db.engine import session_factory
    from simulator import distributed_jobs
    from simulator.batch import prepare_run, simulate_chunk

    engine = make_engine(pg_url)
    ensure_schema(engine)
    sessions = session_factory(engine)
    run_id, config = prepare_run(sessions, GenerateConfig(n=1, seed=6, workers=0))
    with sessions() as session:
        pending = store.pending_tasks(session, run_id)
    outcome = simulate_chunk(pending, config)[0]
    assert distributed_jobs.store_once(sessions, run_id, outcome, "a:1")
    assert not distributed_jobs.store_once(sessions, run_id, outcome, "b:2")  # refused by the key
    assert not distributed_jobs.store_once(sessions, run_id, outcome, "c:3")  # and again
    assert _rows(pg_url, "SELECT worker FROM conversations") == [("a:1",)]
    assert distributed_jobs.finish_if_complete(sessions, run_id)
    engine.dispose()


def test_distributed_runs_refuse_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'button.db'}"
    for args in (("generate", "--distributed", "--n", "4"), ("worker",), ("generate", "--no-work")):
        code, out = _button(*args, "--db", url)
        assert code == 1 and out.startswith("error:") and len(out.strip().splitlines()) == 1, (args, out)
    assert not (tmp_path / "button.db").exists()


QUEUE_OBJECTS = """
    SELECT COUNT(*) FROM (
        SELECT relname FROM pg_class WHERE relname LIKE 'procrastinate%'
        UNION ALL SELECT proname FROM pg_proc WHERE proname LIKE 'procrastinate%'
        UNION ALL SELECT typname FROM pg_type WHERE typname LIKE '%procrastinate%'
    ) AS queue"""


def test_the_queue_comes_and_goes_with_migration_0011(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    postgresql = engine.dialect.name == "postgresql"
    assert "worker" in {c["name"] for c in inspect(engine).get_columns("conversations")}
    if postgresql:
        assert {"procrastinate_jobs", "procrastinate_workers"} <= set(inspect(engine).get_table_names())
    downgrade(engine, "0010")
    assert "worker" not in {c["name"] for c in inspect(engine).get_columns("conversations")}
    if postgresql:
        with engine.connect() as connection:
            assert connection.execute(text(QUEUE_OBJECTS)).scalar_one() == 0
    migrate(engine)
    if postgresql:
        with engine.connect() as connection:
            assert connection.execute(text(QUEUE_OBJECTS)).scalar_one() > 0
    engine.dispose()


def test_single_machine_commands_do_not_import_the_queue() -> None:
    command = [sys.executable, "-X", "importtime", "-m", "cli", "--help"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "procrastinate" not in done.stderr


def test_a_workers_requests_count_in_the_others_budget_before_any_episode_is_stored(pg_url: str) -> None:
    """Two workers' shares of one run: what one asks the endpoint for reaches the other's ledger at the
    next exchange (about a second), with nothing stored, so both budgets see the whole run's requests."""
    import asyncio

    from datamodel.run_config import GenerateConfig
    from db.distributed_store import record_spend
    from roles.ledger import Budget
    from simulator.batch import prepare_run
    from simulator.distributed import RunShares

    engine = make_engine(pg_url)
    ensure_schema(engine)
    sessions = session_factory(engine)
    run_id, _ = prepare_run(sessions, GenerateConfig(n=2, seed=8, workers=0))
    budget = Budget(tokens=1_000)

    async def both() -> None:
        first, second = RunShares(sessions, 30.0, "a:1"), RunShares(sessions, 30.0, "b:2")
        async with first.use(run_id, 8) as mine, second.use(run_id, 8) as theirs:
            mine.ledger.record("assistant", "simulate", "m", 700, 100, cached=False)
            assert not budget.exhausted(theirs.ledger)
            await first.refresh()  # writes a:1's spend
            await second.refresh()  # reads it
            assert theirs.ledger.prompt_tokens == 700 and not budget.exhausted(theirs.ledger)
            theirs.ledger.record("assistant", "simulate", "m", 150, 50, cached=False)
            assert budget.exhausted(theirs.ledger)  # 700 + 100 + 150 + 50
            await second.refresh()
            await first.refresh()
            assert budget.exhausted(mine.ledger)

    asyncio.run(both())
    spent = _rows(pg_url, "SELECT worker, prompt_tokens, completion_tokens FROM worker_spend ORDER BY worker")
    # host:pid and a part of each process's own (a restarted container may reuse both)
    assert [(w.rsplit(":", 1)[0], p, c) for w, p, c in spent] == [("a:1", 700, 100), ("b:2", 150, 50)]
    with sessions.begin() as session:  # totals never go down, whichever write commits last
        record_spend(session, run_id, spent[0][0], 10, 10)
    assert _rows(pg_url, "SELECT prompt_tokens, completion_tokens FROM worker_spend ORDER BY worker")[0] == (
        700,
        100,
    )
    assert _rows(pg_url, "SELECT COUNT(*) FROM conversations") == [(0,)]
    engine.dispose()


def test_a_worker_whose_database_is_gone_leaves_with_one_line(pg_cluster: Any, tmp_path: Path) -> None:
    """The queue's connection pool retries for a while (30 s), then the worker exits 1 with one
    `error:` line that says the database was lost, and no traceback."""
    import psycopg

    fresh_database = sys.modules["button_tests_pg"].fresh_database
    log = tmp_path / "worker.log"
    with fresh_database(pg_cluster) as url:
        engine = make_engine(url)
        ensure_schema(engine)
        engine.dispose()
        worker = _worker(url, log)
        try:
            _wait(url, "SELECT COUNT(*) FROM procrastinate_workers", 1, [worker])
            with psycopg.connect(pg_cluster.conninfo(), autocommit=True) as connection:
                connection.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
            code = worker.wait(timeout=180)
        finally:
            if worker.poll() is None:
                worker.kill()
    out = log.read_text()
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert code == 1 and "Traceback" not in out, out
    assert len(errors) == 1 and "lost the database" in errors[0], out
