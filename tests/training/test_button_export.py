"""BUTTONInstruct export of stored offline conversations: format, tags, and no sub-task hints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datamodel.run_config import GenerateConfig
from db.engine import ensure_schema, make_engine, session_factory
from simulator.batch import prepare_run, simulate_pending
from training.export import ExportError, export_conversations


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('export') / 'x.db'}")
    ensure_schema(engine)
    factory = session_factory(engine)
    for parallel in (True, False):
        run_id, config = prepare_run(factory, GenerateConfig(n=25, seed=5, parallel=parallel, workers=0))
        simulate_pending(factory, run_id, config)
    return factory


def _records(sessions, tmp_path: Path, **filters) -> list[dict]:  # type: ignore[no-untyped-def]
    out = tmp_path / "out.jsonl"
    export_conversations(sessions, "button", out, **filters)
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_hints_never_reach_the_export(sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from db import store

    with sessions() as session:
        hints = [s.instruction for c in store.iter_conversations(session, run_id=1) for s in c.task.subtasks]
    text = json.dumps(_records(sessions, tmp_path, run_id=1))
    multi_step_hints = [h for h in hints if "step" in h.lower()]
    assert multi_step_hints, "fixture should contain hints that refer to earlier steps"
    assert not [h for h in multi_step_hints if h in text]


def test_roles_alternate_and_tool_messages_answer_every_call(sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for record in _records(sessions, tmp_path):
        messages = record["messages"]
        assert list(record) == ["messages"]
        assert messages[0]["role"] == "system" and messages[1]["role"] == "user"
        assert "<final>" in messages[-1]["content"]
        for before, message in zip(messages, messages[1:], strict=False):
            if message["role"] == "tool":
                calls = json.loads(before["content"].split("<call>")[1].split("</call>")[0])
                results = json.loads(message["content"])
                assert [c["name"] for c in calls] == [r["name"] for r in results]
                assert [c["arguments"] for c in calls] == [r["arguments"] for r in results]


def test_parallel_sentence_follows_the_run(sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    on = _records(sessions, tmp_path, run_id=1)[0]["messages"][0]["content"]
    off = _records(sessions, tmp_path, run_id=2)[0]["messages"][0]["content"]
    assert on != off
    multi_call_turns = [
        m
        for r in _records(sessions, tmp_path, run_id=2)
        for m in r["messages"]
        if m["role"] == "assistant"
        and "<call>" in m["content"]
        and len(json.loads(m["content"].split("<call>")[1].split("</call>")[0])) > 1
    ]
    assert multi_call_turns == []


def test_empty_selection_is_an_error_and_writes_nothing(sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ExportError, match="no conversation matches"):
        export_conversations(sessions, "button", tmp_path / "none.jsonl", run_id=99)
    assert not (tmp_path / "none.jsonl").exists()
