"""Model clients from role settings: an OpenAI-compatible endpoint or a local transformers model.

Every client comes back wrapped in a `ManagedClient` (concurrency limit, cache, ledger, budget). The API
key is read from the environment here and handed to the SDK only; it is never part of a config, a cache
key, a log line or the database.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2  # the openai SDK's HTTP library: its client takes our response hook
from autogen_core.models import ChatCompletionClient, ModelFamily, ModelInfo
from autogen_ext.models.openai import BaseOpenAIChatCompletionClient
from openai import AsyncOpenAI, DefaultAioHttpClient

from datamodel.models import ClientSetupError, RoleModel
from roles.chat_layouts import CHAT_LAYOUT_VERSION
from roles.resilience import LLMRuntime, ManagedClient

__all__ = [
    "ENDPOINT_MODEL_INFO",
    "LOCAL_API_KEY",
    "ClientSetupError",
    "build_role_client",
    "local_weights_stamp",
    "modern_tool_calls",
    "openai_client",
]

LOCAL_API_KEY = "not-needed"  # local servers (vLLM, Ollama, llama.cpp) accept any key
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".json", ".jinja")  # .jinja: the chat template


# What an OpenAI-compatible endpoint typically offers, for model names autogen-ext's table does not know.
ENDPOINT_MODEL_INFO = ModelInfo(
    vision=False,
    function_calling=True,
    json_output=True,
    family=ModelFamily.UNKNOWN,
    structured_output=False,
)


def _api_key(role: str, settings: RoleModel) -> str:
    key = os.environ.get(settings.api_key_env)
    if key:
        return key
    if settings.base_url:
        return LOCAL_API_KEY
    raise ClientSetupError(
        f"the {role} model {settings.model!r} needs an API key: set ${settings.api_key_env} "
        "(or name another variable with api_key_env / --api-key-env, or give --base-url for a local server)"
    )


def modern_tool_calls(body: bytes) -> bytes:
    """A chat completion body with each legacy `function_call` read as the tool call it is: moved into
    `tool_calls` when the message has none (and `finish_reason` set to tool_calls), dropped when it
    repeats one (llama.cpp's server sends both). Anything else, valid or not, comes back unchanged."""
    try:
        data = json.loads(body)
    except ValueError:  # not JSON (or not UTF-8): the client's own error handling sees it as it was
        return body
    choices = data.get("choices") if isinstance(data, dict) else None
    changed = False
    for choice in choices if isinstance(choices, list) else []:
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict) or message.get("function_call") is None:
            continue
        call = message.pop("function_call")
        changed = True
        if not message.get("tool_calls") and isinstance(call, dict):
            call_id = f"call_{choice.get('index', 0)}"
            message["tool_calls"] = [{"id": call_id, "type": "function", "function": call}]
            choice["finish_reason"] = "tool_calls"
    return json.dumps(data).encode() if changed else body


class _ModernizedBody(httpx2.AsyncByteStream):
    """A response body stream that hands on `modern_tool_calls` of the whole body (replies are small)."""

    def __init__(self, inner: httpx2.AsyncByteStream) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield modern_tool_calls(b"".join([chunk async for chunk in self._inner]))

    async def aclose(self) -> None:
        await self._inner.aclose()


async def _read_legacy_function_calls(response: httpx2.Response) -> None:
    """Response hook: autogen-ext refuses a completion that carries the deprecated `function_call`, which
    some OpenAI-compatible servers still send; read it as a tool call before the SDK parses the body."""
    plain = response.headers.get("content-encoding", "identity") == "identity"
    if plain and response.headers.get("content-type", "").startswith("application/json"):
        assert isinstance(response.stream, httpx2.AsyncByteStream)  # an async client's responses
        response.stream = _ModernizedBody(response.stream)


