"""The simulated user: asks for the task as a person would and answers the assistant's questions.

It sees only the task instruction (in its system prompt) and the assistant's plain-text replies; turns
with function calls and tool results never reach its model, as in the paper.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from autogen_agentchat.agents import BaseChatAgent
from autogen_agentchat.base import Response
from autogen_agentchat.messages import BaseChatMessage
from autogen_core import CancellationToken
from autogen_core.models import AssistantMessage, ChatCompletionClient, LLMMessage, SystemMessage, UserMessage

from datamodel.trajectory import AssistantTurn, UserTurn
from roles.messages import UserTurnMessage, turn_message, turn_of, usage_from
from roles.prompts import USER_OPENING_CUE, user_system_prompt

__all__ = ["UserRole", "visible_text"]


def visible_text(turn: AssistantTurn) -> str:
    """What a person would read of an assistant turn without calls: its note and its answer."""
    parts = [p for p in (turn.content, turn.final_answer) if p]
    return "\n".join(parts) if parts else (turn.raw or "")


class UserRole(BaseChatAgent):
    """Keeps its own model context (system, cue, assistant replies, its own turns) and asks its client."""

    def __init__(
        self,
        name: str,
        client: ChatCompletionClient,
        instruction: str,
        model_name: str = "",
        *,
        detail: str | None = None,
        follow_ups: Sequence[str] = (),
    ) -> None:
        super().__init__(name, description="A person who wants the task done; never sees tool traffic.")
        self._client = client
        self._model_name = model_name
        self._system = SystemMessage(content=user_system_prompt(instruction, detail, follow_ups))
        # Chat APIs want a user message before the first reply, so the opening request answers a cue.
        self._context: list[LLMMessage] = [
            self._system,
            UserMessage(content=USER_OPENING_CUE, source="episode"),
        ]

    @property
    def produced_message_types(self) -> Sequence[type[BaseChatMessage]]:
        return (UserTurnMessage,)

    def _absorb(self, messages: Sequence[BaseChatMessage]) -> None:
        for message in messages:
            turn = turn_of(message)
            if message.source != self.name and isinstance(turn, AssistantTurn) and not turn.tool_calls:
                self._context.append(UserMessage(content=visible_text(turn), source=message.source))
            elif message.source == self.name and isinstance(turn, UserTurn):
                # Own replies never come back to an agent: this is an earlier turn given with
                # the task (a fork's prefix), taken over as if said here.
                self._context.append(AssistantMessage(content=turn.content, source=self.name))

    async def on_messages(
        self, messages: Sequence[BaseChatMessage], cancellation_token: CancellationToken
    ) -> Response:
        self._absorb(messages)
        start = time.perf_counter()
        result = await self._client.create(self._context, cancellation_token=cancellation_token)
        latency = (time.perf_counter() - start) * 1000.0
        if not isinstance(result.content, str) or not result.content.strip():
            raise ValueError(f"user model gave no text (got {type(result.content).__name__})")
        text = result.content.strip()
        self._context.append(AssistantMessage(content=text, source=self.name))
        turn = UserTurn(content=text, usage=usage_from(result.usage, latency, self._model_name))
        return Response(chat_message=turn_message(turn, self.name))

    async def on_reset(self, cancellation_token: CancellationToken) -> None:
        self._context = self._context[:2]
