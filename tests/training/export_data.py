"""A small database for the export tests, built once per test session and shared by path.

Two offline runs over the same 25 tasks (seed 5), with parallel calls on and off, so every instruction
appears in two runs; and a third run holding the hand-written sample conversation (a failed call, results
out of call order, a stray result) rejected, with a different assistant model. Loaded by path
(tests/conftest.py: load_test_module), since test folders are not packages in importlib mode.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from datamodel.checks import CheckName
from datamodel.run_config import GenerateConfig
from db import store
from db.engine import ensure_schema, make_engine, session_factory
from simulator.batch import prepare_run, simulate_pending
from tests.conftest import load_test_module

__all__ = ["REJECTED_MODEL", "build_export_db"]

REJECTED_MODEL = "gpt-small"
samples = load_test_module("button_tests_db_samples", Path(__file__).parents[1] / "db" / "db_samples.py")
_BUILT: dict[str, tuple[str, sessionmaker[Session]]] = {}


def build_export_db(directory: Path) -> tuple[str, sessionmaker[Session]]:
    """(URL, sessions) of the shared export database, created in `directory` on first use."""
    key = "db"
    if key not in _BUILT:
        url = f"sqlite:///{directory / 'export.db'}"
        engine = make_engine(url)
        ensure_schema(engine)
        sessions = session_factory(engine)
        for parallel in (True, False):
            run_id, config = prepare_run(sessions, GenerateConfig(n=25, seed=5, parallel=parallel, workers=0))
            simulate_pending(sessions, run_id, config)
        with sessions.begin() as session:
            run_id = store.create_run(session, kind="generate", seed=9, n_requested=1, config={}, versions={})
            (task_id,) = store.add_tasks(session, run_id, [samples.sample_task("Emma")])
            store.add_conversation(
                session,
                run_id=run_id,
                task_id=task_id,
                trajectory=samples.sample_trajectory(orphan_result=True),
                checks=samples.checks_failing(CheckName.ANSWER_CORRECT),
                models={"user": "offline-user", "assistant": REJECTED_MODEL, "tool": "offline-tool"},
            )
        _BUILT[key] = (url, sessions)
    return _BUILT[key]
