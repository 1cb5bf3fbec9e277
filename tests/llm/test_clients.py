"""The OpenAI client as configured for a role, against the loopback server: the SDK's own retries
(Retry-After honoured, 5xx and timeouts retried), our retry of garbage bodies, streaming, and the
roles' format retries with the problem fed back."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from typing import Any

import openai
import pytest
from autogen_agentchat.base import Response
from autogen_agentchat.messages import TextMessage
from autogen_core import CancellationToken
from autogen_core.models import CreateResult, UserMessage
from openai_server import FaultPlan, Reply, serve

from datamodel.models import RoleModel
from datamodel.trajectory import AssistantTurn, ToolCall, ToolTurn, UserTurn
from roles.assistant import AssistantRole
from roles.clients import ClientSetupError, build_role_client
from roles.messages import turn_message, turn_of
from roles.resilience import LLMRuntime, ManagedClient, connection_refused
from roles.tool import ToolRole


def client(
    url: str, runtime: LLMRuntime | None = None, role: str = "user", max_retries: int = 2, **settings: Any
) -> ManagedClient:
    model = RoleModel(model="openai:scripted", base_url=url, timeout=1, **settings)
    return build_role_client(role, model, runtime or LLMRuntime(), parallel=True, max_retries=max_retries)


def ask(managed: ManagedClient, text: str = "hello") -> CreateResult:
    async def once() -> CreateResult:
        try:
            return await managed.create([UserMessage(content=text, source="test")])
        finally:
            await managed.close()

    return asyncio.run(once())


def echo(request: dict[str, Any]) -> Reply:
    return Reply(content=f"echo: {request['messages'][-1]['content']}")


def test_retry_after_is_honoured(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="openai")
    with serve(echo, FaultPlan(share=1.0, kinds=("429",), retry_after=0.25)) as server:
        result = ask(client(server.url))
    assert result.content == "echo: hello" and len(server.requests) == 2
    assert any("Retrying request in 0.250000 seconds" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("kind", ["500", "hang", "garbage"])
def test_server_errors_timeouts_and_garbage_are_retried(kind: str) -> None:
    with serve(echo, FaultPlan(share=1.0, kinds=(kind,), hang_s=1.5)) as server:
        runtime = LLMRuntime()
        result = ask(client(server.url, runtime))
    assert result.content == "echo: hello" and len(server.requests) == 2 and server.injected[kind] == 1
    assert sum(e.requests for e in runtime.ledger.entries.values()) == 1


def test_a_fault_that_persists_raises_after_the_retries() -> None:
    plan = FaultPlan(share=1.0, kinds=("500",), always=True)
    with serve(echo, plan) as server, pytest.raises(Exception, match="server error"):
        ask(client(server.url))
    assert len(server.requests) == 3  # one try and max_retries=2


def test_streaming_yields_text_then_the_result_with_usage() -> None:
    with serve(lambda r: Reply(content="a streamed reply, in several chunks")) as server:
        managed = client(server.url)

        async def collect() -> list[str | CreateResult]:
            messages = [UserMessage(content="hi", source="test")]
            items = [item async for item in managed.create_stream(messages)]
            await managed.close()
            return items

        items = asyncio.run(collect())
    *texts, final = items
    assert len(texts) > 1 and "".join(str(t) for t in texts) == "a streamed reply, in several chunks"
    assert isinstance(final, CreateResult) and final.content == "a streamed reply, in several chunks"
    assert server.requests[0]["stream"] is True


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_connection_is_a_connection_error_not_a_timeout() -> None:
    """The SDK's aiohttp transport reports a refused connection as a connect timeout; the role's client
    names it for what it is, after the SDK's retries."""
    managed = client(f"http://127.0.0.1:{_closed_port()}/v1")
    with pytest.raises(openai.APIConnectionError) as caught:
        ask(managed)
    assert type(caught.value) is openai.APIConnectionError and str(caught.value) == "Connection error."
    assert connection_refused(caught.value)


def test_a_timeout_stays_a_timeout() -> None:
    hang = FaultPlan(share=1.0, kinds=("hang",), hang_s=1.5, always=True)
    with serve(echo, hang) as server, pytest.raises(openai.APITimeoutError):
        ask(client(server.url, max_retries=0))


