"""The messages the three agents exchange: AgentChat `StructuredMessage`s whose content is the turn itself.

Why StructuredMessage rather than TextMessage + metadata: the content is the typed trajectory turn
(`UserTurn`, `AssistantTurn`, `ToolTurn`), so the episode rebuilds the exact Trajectory from
the episode's messages by taking `.content`: no JSON squeezed into `metadata` (which only holds
strings), no re-parsing. They are the agents' `produced_message_types`, so the messages stay
serializable the AgentChat way.
"""

from __future__ import annotations

from autogen_agentchat.messages import BaseAgentEvent, BaseChatMessage, StructuredMessage
from autogen_core.models import RequestUsage

from datamodel.trajectory import AssistantTurn, ToolTurn, Turn, Usage, UserTurn

__all__ = [
    "AssistantTurnMessage",
    "ToolTurnMessage",
    "UserTurnMessage",
    "turn_message",
    "turn_of",
    "usage_from",
]

UserTurnMessage = StructuredMessage[UserTurn]
AssistantTurnMessage = StructuredMessage[AssistantTurn]
ToolTurnMessage = StructuredMessage[ToolTurn]


def _request_usage(usage: Usage | None) -> RequestUsage | None:
    if usage is None:
        return None
    return RequestUsage(prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens)


def turn_message(turn: Turn, source: str) -> BaseChatMessage:
    """Wrap a turn as its agent's message, with `models_usage` so AgentChat's token conditions see it."""
    usage = _request_usage(turn.usage)
    if isinstance(turn, UserTurn):
        return UserTurnMessage(content=turn, source=source, models_usage=usage)
    if isinstance(turn, AssistantTurn):
        return AssistantTurnMessage(content=turn, source=source, models_usage=usage)
    return ToolTurnMessage(content=turn, source=source, models_usage=usage)


def turn_of(message: BaseAgentEvent | BaseChatMessage) -> Turn | None:
    """The trajectory turn an episode message carries, or None for anything else (the task, stop messages)."""
    if isinstance(message, StructuredMessage) and isinstance(
        message.content, UserTurn | AssistantTurn | ToolTurn
    ):
        return message.content
    return None


def usage_from(request: RequestUsage | None, latency_ms: float, model: str) -> Usage:
    """A turn's Usage from a client's RequestUsage (tokens may be missing) and the measured latency."""
    return Usage(
        prompt_tokens=request.prompt_tokens if request else 0,
        completion_tokens=request.completion_tokens if request else 0,
        latency_ms=round(latency_ms, 3),
        model=model,
    )
