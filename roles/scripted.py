"""A base for offline, scripted model clients behind autogen-core's `ChatCompletionClient`.

The simulator only ever talks to `ChatCompletionClient`s, so an offline run and an LLM run differ only
in the client. Subclasses implement one hook, `decide`, from the messages (and tools) they are given.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from autogen_core import CancellationToken, FunctionCall
from autogen_core.models import (
    ChatCompletionClient,
    CreateResult,
    LLMMessage,
    ModelCapabilities,
    ModelFamily,
    ModelInfo,
    RequestUsage,
)
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel

__all__ = ["SCRIPTED_MODEL_INFO", "ScriptedChatCompletionClient", "ScriptedReply"]

SCRIPTED_MODEL_INFO = ModelInfo(
    vision=False,
    function_calling=True,
    json_output=True,
    family=ModelFamily.UNKNOWN,
    structured_output=False,
)

_ZERO = RequestUsage(prompt_tokens=0, completion_tokens=0)


@dataclass(frozen=True)
class ScriptedReply:
    """A decision with an optional thought, for replies that carry both (a plan plus calls)."""

    content: str | list[FunctionCall]
    thought: str | None = None


Decision = str | list[FunctionCall] | ScriptedReply


class ScriptedChatCompletionClient(ChatCompletionClient):
    """A deterministic client: `decide(messages, tools)` is the whole model.

    Scripted clients spend no tokens, so usage is always zero; `calls` counts `create` calls, which tests
    use to show a client was (or was not) asked.
    """

    def __init__(self, model_info: ModelInfo | None = None) -> None:
        self._model_info = model_info or SCRIPTED_MODEL_INFO
        self.calls = 0

    @abstractmethod
    def decide(self, messages: Sequence[LLMMessage], tools: Sequence[Tool | ToolSchema]) -> Decision:
        """The reply to these messages: text, function calls, or both via ScriptedReply."""

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
        self.calls += 1
        decision = self.decide(messages, tools)
        reply = decision if isinstance(decision, ScriptedReply) else ScriptedReply(decision)
        return CreateResult(
            finish_reason="stop" if isinstance(reply.content, str) else "function_calls",
            content=reply.content,
            usage=_ZERO,
            cached=False,
            thought=reply.thought,
        )

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
        """Yields the text (if any) in one chunk, then the CreateResult, as the protocol requires."""
        result = await self.create(messages, tools=tools, tool_choice=tool_choice, json_output=json_output)
        if isinstance(result.content, str):
            yield result.content
        yield result

    async def close(self) -> None:
        return None

    def actual_usage(self) -> RequestUsage:
        return _ZERO

    def total_usage(self) -> RequestUsage:
        return _ZERO

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        """A rough count (4 characters a token); scripted clients have no tokenizer."""
        return sum(len(str(m.content)) for m in messages) // 4

    def remaining_tokens(
        self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []
    ) -> int:
        return max(0, 1_000_000 - self.count_tokens(messages, tools=tools))

    @property
    def capabilities(self) -> ModelCapabilities:  # type: ignore[override]
        return ModelCapabilities(vision=False, function_calling=True, json_output=True)

    @property
    def model_info(self) -> ModelInfo:
        return self._model_info
