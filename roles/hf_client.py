"""A local transformers model behind autogen-core's `ChatCompletionClient` (none ships with autogen).

Plain text out: the roles already parse BUTTON `<call>`/`<final>` text and tool JSON, so this client
never interprets a reply. Models load lazily, once per process (a path names a model directory or a GGUF
file), and one `generate` runs at a time per model on a worker thread, so the event loop stays free.
torch and transformers are imported only here, only when an `hf:` or `smollm2` role is used.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from autogen_core import CancellationToken
from autogen_core.models import (
    AssistantMessage,
    ChatCompletionClient,
    CreateResult,
    FunctionExecutionResultMessage,
    LLMMessage,
    ModelCapabilities,
    ModelFamily,
    ModelInfo,
    RequestUsage,
    SystemMessage,
)
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel

__all__ = ["HF_MODEL_INFO", "HFChatCompletionClient", "LoadedModel", "load_model", "to_chat"]

HF_MODEL_INFO = ModelInfo(
    vision=False,
    function_calling=False,
    json_output=False,
    family=ModelFamily.UNKNOWN,
    structured_output=False,
)
_LOADED: dict[str, LoadedModel] = {}
_LOAD_LOCK = threading.Lock()


@dataclass
class LoadedModel:
    """A model, its tokenizer, and the lock that keeps one `generate` at a time on it."""

    model: Any
    tokenizer: Any
    lock: threading.Lock


def load_model(path: str) -> LoadedModel:
    """Load once per process; a `.gguf` path is dequantized by transformers (needs the gguf package)."""
    with _LOAD_LOCK:
        if path not in _LOADED:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            target = Path(path)
            if not target.exists():
                hint = " (run `make model`)" if target.suffix == ".gguf" else ""
                raise FileNotFoundError(f"no model at {path}{hint}")
            kwargs = {"gguf_file": target.name} if target.suffix == ".gguf" else {}
            folder = str(target.parent if kwargs else target)
            tokenizer = AutoTokenizer.from_pretrained(folder, **kwargs)
            model = AutoModelForCausalLM.from_pretrained(folder, **kwargs).eval()
            _LOADED[path] = LoadedModel(model, tokenizer, threading.Lock())
        return _LOADED[path]


def to_chat(messages: Sequence[LLMMessage]) -> list[dict[str, Any]]:
    """autogen messages → chat-template messages (tool results as `tool` messages)."""
    chat: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, SystemMessage):
            chat.append({"role": "system", "content": message.content})
        elif isinstance(message, FunctionExecutionResultMessage):
            chat.extend({"role": "tool", "name": r.name, "content": r.content} for r in message.content)
        elif isinstance(message, AssistantMessage):
            content = message.content
            if not isinstance(content, str):  # native calls written back as BUTTON text
                calls = [{"name": c.name, "arguments": json.loads(c.arguments or "{}")} for c in content]
                content = f"{message.thought or ''}\n<call>{json.dumps(calls)}</call>".strip()
            chat.append({"role": "assistant", "content": content})
        else:
            chat.append({"role": "user", "content": str(message.content)})
    return chat


class HFChatCompletionClient(ChatCompletionClient):
    """Greedy (or sampled, with a temperature) generation with the tokenizer's chat template."""

    def __init__(self, loaded: LoadedModel, *, max_new_tokens: int = 256, temperature: float | None = None):
        self._loaded = loaded
        self._max_new_tokens = max_new_tokens
        self._temperature = temperature
        self._usage = RequestUsage(prompt_tokens=0, completion_tokens=0)

    @classmethod
    def for_path(
        cls, path: str, *, max_new_tokens: int = 256, temperature: float | None = None
    ) -> HFChatCompletionClient:
        return cls(load_model(path), max_new_tokens=max_new_tokens, temperature=temperature)

    def _generate(self, chat: list[dict[str, Any]], tools: list[dict[str, Any]]) -> tuple[str, int, int]:
        tokenizer, model = self._loaded.tokenizer, self._loaded.model
        encoded = tokenizer.apply_chat_template(
            chat, tools=tools or None, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        sampling: dict[str, Any] = {"do_sample": False}
        if self._temperature:
            sampling = {"do_sample": True, "temperature": self._temperature}
        with self._loaded.lock:
            output = model.generate(
                **encoded,
                max_new_tokens=self._max_new_tokens,
                pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
                **sampling,
            )
        prompt = int(encoded["input_ids"].shape[1])
        new = output[0][prompt:]
        return tokenizer.decode(new, skip_special_tokens=True), prompt, int(new.shape[0])

    async def create(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> CreateResult:
        schemas = [] if tool_choice == "none" else [_tool_dict(t) for t in tools]
        text, prompt, completion = await asyncio.to_thread(self._generate, to_chat(messages), schemas)
        usage = RequestUsage(prompt_tokens=prompt, completion_tokens=completion)
        self._usage = RequestUsage(
            prompt_tokens=self._usage.prompt_tokens + prompt,
            completion_tokens=self._usage.completion_tokens + completion,
        )
        return CreateResult(finish_reason="stop", content=text, usage=usage, cached=False)

    async def create_stream(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> AsyncGenerator[str | CreateResult, None]:
        """One chunk with the whole text, then the CreateResult (the protocol's last item)."""
        result = await self.create(messages, tools=tools, tool_choice=tool_choice)
        assert isinstance(result.content, str)
        yield result.content
        yield result

    async def close(self) -> None:
        return None

    def actual_usage(self) -> RequestUsage:
        return self._usage

    def total_usage(self) -> RequestUsage:
        return self._usage

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        chat = to_chat(messages)
        ids = self._loaded.tokenizer.apply_chat_template(chat, tokenize=True, return_dict=True)["input_ids"]
        return len(ids)

    def remaining_tokens(
        self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []
    ) -> int:
        limit = int(getattr(self._loaded.model.config, "max_position_embeddings", 2048))
        return max(0, limit - self.count_tokens(messages, tools=tools))

    @property
    def capabilities(self) -> ModelCapabilities:  # type: ignore[override]
        return ModelCapabilities(vision=False, function_calling=False, json_output=False)

    @property
    def model_info(self) -> ModelInfo:
        return HF_MODEL_INFO


def _tool_dict(tool: Tool | ToolSchema) -> dict[str, Any]:
    schema = tool.schema if isinstance(tool, Tool) else tool
    return {"type": "function", "function": dict(schema)}
