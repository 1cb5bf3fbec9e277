"""The closed loop on a tiny model built here: generate → export → `button train` → `button eval` of the base
and the trained model on held-out tasks; both evaluations stored with their metrics, the trained one linked
to its training run and checked against that run's data without being told."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli import app
from db.engine import make_engine, session_factory
from db.models import EvalResult, EvalRun, Message
from tests.conftest import load_test_module

tiny = load_test_module("button_tests_tiny_lm", Path(__file__).with_name("tiny_lm.py"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
runner = CliRunner()


def button(*args: Any) -> Any:
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("loop")
    db = f"sqlite:///{root / 'button.db'}"
    assert button("generate", "--n", 12, "--workers", 0, "--db", db).exit_code == 0
    data = root / "data.jsonl"
    assert button("export", "--format", "button", "--out", data, "--db", db).exit_code == 0
    tokenizer = tiny.export_tokenizer(data)
    base = tiny.save_tiny_model(tokenizer, root / "base")
    out = root / "trained"
    result = button(
        "train", "--data", data, "--base-model", base, "--out", out, "--db", db, "--batch-size", 2,
        "--micro-batch", 2, "--max-length", 2048, "--max-steps", 2, "--lr", 3e-3,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    result = button(
        "eval", "--model", f"hf:{base}", "--model", f"hf:{out}", "--label", "base", "--label", "tuned",
        "--n", 3, "--max-tokens", 12, "--train-data", data, "--db", db,
        "--json", root / "report.json", "--plot", root / "chart.png",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return {"db": db, "data": data, "root": root, "output": result.output}


def test_both_models_are_evaluated_and_stored(loop: dict[str, Any]) -> None:
    sessions = session_factory(make_engine(loop["db"]))
    with sessions() as session:
        runs = session.scalars(select(EvalRun).order_by(EvalRun.id)).all()
        assert [r.label for r in runs] == ["base", "tuned"]
        assert runs[0].training_run_id is None and runs[1].training_run_id == 1
        assert runs[1].held_out == {
            "checked_against": [str(loop["data"]), "training_run:1"],
            "training_tasks": 12,
        }
        for run in runs:
            rows = session.scalars(select(EvalResult).where(EvalResult.eval_run_id == run.id)).all()
            assert len(rows) == 3
            for row in rows:
                assert row.n_assistant_turns >= 1 and row.required_steps >= 1
                assert row.termination in ("stalled", "max_turns", "final_answer")
            assert run.summary is not None and run.summary["overall"]["all"]["n"] == 3
        # the model under test really played the assistant: its turns carry its name and token counts
        models = set(session.scalars(select(Message.model).where(Message.role == "assistant")))
        assert {f"hf:{loop['root'] / 'base'}", f"hf:{loop['root'] / 'trained'}"} <= models
    assert "base #1" in loop["output"] and "tuned #2" in loop["output"]
    assert (loop["root"] / "chart.png").stat().st_size > 0


def test_same_held_out_tasks_for_both_models(loop: dict[str, Any]) -> None:
    sessions = session_factory(make_engine(loop["db"]))
    with sessions() as session:
        from db.models import TaskRow

        by_run: dict[int, list[str]] = {}
        for run in session.scalars(select(EvalRun)):
            query = select(TaskRow.instruction).where(TaskRow.run_id == run.run_id).order_by(TaskRow.idx)
            by_run[run.id] = list(session.scalars(query))
        first, second = by_run.values()
        assert first == second and len(first) == 3
