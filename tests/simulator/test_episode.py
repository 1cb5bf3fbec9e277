"""One episode end to end: routing, parallel on/off, tool errors, max turns, errors, what the user sees."""

from __future__ import annotations

import asyncio
import json
from types import ModuleType

import pytest
from autogen_core.models import (
    AssistantMessage,
    FunctionExecutionResultMessage,
    LLMMessage,
    SystemMessage,
    UserMessage,
)

from composition.world.offline import OfflineWorld
from datamodel.tasks import CompositionalTask
from datamodel.trajectory import AssistantTurn, TerminationReason, ToolTurn, Trajectory, UserTurn
from roles.offline import CLARIFICATION_REPLY, OfflineToolClient, OfflineUserClient
from simulator.build import offline_clients
from simulator.episode import ASSISTANT, TOOL, USER, EpisodeConfig, RoleClients, route, run_episode
from simulator.verify import verify


def _run(task, clients: RoleClients, **config) -> Trajectory:
    return asyncio.run(run_episode(task, clients, EpisodeConfig(**config)))


def _roles(trajectory: Trajectory) -> list[str]:
    return [t.role for t in trajectory.turns]


class RecordingUser(OfflineUserClient):
    """The offline user, keeping every message list it was sent."""

    def __init__(self, task) -> None:
        super().__init__(task)
        self.seen: list[list[LLMMessage]] = []

    def decide(self, messages, tools):
        self.seen.append(list(messages))
        return super().decide(messages, tools)


def test_parallel_on_batches_independent_calls(tiny_parallel_task, tiny_executor) -> None:
    trajectory = _run(
        tiny_parallel_task, offline_clients(tiny_parallel_task, tiny_executor, parallel=True), parallel=True
    )
    assert trajectory.termination is TerminationReason.FINAL_ANSWER and trajectory.error is None
    assert _roles(trajectory) == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    first = trajectory.turns[1]
    assert isinstance(first, AssistantTurn) and "get_book_author" in first.content
    assert [c.name for c in first.tool_calls] == ["get_book_author", "get_book_publication_year"]
    assert trajectory.final_answer is not None and "45 years" in trajectory.final_answer
    assert all(c.passed for c in verify(tiny_parallel_task, trajectory))


def test_parallel_off_makes_one_call_per_turn(tiny_parallel_task, tiny_executor) -> None:
    trajectory = _run(
        tiny_parallel_task, offline_clients(tiny_parallel_task, tiny_executor, parallel=False), parallel=False
    )
    assert _roles(trajectory) == ["user"] + ["assistant", "tool"] * 3 + ["assistant"]
    assert all(len(t.tool_calls) <= 1 for t in trajectory.turns if isinstance(t, AssistantTurn))
    assert trajectory.parallel is False and all(c.passed for c in verify(tiny_parallel_task, trajectory))


def test_turns_carry_usage_with_model_names(tiny_sequential_task, tiny_executor) -> None:
    trajectory = _run(
        tiny_sequential_task, offline_clients(tiny_sequential_task, tiny_executor, parallel=True)
    )
    models = [t.usage.model for t in trajectory.turns if t.usage is not None]
    assistant, tool = "offline-assistant-plan", "offline-tool"
    assert models == ["offline-user", assistant, tool, assistant, tool, assistant]


def test_the_user_never_receives_tool_traffic(
    tiny_sequential_task, tiny_executor, tiny_world: ModuleType
) -> None:
    user = RecordingUser(tiny_sequential_task)
    assistant = tiny_world.ListClient(
        [
            "Which author do you mean?",  # a question: routed back to the user
            tiny_world.scripted_reply(
                [tiny_world.native_call("c1", "get_book_author", title="The Great Gatsby")]
            ),
            "<final>It was F. Scott Fitzgerald.</final>",
        ]
    )
    clients = RoleClients(user=user, assistant=assistant, tool=OfflineToolClient(tiny_executor))
    trajectory = _run(tiny_sequential_task, clients)
    assert _roles(trajectory) == ["user", "assistant", "user", "assistant", "tool", "assistant"]
    assert isinstance(trajectory.turns[2], UserTurn) and trajectory.turns[2].content == CLARIFICATION_REPLY
    for messages in user.seen:
        assert not any(isinstance(m, FunctionExecutionResultMessage) for m in messages)
        assert "Fitzgerald" not in json.dumps([str(m.content) for m in messages])
    assert [m.content for m in user.seen[1] if isinstance(m, UserMessage)][-1] == "Which author do you mean?"


