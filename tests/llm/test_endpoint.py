"""The tuned SDK client of `openai:` roles (roles/endpoint.py) sends what the stock one sends.

Each case makes the same autogen-ext request twice against the loopback server, once through
`OpenAIChatCompletionClient` with the SDK's defaults and once through the client a role gets, and
compares the request body (as JSON: the SDK orders its keys by its own signature), the path and query,
the headers and the parsed result."""

from __future__ import annotations

import asyncio
import json
from typing import Any, get_args, get_type_hints

import pytest
from autogen_core import FunctionCall
from autogen_core.models import (
    AssistantMessage,
    ChatCompletionClient,
    CreateResult,
    FunctionExecutionResult,
    FunctionExecutionResultMessage,
    LLMMessage,
    SystemMessage,
    UserMessage,
)
from autogen_core.tools import ToolSchema
from autogen_ext.models.openai import OpenAIChatCompletionClient
from openai import APIConnectionError, AsyncOpenAI, omit
from openai._utils import PropertyInfo
from openai.types.chat import completion_create_params
from openai_server import OpenAIServer, Reply, serve
from typing_extensions import is_typeddict

from roles.clients import llm_model_info, openai_client
from roles.endpoint import endpoint_openai_client
from roles.model_config import RoleModel

HISTORY: list[LLMMessage] = [
    SystemMessage(content="You plan, then call functions. Reply in JSON when asked."),
    UserMessage(content='What\'s the weather in Lyon, in °C? «quoted» \u2014 and a "quote"', source="user"),
    AssistantMessage(
        content=[FunctionCall(id="call_1", name="get_weather", arguments='{"city": "Lyon", "unit": "C"}')],
        source="assistant",
    ),
    FunctionExecutionResultMessage(
        content=[FunctionExecutionResult(call_id="call_1", content='{"temp": 21.5}', name="get_weather")]
    ),
    AssistantMessage(content="It is 21.5 °C.", source="assistant"),
    UserMessage(content="And in Oslo?", source="user"),
]
TOOLS: list[ToolSchema] = [
    {
        "name": "get_weather",
        "description": "Current weather of a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name."},
                "unit": {"type": "string", "enum": ["C", "F"]},
                "days": {"type": "array", "items": {"type": "integer", "minimum": 0}},
            },
            "required": ["city"],
        },
    }
]


def reply(request: dict[str, Any]) -> Reply:
    if request.get("tools"):
        return Reply(tool_calls=[("call_2", "get_weather", '{"city": "Oslo"}')])
    return Reply(content='{"answer": "cold"}')


def stock_client(url: str, **create_args: Any) -> ChatCompletionClient:
    """autogen-ext's client as it comes, on the SDK's default transport and request path."""
    info = llm_model_info("scripted")
    assert info is not None
    return OpenAIChatCompletionClient(
        model="scripted", base_url=url, api_key="sk-test", include_name_in_message=False, model_info=info,
        max_retries=0, timeout=5.0, **create_args,
    )  # fmt: skip


def role_client(
    url: str, *, native: bool = False, parallel: bool = True, **settings: Any
) -> ChatCompletionClient:
    key = "ENDPOINT_TEST_KEY"
    model = RoleModel(model="openai:scripted", base_url=url, timeout=5, api_key_env=key, **settings)
    return openai_client("assistant", model, native_tools=native, parallel=parallel, max_retries=0)


async def one_request(client: ChatCompletionClient, call: dict[str, Any]) -> CreateResult:
    try:
        if call.pop("stream", False):
            items = [item async for item in client.create_stream(HISTORY, **call)]
            assert isinstance(items[-1], CreateResult)
            return items[-1]
        return await client.create(HISTORY, **call)
    finally:
        await client.close()


def sent(server: OpenAIServer) -> tuple[Any, str, dict[str, str]]:
    """The one request's body as JSON, its path and query, and its headers but Host (the port)."""
    assert len(server.bodies) == 1
    headers = {name: value for name, value in server.headers[0].items() if name != "host"}
    return json.loads(server.bodies[0]), server.targets[0], headers


