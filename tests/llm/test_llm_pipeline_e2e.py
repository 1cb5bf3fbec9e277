"""`button generate --source llm` end to end over real HTTP: seed conversations → scenarios → atomic →
compositional → filtered → functions → conversations, every role played by the scripted server.

Outcomes only: every stage's rows and every task's conversation with all its checks are stored; under
injected faults nothing is lost or duplicated; a run stopped in the middle of the bottom-up stages (an
exception raised in-process after some requests, standing in for a kill) and resumed ends with the same
counts as one that was not.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openai_server import FaultPlan, OpenAIServer, serve
from pipeline_policy import PipelinePolicy, bottom_up_script
from typer.testing import CliRunner

import simulator.bottom_up
from cli import app
from composition.seeds import EXAMPLE_SEEDS
from roles.resilience import ManagedClient
from simulator.bottom_up import STAGES
from simulator.verify import CheckName

runner = CliRunner()
N = 6
SEEDS = sum(1 for line in EXAMPLE_SEEDS.read_text().splitlines() if line.strip())
COUNTS = {
    "seeds": "SELECT COUNT(*) FROM seed_conversations",
    "items": "SELECT stage, status, COUNT(*) FROM stage_items GROUP BY stage, status ORDER BY stage, status",
    "tasks": "SELECT idx, instruction, strategy FROM tasks ORDER BY idx",
    "conversations": "SELECT COUNT(*), COUNT(DISTINCT task_id) FROM conversations",
    "status": "SELECT status, COUNT(*) FROM conversations GROUP BY status",
}


@pytest.fixture(autouse=True)
def tiny_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scenario dedup with the script's bag-of-words embedder instead of loading MiniLM."""
    monkeypatch.setattr(simulator.bottom_up, "minilm_embedder", lambda: bottom_up_script.bag_of_words)


@pytest.fixture
def pipeline_server() -> Iterator[OpenAIServer]:
    with serve(PipelinePolicy()) as server:
        yield server


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


def button(*args: str) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result.output


def llm_args(db: Path, server: OpenAIServer, *extra: str) -> list[str]:
    return [
        "generate", "--source", "llm", "--seeds", str(EXAMPLE_SEEDS),
        "--composer-model", "openai:scripted", "--judge-model", "openai:scripted",
        "--assistant-model", "openai:scripted", "--tool-model", "openai:scripted",
        "--base-url", server.url, "--n", str(N), "--n-expansions", "1", "--workers", "0",
        "--db", f"sqlite:///{db}", "--no-cache", "--timeout", "1", *extra,
    ]  # fmt: skip


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as con:
        return list(con.execute(sql))


def test_full_llm_run_stores_every_stage_and_conversation(
    tmp_path: Path, pipeline_server: OpenAIServer
) -> None:
    db = tmp_path / "run.db"
    out = button(*llm_args(db, pipeline_server))
    assert rows(db, COUNTS["seeds"]) == [(SEEDS,)]
    assert {stage for stage, _status, _n in rows(db, COUNTS["items"])} == set(STAGES)
    tasks = rows(db, "SELECT id, strategy, subtasks, reference FROM tasks")
    assert len(tasks) == N
    for _id, strategy, subtasks, reference in tasks:
        assert strategy in ("sequential", "parallel_then_sequential") and json.loads(subtasks)
        assert reference is None
    assert rows(db, "SELECT COUNT(*) FROM task_functions") and rows(db, COUNTS["conversations"]) == [(N, N)]
    checks = rows(db, "SELECT conversation_id, COUNT(*) FROM checks GROUP BY conversation_id")
    assert len(checks) == N and {n for _, n in checks} == {len(CheckName)}
    no_truth = "SELECT DISTINCT applicable, passed FROM checks WHERE name = 'answer_correct'"
    assert rows(db, no_truth) == [(0, 1)]  # no ground truth: the layer does not apply
    assert rows(db, COUNTS["status"]) == [("accepted", N)]
    assert rows(db, "SELECT status FROM runs") == [("finished",)]
    assert "bottom_u" in out and "composer" in out and "judge" in out  # the ledger shows the phase

    stages = button("stages", "--run", "1", "--db", f"sqlite:///{db}")
    assert all(stage in stages for stage in STAGES)
    export = tmp_path / "out.jsonl"
    button("export", "--format", "button", "--db", f"sqlite:///{db}", "--out", str(export))
    lines = export.read_text().splitlines()
    assert len(lines) == N and "Private guidance" not in export.read_text()