def test_assistant_context_is_native_for_native_calls_and_text_for_text(
    tiny_sequential_task, tiny_executor, tiny_world
) -> None:
    text_call = '<call>[{"name": "get_book_author", "arguments": {"title": "The Great Gatsby"}}]</call>'
    assistant = tiny_world.ListClient([text_call, "<final>F. Scott Fitzgerald</final>"])
    clients = RoleClients(
        user=OfflineUserClient(tiny_sequential_task),
        assistant=assistant,
        tool=OfflineToolClient(tiny_executor),
    )
    trajectory = _run(tiny_sequential_task, clients)
    assert trajectory.termination is TerminationReason.FINAL_ANSWER
    second = assistant.seen[1]
    assert isinstance(second[0], SystemMessage) and "<tool>" in second[0].content
    assert "Private guidance" in second[0].content  # hints on by default
    assert isinstance(second[-2], AssistantMessage) and second[-2].content == text_call
    assert isinstance(second[-1], UserMessage)
    assert isinstance(second[-1].content, str)
    assert json.loads(second[-1].content)[0]["results"] == {"author": "F. Scott Fitzgerald"}


def test_hints_off_leaves_the_bare_button_prompt(tiny_sequential_task, tiny_executor, tiny_world) -> None:
    assistant = tiny_world.ListClient(["<final>no idea</final>"])
    clients = RoleClients(
        user=OfflineUserClient(tiny_sequential_task),
        assistant=assistant,
        tool=OfflineToolClient(tiny_executor),
    )
    _run(tiny_sequential_task, clients, hints=False)
    assert "Private guidance" not in assistant.seen[0][0].content


def test_invalid_arguments_and_unknown_function_become_tool_errors(
    tiny_sequential_task, tiny_executor, tiny_world
) -> None:
    calls = [
        tiny_world.native_call("c1", "get_book_author", title=5),
        tiny_world.native_call("c2", "get_author_age", author="X"),
    ]
    assistant = tiny_world.ListClient([tiny_world.scripted_reply(calls), "<final>Sorry.</final>"])
    tool = OfflineToolClient(tiny_executor)
    clients = RoleClients(user=OfflineUserClient(tiny_sequential_task), assistant=assistant, tool=tool)
    trajectory = _run(tiny_sequential_task, clients, parallel=False)  # several calls with parallel off: kept
    tool_turn = trajectory.turns[2]
    assert isinstance(tool_turn, ToolTurn) and [r.results for r in tool_turn.results] == [None, None]
    assert "arguments.title" in (tool_turn.results[0].error or "")
    assert "unknown function 'get_author_age'" in (tool_turn.results[1].error or "")
    assert tool.calls == 0 and tiny_executor.calls == []
    assert trajectory.termination is TerminationReason.FINAL_ANSWER


def test_a_failed_execution_ends_with_a_could_not_answer(tiny_executor, tiny_world) -> None:
    task = tiny_world.sequential_task("Unknown Book")
    trajectory = _run(task, offline_clients(task, tiny_executor, parallel=True))
    assert trajectory.termination is TerminationReason.FINAL_ANSWER
    assert "could not" in (trajectory.final_answer or "")
    tool_turn = trajectory.turns[2]
    assert isinstance(tool_turn, ToolTurn) and tool_turn.results[0].error == "no book titled 'Unknown Book'"


def test_max_turns_cuts_the_episode(tiny_sequential_task, tiny_executor, tiny_world) -> None:
    assistant = tiny_world.ListClient(["What do you mean?"])  # never calls, never answers
    clients = RoleClients(
        user=OfflineUserClient(tiny_sequential_task),
        assistant=assistant,
        tool=OfflineToolClient(tiny_executor),
    )
    trajectory = _run(tiny_sequential_task, clients, max_turns=5)
    assert trajectory.termination is TerminationReason.MAX_TURNS
    assert _roles(trajectory) == ["user", "assistant", "user", "assistant", "user"]