CASES: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {
    # name: (role settings, the same as create args of the stock client, create() keyword arguments)
    "plain text": ({}, {}, {}),
    "sampling parameters": (
        {"temperature": 0.3, "max_tokens": 64, "seed": 5},
        {"temperature": 0.3, "max_tokens": 64, "seed": 5},
        {},
    ),
    "json mode": ({}, {}, {"json_output": True}),
    "native tools, one call a turn": (
        {"native": True, "parallel": False},
        {"parallel_tool_calls": False},
        {"tools": TOOLS},
    ),
    "extra arguments and body": (
        {},
        {},
        {"extra_create_args": {"top_p": 0.5, "stop": ["</final>"], "extra_body": {"top_k": 20}}},
    ),
    "streaming": ({}, {}, {"stream": True}),
    "streaming tool calls": ({"native": True}, {}, {"tools": TOOLS, "stream": True}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_role_client_sends_what_the_stock_client_sends(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENDPOINT_TEST_KEY", "sk-test")
    settings, create_args, call = CASES[case]
    with serve(reply) as stock_server, serve(reply) as role_server:
        expected = asyncio.run(one_request(stock_client(stock_server.url, **create_args), dict(call)))
        got = asyncio.run(one_request(role_client(role_server.url, **settings), dict(call)))
        assert sent(role_server) == sent(stock_server)
    assert got.content == expected.content and got.usage == expected.usage
    assert got.finish_reason == expected.finish_reason


def test_extra_query_headers_and_timeout_reach_the_server_as_with_the_sdk() -> None:
    """What autogen-ext never passes but the SDK's create takes: the same options either way."""
    options: dict[str, Any] = {
        "extra_query": {"api-version": "1"},
        "extra_headers": {"X-Run": "7"},
        "extra_body": {"top_k": 20},
        "timeout": 3.0,
        "temperature": omit,
    }
    messages: list[Any] = [{"role": "user", "content": "hi"}]

    async def create(client: AsyncOpenAI) -> Any:
        async with client:
            return await client.chat.completions.create(model="scripted", messages=messages, **options)

    with serve(reply) as stock_server, serve(reply) as role_server:
        stock = AsyncOpenAI(api_key="sk-test", base_url=stock_server.url, timeout=5.0, max_retries=0)
        expected = asyncio.run(create(stock))
        sdk = endpoint_openai_client(api_key="sk-test", base_url=role_server.url, timeout=5.0, max_retries=0)
        got = asyncio.run(create(sdk))
        assert sent(role_server) == sent(stock_server)
        assert sent(role_server)[2]["x-run"] == "7" and "api-version=1" in role_server.targets[0]
    assert got.choices[0].message.content == expected.choices[0].message.content == '{"answer": "cold"}'


def test_a_refused_connection_is_a_connection_error_not_a_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENDPOINT_TEST_KEY", "sk-test")
    client = role_client("http://127.0.0.1:9/v1")  # the discard port: nothing listens
    with pytest.raises(APIConnectionError) as caught:
        asyncio.run(one_request(client, {}))
    assert type(caught.value) is APIConnectionError and str(caught.value) == "Connection error."


def test_no_chat_completion_parameter_is_renamed_or_formatted_by_the_sdk() -> None:
    """Why posting the body as given is safe: no field anywhere in the SDK's chat-completion params
    carries an alias or a format, the only things its transform would change (a newer SDK that adds
    one fails here)."""
    marked: list[str] = []
    seen: set[int] = set()

    def walk(annotation: Any, where: str) -> None:
        if id(annotation) in seen:
            return
        seen.add(id(annotation))
        for extra in getattr(annotation, "__metadata__", ()):
            if isinstance(extra, PropertyInfo) and (extra.alias or extra.format):
                marked.append(where)
        if is_typeddict(annotation):
            for name, hint in get_type_hints(annotation, include_extras=True).items():
                walk(hint, f"{where}.{name}")
        for arg in get_args(annotation):
            walk(arg, where)

    walk(completion_create_params.CompletionCreateParamsNonStreaming, "params")
    walk(completion_create_params.CompletionCreateParamsStreaming, "params")
    assert len(seen) > 100 and marked == []
