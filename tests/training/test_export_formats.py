"""Every export format, from the one stored trajectory: parses back to exactly its calls and results,
carries no sub-task hint, keeps the assistant's plan text, and has the shape its trainer reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from datamodel.button_format import parse_assistant_text
from db import store
from db.store import StoredConversation
from roles.prompts import hint_block, native_system_prompt
from tests.conftest import load_test_module
from training.formats import FORMATS, expected_exchanges

data = load_test_module("button_tests_export_data", Path(__file__).with_name("export_data.py"))
GOLDEN = Path(__file__).with_name("golden")
SYSTEM_PROMPT = "<the system prompt: roles/prompts.py>"
TOOLS = "<the task's tools: FunctionSpec.to_openai_tool>"


@pytest.fixture(scope="module")
def conversations(tmp_path_factory: pytest.TempPathFactory) -> list[StoredConversation]:
    _, sessions = data.build_export_db(tmp_path_factory.mktemp("export"))
    with sessions() as session:
        return list(store.iter_conversations(session, status=None))


def _record(fmt: str, conversation: StoredConversation) -> dict[str, Any]:
    """The record as a trainer reads it: through JSON, as it is written to the file."""
    return json.loads(json.dumps(FORMATS[fmt].render(conversation), ensure_ascii=False))


def test_fixture_has_parallel_calls_errors_and_a_rejected_conversation(
    conversations: list[StoredConversation],
) -> None:
    exchanges = [e for c in conversations for e in expected_exchanges(c.trajectory)]
    assert any(len(e.calls) > 1 for e in exchanges)
    assert any(isinstance(r, dict) and "error" in r for e in exchanges for r in e.results)
    assert {c.status for c in conversations} == {"accepted", "rejected"}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_parses_back_to_the_stored_calls_and_results(
    fmt: str, conversations: list[StoredConversation]
) -> None:
    for conversation in conversations:
        expected = expected_exchanges(conversation.trajectory)
        assert FORMATS[fmt].parse(_record(fmt, conversation)) == expected, conversation.id


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_no_format_carries_a_sub_task_hint(fmt: str, conversations: list[StoredConversation]) -> None:
    for conversation in conversations:
        text = json.dumps(_record(fmt, conversation), ensure_ascii=False)
        asked = " ".join(t.content for t in conversation.trajectory.turns if t.role == "user")
        hints = [s.instruction for s in conversation.task.subtasks if s.instruction not in asked]
        assert not [h for h in hints if h in text], (fmt, conversation.id)
        assert "Private guidance" not in text
        assert hint_block(conversation.task.subtasks).strip() not in text


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_plan_and_observation_text_is_kept(fmt: str, conversations: list[StoredConversation]) -> None:
    for conversation in conversations:
        text = json.dumps(_record(fmt, conversation), ensure_ascii=False)
        for turn in conversation.trajectory.turns:
            if turn.role == "assistant" and turn.content.strip():
                assert json.dumps(turn.content.strip(), ensure_ascii=False)[1:-1] in text


def _with_calls(conversations: list[StoredConversation], fmt: str) -> list[dict[str, Any]]:
    return [_record(fmt, c) for c in conversations if c.trajectory.calls]


def test_openai_shape(conversations: list[StoredConversation]) -> None:
    for conversation in conversations:
        record = _record("openai", conversation)
        assert set(record) == {"messages", "tools", "parallel_tool_calls"}
        assert record["parallel_tool_calls"] is conversation.trajectory.parallel
        assert record["tools"] == [f.to_openai_tool() for f in conversation.task.functions]
        calls = [c for m in record["messages"] if m["role"] == "assistant" for c in m.get("tool_calls", [])]
        assert all(c["type"] == "function" and isinstance(c["function"]["arguments"], str) for c in calls)
        ids = {c["id"] for c in calls}
        tool_messages = [m for m in record["messages"] if m["role"] == "tool"]
        assert all(set(m) == {"role", "tool_call_id", "content"} for m in tool_messages)
        if conversation.status == "accepted":
            assert {m["tool_call_id"] for m in tool_messages} == ids


def test_trl_shape(conversations: list[StoredConversation]) -> None:
    for record in _with_calls(conversations, "trl"):
        assert set(record) == {"messages", "tools"} and isinstance(record["tools"], str)
        assert all(t["type"] == "function" for t in json.loads(record["tools"]))
        for message in record["messages"]:
            for call in message.get("tool_calls", []):
                assert call["type"] == "function" and isinstance(call["function"]["arguments"], dict)
            if message["role"] == "tool":
                assert set(message) == {"role", "name", "tool_call_id", "content"}


def test_sharegpt_alternates_as_llama_factory_requires(conversations: list[StoredConversation]) -> None:
    """LLaMA-Factory drops an example whose turns do not alternate human/observation, gpt/function_call."""
    for record in _with_calls(conversations, "sharegpt"):
        assert set(record) == {"conversations", "system", "tools"} and isinstance(record["tools"], str)
        turns = record["conversations"]
        for position, turn in enumerate(turns):
            allowed = ("human", "observation") if position % 2 == 0 else ("gpt", "function_call")
            assert turn["from"] in allowed, (position, turn)
        assert len(turns) % 2 == 0 and turns[-1]["from"] == "gpt"
    parallel = [
        t["value"].split("</think>\n\n")[-1]
        for r in _with_calls(conversations, "sharegpt")
        for t in r["conversations"]
        if t["from"] == "function_call" and "}, {" in t["value"].split("</think>")[-1]
    ]
    assert parallel and all(isinstance(json.loads(v), list) for v in parallel)


def test_hermes_shape(conversations: list[StoredConversation]) -> None:
    for record in _with_calls(conversations, "hermes"):
        roles = [m["role"] for m in record["messages"]]
        assert set(roles) <= {"system", "user", "assistant", "tool"} and roles[:2] == ["system", "user"]
        assert "<tools>" in record["messages"][0]["content"]
        tools = [m["content"] for m in record["messages"] if m["role"] == "tool"]
        assert tools and all(t.startswith("<tool_response>\n") for t in tools)


@pytest.mark.parametrize("fmt", ["openai", "trl"])
def test_native_formats_teach_what_a_native_assistant_is_asked_at_run_time(
    fmt: str, conversations: list[StoredConversation]
) -> None:
    """A model trained on a native export meets the same system prompt at `button eval --call-format
    native`, and its final answers parse there as final answers."""
    for conversation in conversations:
        messages = _record(fmt, conversation)["messages"]
        assert messages[0]["content"] == native_system_prompt(conversation.trajectory.parallel)
        answer = conversation.trajectory.final_answer
        if answer is not None:
            assert parse_assistant_text(messages[-1]["content"]).final == answer.strip()


def _turns_only(record: dict[str, Any]) -> dict[str, Any]:
    """The record with its system prompt and tool list as placeholders: those come from roles/prompts.py
    and the function specs, whose own tests pin them; what is left is each format's layout of the turns."""
    pinned = json.loads(json.dumps(record))
    if "system" in pinned:
        pinned["system"] = SYSTEM_PROMPT
    else:
        pinned["messages"][0]["content"] = SYSTEM_PROMPT
    if "tools" in pinned:
        pinned["tools"] = TOOLS
    return pinned  # type: ignore[no-any-return]


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_plain_conversation_exports_exactly_the_pinned_bytes(
    fmt: str, conversations: list[StoredConversation]
) -> None:
    """The hand-written sample (one request; parallel calls, one failing; a retry; the answer) exports
    its turns as pinned in golden/, byte for byte as `button export` writes them: teaching richer
    conversations must not change what a plain one teaches. A deliberate change to a format's layout
    rewrites its golden file."""
    (sample,) = [c for c in conversations if c.models["assistant"] == data.REJECTED_MODEL]
    line = json.dumps(_turns_only(FORMATS[fmt].render(sample)), ensure_ascii=False) + "\n"
    assert line.encode() == (GOLDEN / f"sample_conversation.{fmt}.jsonl").read_bytes()
