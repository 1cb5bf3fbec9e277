"""Ask a model until its reply parses: the malformed reply and the reason go back as feedback.

Only replies that cannot be used are retried here; transport errors (HTTP, timeouts, a spent budget)
propagate, so the item stays unfinished and a resumed run asks again. HTTP retries belong to the SDK and
the managed client (roles/resilience.py), not to this loop.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from autogen_core.models import AssistantMessage, ChatCompletionClient, LLMMessage, UserMessage
from pydantic import ValidationError

from composition.prompts import PromptTemplate
from composition.stages.replies import ReplyError, describe_validation_error

__all__ = ["Attempt", "ask_until_valid", "model_name"]

OutT = TypeVar("OutT")
_SOURCE = "bottom_up"


@dataclass(frozen=True)
class Attempt(Generic[OutT]):
    """The outcome of asking: a parsed output, or the reason the last reply was still unusable."""

    output: OutT | None
    reason: str | None
    raw: str
    attempts: int
    prompt_tokens: int
    completion_tokens: int


def model_name(client: ChatCompletionClient) -> str:
    """The model a client stands for, as stored with each item (managed clients carry their spec)."""
    named = getattr(client, "model", None)
    if isinstance(named, str):
        return named
    raw_config = getattr(client, "_raw_config", None)  # autogen-ext's OpenAI client keeps it here
    if isinstance(raw_config, dict) and isinstance(raw_config.get("model"), str):
        return str(raw_config["model"])
    return type(client).__name__


def _reply_text(content: object) -> str:
    return content if isinstance(content, str) else json.dumps([getattr(c, "name", str(c)) for c in content])  # type: ignore[attr-defined]


async def ask_until_valid(
    client: ChatCompletionClient,
    prompt: str,
    parse: Callable[[str], OutT],
    *,
    feedback: PromptTemplate,
    max_retries: int,
) -> Attempt[OutT]:
    """Send `prompt`; on an unusable reply add it and the feedback to the conversation and ask again,
    at most `max_retries` more times."""
    messages: list[LLMMessage] = [UserMessage(content=prompt, source=_SOURCE)]
    prompt_tokens = completion_tokens = 0
    reason, raw = "", ""
    for attempt in range(1, max_retries + 2):
        result = await client.create(messages)
        prompt_tokens += result.usage.prompt_tokens
        completion_tokens += result.usage.completion_tokens
        raw = _reply_text(result.content)
        try:
            if not isinstance(result.content, str):
                raise ReplyError("expected a text answer, got function calls")
            if result.finish_reason == "length":
                raise ReplyError("the answer was cut off (too long); answer more briefly")
            output = parse(result.content)
        except ReplyError as exc:
            reason = str(exc)
        except ValidationError as exc:
            reason = describe_validation_error(exc)
        else:
            return Attempt(output, None, raw, attempt, prompt_tokens, completion_tokens)
        messages.append(AssistantMessage(content=raw, source="model"))
        messages.append(UserMessage(content=feedback.render(error=reason), source=_SOURCE))
    return Attempt(
        None,
        f"no usable reply in {max_retries + 1} attempts; last: {reason}",
        raw,
        max_retries + 1,
        prompt_tokens,
        completion_tokens,
    )