def test_an_assistant_that_never_acts_stalls(tiny_sequential_task, tiny_executor, tiny_world) -> None:
    assistant = tiny_world.ListClient(["What do you mean?"])  # never calls, never answers
    clients = RoleClients(
        user=OfflineUserClient(tiny_sequential_task),
        assistant=assistant,
        tool=OfflineToolClient(tiny_executor),
    )
    trajectory = _run(tiny_sequential_task, clients, max_turns=20, max_idle=2)
    assert trajectory.termination is TerminationReason.STALLED
    assert _roles(trajectory) == ["user", "assistant", "user", "assistant"]


def test_a_question_between_calls_is_not_a_stall(tiny_sequential_task, tiny_executor, tiny_world) -> None:
    call = '<call>[{"name": "get_book_author", "arguments": {"title": "Dune"}}]</call>'
    assistant = tiny_world.ListClient(["Which book?", call, "And then?", "<final>Frank Herbert</final>"])
    clients = RoleClients(
        user=OfflineUserClient(tiny_sequential_task),
        assistant=assistant,
        tool=OfflineToolClient(tiny_executor),
    )
    trajectory = _run(tiny_sequential_task, clients, max_idle=2)
    assert trajectory.termination is TerminationReason.FINAL_ANSWER
    assert _roles(trajectory) == [
        "user",
        "assistant",
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
        "assistant",
    ]


def test_malformed_reply_is_recorded_and_routed_to_the_user(
    tiny_sequential_task, tiny_executor, tiny_world
) -> None:
    assistant = tiny_world.ListClient(["<call>[oops</call>", "<final>ok</final>"])
    clients = RoleClients(
        user=OfflineUserClient(tiny_sequential_task),
        assistant=assistant,
        tool=OfflineToolClient(tiny_executor),
    )
    trajectory = _run(tiny_sequential_task, clients)
    bad = trajectory.turns[1]
    assert isinstance(bad, AssistantTurn) and bad.format_error and bad.raw == "<call>[oops</call>"
    assert _roles(trajectory) == ["user", "assistant", "user", "assistant"]


@pytest.mark.parametrize("role", ["user", "assistant", "tool"])
def test_a_client_exception_ends_in_error_with_the_turns_so_far(
    tiny_sequential_task, tiny_executor, tiny_world, role
) -> None:
    clients = offline_clients(tiny_sequential_task, tiny_executor, parallel=True)
    setattr(clients, role, tiny_world.ListClient([RuntimeError("model is down")]))
    trajectory = _run(tiny_sequential_task, clients)
    assert trajectory.termination is TerminationReason.ERROR
    assert trajectory.error is not None and "model is down" in trajectory.error
    assert len(trajectory.turns) == {"user": 0, "assistant": 1, "tool": 2}[role]


def test_route_follows_the_last_turn() -> None:
    from datamodel.trajectory import ToolCall
    from roles.messages import turn_message

    call = AssistantTurn(tool_calls=[ToolCall(id="a", name="f", arguments={})])
    assert route([]) == USER
    assert route([turn_message(UserTurn(content="hi"), USER)]) == ASSISTANT
    assert route([turn_message(call, ASSISTANT)]) == TOOL
    assert route([turn_message(ToolTurn(results=[]), TOOL)]) == ASSISTANT
    assert route([turn_message(AssistantTurn(content="which one?"), ASSISTANT)]) == USER


def test_the_offline_world_passes_every_check() -> None:
    """Integration: generated offline-tiny_world tasks, parallel on and off, all pass verification."""
    offline = OfflineWorld(world_seed=0)
    tasks = offline.generate_tasks(50, seed=0, max_subtasks=3)

    async def run_all(parallel: bool) -> list[tuple[CompositionalTask, Trajectory]]:
        config = EpisodeConfig(parallel=parallel)
        runs = [run_episode(t, offline_clients(t, offline, parallel=parallel), config) for t in tasks]
        return list(zip(tasks, await asyncio.gather(*runs), strict=True))

    for parallel in (True, False):
        for task, trajectory in asyncio.run(run_all(parallel)):
            failed = [c for c in verify(task, trajectory) if not c.passed]
            assert not failed, (task.instruction, failed)
