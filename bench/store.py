"""Time the store's hot path: N add_conversation calls, one transaction each (not a test).

    .venv/bin/python bench/store.py [--n 2000] [--url sqlite:///...]

Each conversation has 10 turns, 4 calls and 7 checks, like the main job's. Prints conversations per
second for writing, and for reading back with iter_conversations.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

from datamodel.trajectory import AssistantTurn, ToolCall, ToolResult, ToolTurn, Trajectory, UserTurn
from db import store
from db.engine import ensure_schema, make_engine, session_factory


def _samples() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_db_samples", Path(__file__).resolve().parents[1] / "tests" / "db" / "db_samples.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _trajectory(samples: ModuleType) -> Trajectory:
    """The sample's 6 turns and 3 calls, plus a follow-up question, a fourth call and its answer."""
    base = samples.sample_trajectory()
    call = ToolCall(id="c4", name="get_publication_year", arguments={"title": "Emma"})
    extra = [
        UserTurn(content="And for Emma?"),
        AssistantTurn(content="Looking it up.", tool_calls=[call]),
        ToolTurn(
            results=[
                ToolResult(call_id="c4", name=call.name, arguments=call.arguments, results={"year": "1815"})
            ]
        ),
        AssistantTurn(final_answer="Emma came out in 1815."),
    ]
    return base.model_copy(update={"turns": [*base.turns[:-1], *extra]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--url", default=None, help="database URL (default: a SQLite file in a temp dir)")
    args = parser.parse_args()
    samples = _samples()
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(args.url or f"sqlite:///{folder}/bench.db")
        ensure_schema(engine)
        sessions = session_factory(engine)
        trajectory, checks = _trajectory(samples), samples.all_passed()
        with sessions.begin() as session:
            run_id = store.create_run(
                session, kind="bench", seed=0, n_requested=args.n, config={}, versions={}
            )
            task_ids = store.add_tasks(
                session, run_id, [samples.sample_task(f"Book {i}") for i in range(args.n)]
            )
        start = time.perf_counter()
        for task_id in task_ids:
            with sessions.begin() as session:
                store.add_conversation(
                    session,
                    run_id=run_id,
                    task_id=task_id,
                    trajectory=trajectory,
                    checks=checks,
                    models={"assistant": "offline"},
                )
        written = time.perf_counter() - start
        start = time.perf_counter()
        with sessions() as session:
            count = sum(1 for _ in store.iter_conversations(session, run_id=run_id))
        read = time.perf_counter() - start
        engine.dispose()
    print(
        f"{len(trajectory.turns)} turns, {len(trajectory.calls)} calls, {len(checks)} checks per conversation"
    )
    print(f"add_conversation: {args.n} in {written:.2f} s = {args.n / written:.0f}/s")
    print(f"iter_conversations: {count} in {read:.2f} s = {count / read:.0f}/s")


if __name__ == "__main__":
    main()
