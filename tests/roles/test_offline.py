"""The offline user and assistant policies, decision by decision."""

from __future__ import annotations

import json

import pytest
from autogen_core import FunctionCall
from autogen_core.models import (
    AssistantMessage,
    FunctionExecutionResult,
    FunctionExecutionResultMessage,
    LLMMessage,
    SystemMessage,
    UserMessage,
)

from roles.offline import CLARIFICATION_REPLY, OfflineUserClient
from roles.offline_assistant import OfflineAssistantClient
from roles.scripted import ScriptedReply

START: list[LLMMessage] = [SystemMessage(content="system"), UserMessage(content="request", source="u")]


def _results(*items: tuple[str, str, object, bool]) -> FunctionExecutionResultMessage:
    return FunctionExecutionResultMessage(
        content=[
            FunctionExecutionResult(call_id=i, name=n, content=json.dumps(c) if not e else str(c), is_error=e)
            for i, n, c, e in items
        ]
    )


def test_user_opens_with_the_instruction_then_goes_ahead(tiny_sequential_task) -> None:
    user = OfflineUserClient(tiny_sequential_task)
    assert user.decide([SystemMessage(content="s")], []) == tiny_sequential_task.instruction
    later: list[LLMMessage] = [
        SystemMessage(content="s"),
        AssistantMessage(content="x", source="me"),
        UserMessage(content="?", source="a"),
    ]
    assert user.decide(later, []) == CLARIFICATION_REPLY


def test_plan_then_parallel_calls_then_filled_reference_then_answer(tiny_parallel_task) -> None:
    assistant = OfflineAssistantClient(tiny_parallel_task, parallel=True)
    first = assistant.decide(START, [])
    assert isinstance(first, ScriptedReply) and isinstance(first.content, list)
    plan = first.thought or ""
    # the plan names the steps in order, in the question's terms, never the hidden hints
    named = [plan.find(name) for name in ("get_book_author", "get_book_publication_year", "get_author_birth")]
    assert -1 not in named and named == sorted(named) and ("difference" in plan or "subtract" in plan)
    assert not any(sub.instruction in plan for sub in tiny_parallel_task.subtasks)
    assert [(c.id, c.name) for c in first.content] == [
        ("call_s0_0", "get_book_author"),
        ("call_s1_0", "get_book_publication_year"),
    ]
    history: list[LLMMessage] = [
        *START,
        AssistantMessage(content=first.content, thought=first.thought, source="a"),
        _results(
            ("call_s0_0", "get_book_author", {"author": "Someone Else"}, False),
            ("call_s1_0", "get_book_publication_year", {"year": 2000}, False),
        ),
    ]
    second = assistant.decide(history, [])
    assert isinstance(second, ScriptedReply) and isinstance(second.content, list)
    # the argument comes from the actual result, not the reference's stored one
    assert json.loads(second.content[0].arguments) == {"author": "Someone Else"}
    # a note on each new result, naming the value used, and the next call with its input; no JSON
    note = second.thought or ""
    assert "Someone Else" in note and "2000" in note and "{" not in note
    history += [
        AssistantMessage(content=second.content, source="a"),
        _results((second.content[0].id, "get_author_birth_year", {"birth_year": 1950}, False)),
    ]
    final = assistant.decide(history, [])
    assert isinstance(final, str)
    working, answer = final.split("<final>")
    # the subtraction is worked with its operands before the answer, which is a sentence with its unit
    assert "2000" in working and "1950" in working and "50" in working
    assert not any(line in working for line in note.splitlines())  # nothing said earlier is said again
    assert "50 years" in answer and answer.endswith(".</final>") and 'of "Dune"' in answer


@pytest.mark.parametrize(("parallel", "policy"), [(False, "plan"), (True, "sequential")])
def test_one_call_per_turn_when_parallel_is_off_or_policy_is_sequential(
    tiny_parallel_task, parallel, policy
) -> None:
    first = OfflineAssistantClient(tiny_parallel_task, parallel=parallel, policy=policy).decide(START, [])
    assert isinstance(first, ScriptedReply) and isinstance(first.content, list) and len(first.content) == 1


def test_a_tool_error_gives_a_final_answer_not_a_crash(tiny_sequential_task) -> None:
    assistant = OfflineAssistantClient(tiny_sequential_task, parallel=True)
    call = FunctionCall(id="call_s0_0", name="get_book_author", arguments="{}")
    history: list[LLMMessage] = [
        *START,
        AssistantMessage(content=[call], source="a"),
        _results(("call_s0_0", "get_book_author", "no book titled 'X'", True)),
    ]
    reply = assistant.decide(history, [])
    assert isinstance(reply, str) and "<final>" in reply and "could not" in reply


def test_needs_a_reference_and_a_known_policy(tiny_sequential_task) -> None:
    with pytest.raises(ValueError, match="reference"):
        OfflineAssistantClient(tiny_sequential_task.model_copy(update={"reference": None}), parallel=True)
    with pytest.raises(ValueError, match="policy"):
        OfflineAssistantClient(tiny_sequential_task, parallel=True, policy="greedy")
