"""ScriptedChatCompletionClient implements the whole 0.7.5 protocol and works inside AgentChat."""

from __future__ import annotations

import asyncio
from types import ModuleType

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_core.models import CreateResult, UserMessage


def test_client_instantiates_and_answers(tiny_world: ModuleType) -> None:
    client = tiny_world.ListClient(["hello", [tiny_world.native_call("c1", "get_book_author", title="Dune")]])
    messages = [UserMessage(content="hi there", source="u")]

    async def go() -> tuple[CreateResult, list[object]]:
        first = await client.create(messages)
        chunks = [chunk async for chunk in client.create_stream(messages)]
        await client.close()
        return first, chunks

    first, chunks = asyncio.run(go())
    assert first.content == "hello" and first.finish_reason == "stop"
    last = chunks[-1]
    assert isinstance(last, CreateResult) and last.finish_reason == "function_calls"
    assert client.model_info["function_calling"] is True
    assert client.capabilities["function_calling"] is True
    assert client.actual_usage().prompt_tokens == client.total_usage().completion_tokens == 0
    assert client.count_tokens(messages) == 2 and client.remaining_tokens(messages) > 0
    assert client.calls == 2


def test_stream_ends_with_the_result_after_the_text(tiny_world: ModuleType) -> None:
    async def go() -> list[object]:
        return [c async for c in tiny_world.ListClient(["some text"]).create_stream([])]

    chunks = asyncio.run(go())
    assert chunks[0] == "some text" and isinstance(chunks[1], CreateResult)


def test_works_as_the_model_of_an_agentchat_agent(tiny_world: ModuleType) -> None:
    client = tiny_world.ListClient(["first reply", "second reply"])
    agent = AssistantAgent("helper", model_client=client)
    team = RoundRobinGroupChat([agent], termination_condition=MaxMessageTermination(3))
    result = asyncio.run(team.run(task="go"))
    assert [m.to_text() for m in result.messages][1:] == ["first reply", "second reply"]