def test_faulty_endpoint_finishes_every_task_once(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    with serve(PipelinePolicy(), FaultPlan(share=0.3, hang_s=2.0)) as server:
        button(*llm_args(db, server, "--max-retries", "3"))
    assert set(server.injected) == {"429", "500", "hang", "garbage", "bad_call"}
    assert {stage for stage, _status, _n in rows(db, COUNTS["items"])} == set(STAGES)
    for stage, status, _n in rows(db, COUNTS["items"]):
        assert status in ("ok", "rejected", "failed"), (stage, status)
    assert rows(db, "SELECT COUNT(*) FROM stage_items WHERE status != 'ok' AND reason IS NULL") == [(0,)]
    assert rows(db, COUNTS["conversations"]) == [(N, N)]
    for termination, error in rows(db, "SELECT termination, error FROM conversations"):
        ended = termination in ("final_answer", "max_turns") or (termination == "error" and error)
        assert ended, (termination, error)
    assert rows(db, "SELECT status FROM runs") == [("finished",)]


def test_stopped_bottom_up_resumes_to_the_same_counts(
    tmp_path: Path, pipeline_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = tmp_path / "whole.db"
    button(*llm_args(whole, pipeline_server))

    stopped = tmp_path / "stopped.db"
    create = ManagedClient.create
    made = [0]

    async def crash_after_40(self: ManagedClient, *args: Any, **kwargs: Any) -> Any:
        made[0] += 1
        if made[0] > 40:
            raise bottom_up_script.SimulatedCrash("simulated crash in the bottom-up stages")
        return await create(self, *args, **kwargs)

    monkeypatch.setattr(ManagedClient, "create", crash_after_40)
    result = invoke(*llm_args(stopped, pipeline_server))
    assert result.exit_code != 0 and "--resume 1" in result.output
    assert rows(stopped, "SELECT status FROM runs") == [("interrupted",)]
    assert rows(stopped, "SELECT COUNT(*) FROM tasks") == [(0,)]
    monkeypatch.setattr(ManagedClient, "create", create)

    button("generate", "--resume", "1", "--db", f"sqlite:///{stopped}", "--no-cache")
    for name, sql in COUNTS.items():
        assert rows(stopped, sql) == rows(whole, sql), name
    assert rows(stopped, "SELECT status FROM runs") == [("finished",)]


def test_llm_source_needs_llm_roles(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    result = invoke("generate", "--source", "llm", "--composer-model", "openai:x", "--db", db)
    assert result.exit_code != 0
    assert "--source llm needs an LLM for the judge, assistant, tool role(s)" in result.output
    assert "Traceback" not in result.output


def test_bad_seed_file_is_one_line_and_makes_no_run(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text('{"conversations": [}\n')
    db = tmp_path / "x.db"
    roles = [f"--{r}-model" for r in ("composer", "judge", "assistant", "tool")]
    models = [arg for flag in roles for arg in (flag, "openai:x")]
    result = invoke(
        "generate", "--source", "llm", "--seeds", str(seeds), *models, "--base-url", "http://127.0.0.1:9/v1",
        "--db", f"sqlite:///{db}",
    )  # fmt: skip
    assert result.exit_code != 0 and f"{seeds}:1: not valid JSON" in result.output
    assert "Traceback" not in result.output
    assert not db.exists() or rows(db, "SELECT COUNT(*) FROM runs") == [(0,)]


def test_llm_made_tasks_take_the_behaviours_that_need_no_ground_truth(
    tmp_path: Path, pipeline_server: OpenAIServer
) -> None:
    """--mix reaches LLM-composed tasks: failing calls played by the Tool role whatever model simulates
    it, and checked by the same layer; clarify and follow-up need ground truth and stay plain. (The
    script's tasks all offer a `lookup_details`, so none can be made unanswerable by another's functions:
    tests/composition/test_composed_behaviours.py covers that.)"""
    db = tmp_path / "run.db"
    mix = "clarify=0.2,follow_up=0.2,irrelevant=0,tool_error=0.6,look_alike=0"
    button(*llm_args(db, pipeline_server, "--mix", mix))
    behaviours = dict(rows(db, "SELECT behaviour, COUNT(*) FROM tasks GROUP BY behaviour"))
    assert set(behaviours) == {"plain", "tool_error"}, behaviours
    planned = """SELECT t.behaviour_detail, k.id FROM tasks t JOIN conversations k ON k.task_id = t.id
        WHERE t.behaviour = 'tool_error'"""
    for detail, conversation in rows(db, planned):
        fault = json.loads(detail)["fault"]
        errors = rows(
            db, f"SELECT name, error FROM tool_calls WHERE conversation_id = {conversation} ORDER BY idx"
        )
        assert errors[0] == ("lookup_details", fault["message"])
        if fault["kind"] == "transient":  # fails once, then works
            assert all(error is None for _name, error in errors[1:])
        check = (
            f"SELECT applicable FROM checks WHERE conversation_id = {conversation} AND name = 'error_handled'"
        )
        assert rows(db, check) == [(1,)]
