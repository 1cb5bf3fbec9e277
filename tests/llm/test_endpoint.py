"""The tuned SDK client of `openai:` roles (roles/endpoint.py) behaves as the stock one.

Each case makes the same autogen-ext request twice against the loopback server, once through
`OpenAIChatCompletionClient` with the SDK's defaults and once through the client a role gets, and
compares the request body (as JSON: the SDK orders its keys by its own signature), the path and query,
the headers and the parsed result; for replies outside the protocol and for failures, what comes back or
is raised, after how many requests with which headers."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any, get_args, get_type_hints

import httpx2
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
from openai_server import FaultPlan, OpenAIServer, Reply, serve
from typing_extensions import is_typeddict

from datamodel.models import RoleModel
from roles.clients import llm_model_info, openai_client
from roles.endpoint import endpoint_openai_client

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


def stock_client(
    url: str, retries: int = 0, timeout: float = 5.0, **create_args: Any
) -> ChatCompletionClient:
    """autogen-ext's client as it comes, on the SDK's default transport and request path."""
    info = llm_model_info("scripted")
    assert info is not None
    return OpenAIChatCompletionClient(
        model="scripted", base_url=url, api_key="sk-test", include_name_in_message=False, model_info=info,
        max_retries=retries, timeout=timeout, **create_args,
    )  # fmt: skip


def role_client(
    url: str,
    *,
    native: bool = False,
    parallel: bool = True,
    retries: int = 0,
    timeout: float = 5.0,
    **settings: Any,
) -> ChatCompletionClient:
    key = "ENDPOINT_TEST_KEY"
    model = RoleModel(model="openai:scripted", base_url=url, timeout=timeout, api_key_env=key, **settings)
    return openai_client("assistant", model, native_tools=native, parallel=parallel, max_retries=retries)


async def one_request(client: ChatCompletionClient, call: dict[str, Any]) -> CreateResult:
    try:
        if call.pop("stream", False):
            items = [item async for item in client.create_stream(HISTORY, **call)]
            assert isinstance(items[-1], CreateResult)
            return items[-1]
        return await client.create(HISTORY, **call)
    finally:
        await client.close()


def _requests(server: OpenAIServer) -> list[tuple[Any, dict[str, str]]]:
    """Every request the server saw, as `sent` gives one."""
    return [
        (json.loads(body), {name: value for name, value in headers.items() if name != "host"})
        for body, headers in zip(server.bodies, server.headers, strict=True)
    ]


def sent(server: OpenAIServer) -> tuple[Any, str, dict[str, str]]:
    """The one request's body as JSON, its path and query, and its headers but Host (the port)."""
    (body, headers), *more = _requests(server)
    assert not more
    return body, server.targets[0], headers


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


def _completion_body(**fields: Any) -> bytes:
    message = {"role": "assistant", "content": "It is cold."}
    return json.dumps({"choices": [{"index": 0, "message": message, **fields}]}).encode()


ODD_REPLIES: dict[str, tuple[int, str, bytes]] = {
    # name: (status, content type, body) as the server sends it
    "a finish reason outside the protocol, no id, no usage": (
        200, "application/json", _completion_body(finish_reason="eos"),
    ),
    "a completion as null": (200, "application/json", b"null"),
    "plain text with a 200": (200, "text/plain", b"It is cold."),
    "JSON garbage with a 200": (200, "application/json", b"<html>not a completion"),
    "an error with its body": (
        400, "application/json",
        b'{"error": {"message": "no such model", "type": "invalid_request_error", "code": "no_model"}}',
    ),
    "a bad key": (401, "application/json", b'{"error": {"message": "Incorrect API key provided"}}'),
    "a page that is not there": (404, "text/html", b"<h1>Not Found</h1>"),
}  # fmt: skip


def _outcome(client: ChatCompletionClient) -> tuple[Any, ...]:
    """What one request ends with: the result's fields, or the exception's type, text, status and body."""
    try:
        result = asyncio.run(one_request(client, {}))
    except Exception as exc:
        return type(exc), str(exc), getattr(exc, "status_code", None), getattr(exc, "body", None)
    return result.content, result.finish_reason, result.usage


@pytest.mark.parametrize("case", list(ODD_REPLIES))
def test_a_reply_outside_the_protocol_ends_as_with_the_stock_client(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENDPOINT_TEST_KEY", "sk-test")
    raw = ODD_REPLIES[case]
    with serve(lambda _: Reply(raw=raw)) as stock_server, serve(lambda _: Reply(raw=raw)) as role_server:
        expected = _outcome(stock_client(stock_server.url))
        got = _outcome(role_client(role_server.url))
        assert _requests(role_server) == _requests(stock_server)
    assert got == expected


FAILURES: dict[str, tuple[FaultPlan, int, float]] = {
    # name: (faults, max_retries, timeout)
    "429 on every try": (FaultPlan(share=1.0, kinds=("429",), always=True, retry_after=0.01), 2, 5.0),
    "500 on every try": (FaultPlan(share=1.0, kinds=("500",), always=True), 1, 5.0),
    "429 once, then an answer": (FaultPlan(share=1.0, kinds=("429",), retry_after=0.01), 2, 5.0),
    "a hang past the timeout, no retries": (FaultPlan(share=1.0, kinds=("hang",), hang_s=1.0), 0, 0.3),
    "a hang past the timeout, then an answer": (FaultPlan(share=1.0, kinds=("hang",), hang_s=1.0), 1, 0.3),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_failures_are_retried_and_end_as_with_the_stock_client(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same number of tries, each with the same headers (the retry count among them), and the same
    result or exception at the end."""
    monkeypatch.setenv("ENDPOINT_TEST_KEY", "sk-test")
    plan, retries, timeout = FAILURES[case]
    with serve(reply, replace(plan)) as stock_server, serve(reply, replace(plan)) as role_server:
        expected = _outcome(stock_client(stock_server.url, retries=retries, timeout=timeout))
        got = _outcome(role_client(role_server.url, retries=retries, timeout=timeout))
        assert _requests(role_server) == _requests(stock_server)
        assert len(role_server.bodies) == (retries + 1 if plan.always else 1 + min(retries, 1))
    assert got == expected


def test_plain_requests_skip_the_sdks_http_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Non-streaming requests without per-request options are posted on aiohttp directly; streams still
    take the SDK's whole path."""

    async def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("sent through httpx2")

    monkeypatch.setenv("ENDPOINT_TEST_KEY", "sk-test")
    monkeypatch.setattr(httpx2.AsyncClient, "send", refuse)
    with serve(reply) as server:
        assert asyncio.run(one_request(role_client(server.url), {})).content == '{"answer": "cold"}'
        with pytest.raises(AssertionError, match="httpx2"):
            asyncio.run(one_request(role_client(server.url), {"stream": True}))


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