def openai_client(
    role: str, settings: RoleModel, *, native_tools: bool, parallel: bool, max_retries: int
) -> ChatCompletionClient:
    """autogen-ext's OpenAI chat client for any OpenAI-compatible endpoint, on the stock SDK client.

    `BaseOpenAIChatCompletionClient` is what `OpenAIChatCompletionClient` builds on (message and tool
    conversion, parsing, usage); it takes the SDK client ready-made, which is how the aiohttp transport
    gets in (`DefaultAioHttpClient`, the SDK's own choice for many requests in flight). Retries, backoff
    with Retry-After and timeouts are the SDK's (`max_retries`, `timeout`). The model's capabilities are
    autogen-ext's for names its table knows, ENDPOINT_MODEL_INFO for the rest (docs/decisions.md)."""
    name = settings.spec.name
    sdk = AsyncOpenAI(
        api_key=_api_key(role, settings),
        base_url=settings.base_url,
        timeout=settings.timeout,
        max_retries=max_retries,
        http_client=DefaultAioHttpClient(event_hooks={"response": [_read_legacy_function_calls]}),
    )
    create_args: dict[str, Any] = {"model": name}
    for param in ("temperature", "max_tokens", "seed"):
        value = getattr(settings, param)
        if value is not None:
            create_args[param] = value
    if native_tools and not parallel:
        create_args["parallel_tool_calls"] = False  # only valid when tools are sent
    # include_name_in_message=False: several servers reject the "name" field.
    try:  # Without model_info the client looks the name up in autogen-ext's table of known models ...
        return BaseOpenAIChatCompletionClient(sdk, create_args=create_args, include_name_in_message=False)
    except ValueError:  # ... and refuses a name it does not know ("model_info is required ...").
        return BaseOpenAIChatCompletionClient(
            sdk, create_args=create_args, model_info=ENDPOINT_MODEL_INFO, include_name_in_message=False
        )


def local_weights_stamp(path: str) -> str:
    """Names, sizes and modification times of a local model's weight files: a model retrained into the
    same folder gets a new stamp, so the reply cache never answers for the model it replaced."""
    target = Path(path)
    files = (
        sorted(p for p in target.iterdir() if p.suffix in _WEIGHT_SUFFIXES) if target.is_dir() else [target]
    )
    stamp = [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.exists()]
    return hashlib.sha256(json.dumps(stamp).encode()).hexdigest()[:16]


def _identity(settings: RoleModel, *, native_tools: bool, parallel: bool) -> dict[str, Any]:
    """What besides the request decides a reply: the cache namespace (never the key itself)."""
    fields = settings.model_dump(exclude={"api_key_env", "timeout"})
    identity = {**fields, "native_tools": native_tools, "parallel": parallel}
    if settings.spec.kind == "hf":
        identity["weights"] = local_weights_stamp(settings.spec.name)
        if native_tools:  # how the prompt is laid out for native calls (roles/chat_layouts.py)
            identity["chat_layout"] = CHAT_LAYOUT_VERSION
    return identity


def build_role_client(
    role: str,
    settings: RoleModel,
    runtime: LLMRuntime,
    *,
    parallel: bool,
    max_retries: int,
) -> ManagedClient:
    """The managed client that plays `role` with the model named in `settings` (not `offline`)."""
    spec = settings.spec
    native_tools = role == "assistant" and settings.format == "native"
    inner: ChatCompletionClient
    if spec.kind == "openai":
        inner = openai_client(
            role, settings, native_tools=native_tools, parallel=parallel, max_retries=max_retries
        )
    elif spec.kind == "hf":
        from roles.hf_client import HFChatCompletionClient  # torch and transformers: local models only

        inner = HFChatCompletionClient.for_path(
            spec.name, max_new_tokens=settings.max_tokens or 256, temperature=settings.temperature
        )
    else:
        raise ClientSetupError(f"the {role} role is offline: it has no LLM client")
    identity = _identity(settings, native_tools=native_tools, parallel=parallel)
    return ManagedClient(inner, runtime, role=role, model=settings.model, identity=identity)