def test_missing_api_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    settings = RoleModel(model="openai:gpt-4o-mini", api_key_env="NO_SUCH_KEY_VAR")
    with pytest.raises(ClientSetupError, match=r"\$NO_SUCH_KEY_VAR"):
        build_role_client("assistant", settings, LLMRuntime(), parallel=True, max_retries=0)


def _last_user_text(request: dict[str, Any]) -> str:
    return str(request["messages"][-1]["content"])


def _assistant_turn(role: AssistantRole, managed: ManagedClient) -> AssistantTurn:
    """The role's turn after the user's question; the client is closed afterwards."""
    kickoff = turn_message(UserTurn(content="What is f of 1?"), "simulated_user")

    async def once() -> Response:
        try:
            return await role.on_messages([kickoff], CancellationToken())
        finally:
            await managed.close()

    turn = turn_of(asyncio.run(once()).chat_message)
    assert isinstance(turn, AssistantTurn)
    return turn


def test_malformed_assistant_reply_is_retried_with_the_problem(tiny_sequential_task) -> None:
    def policy(request: dict[str, Any]) -> Reply:
        if "could not be used" in _last_user_text(request):
            return Reply(
                content='Calling.\n<call>[{"name": "get_book_author", "arguments": {"title": "X"}}]</call>'
            )
        return Reply(content='Calling.\n<call>[{"name": oops</call>')

    with serve(policy) as server:
        managed = client(server.url, role="assistant")
        role = AssistantRole(
            "assistant", managed, tiny_sequential_task.functions, parallel=True, format_retries=2
        )
        turn = _assistant_turn(role, managed)
    assert turn.format_error is None and [c.name for c in turn.tool_calls] == ["get_book_author"]
    feedback = _last_user_text(server.requests[1])
    assert len(server.requests) == 2 and "<call> block is not JSON" in feedback
    assert turn.usage is not None and turn.usage.prompt_tokens > 0
    assert len(role._context) == 3  # system, user, the good reply: the failed attempt is not kept


def test_an_unknown_function_is_fed_back_and_a_still_malformed_turn_is_recorded(tiny_sequential_task) -> None:
    with serve(lambda r: Reply(content='<call>[{"name": "teleport", "arguments": {}}]</call>')) as server:
        managed = client(server.url, role="assistant")
        role = AssistantRole(
            "assistant", managed, tiny_sequential_task.functions, parallel=True, format_retries=2
        )
        turn = _assistant_turn(role, managed)
    assert len(server.requests) == 3 and "unknown function 'teleport'" in _last_user_text(server.requests[2])
    assert [c.name for c in turn.tool_calls] == ["teleport"]  # kept as made; the tool and verifier judge it


def test_tool_result_that_does_not_fit_responses_is_retried(tiny_sequential_task, tiny_world) -> None:
    spec = tiny_world.GET_AUTHOR
    good = json.dumps({"author": "Ann Writer"})

    def policy(request: dict[str, Any]) -> Reply:
        return Reply(content=good if "cannot be used" in _last_user_text(request) else '{"writer": 3}')

    with serve(policy) as server:
        tool_client = client(server.url, role="tool")
        tool = ToolRole("tool", tool_client, [spec], format_retries=2, history=True)
        call = ToolCall(id="c1", name=spec.name, arguments={"title": "X"})
        message = turn_message(AssistantTurn(tool_calls=[call]), "assistant")

        async def twice() -> object:
            first = await tool.on_messages([message], CancellationToken())
            await tool.on_messages([message], CancellationToken())  # a later call sees the first result
            await tool_client.close()
            return turn_of(first.chat_message)

        first = asyncio.run(twice())
    assert isinstance(first, ToolTurn) and first.results[0].results == {"author": "Ann Writer"}
    assert "results" in _last_user_text(server.requests[1])  # the validation problem was fed back
    later_system = server.requests[-1]["messages"][0]["content"]
    assert "Calls already answered" in later_system and "Ann Writer" in later_system


def test_text_message_is_not_a_turn() -> None:
    assert turn_of(TextMessage(content="x", source="episode")) is None
