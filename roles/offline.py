"""Scripted user and tool clients for the offline world (the assistant is roles/offline_assistant.py).

The user opens with the task's request, answers a question about a value the request left out, asks the
task's follow-up requests one after another, and otherwise tells the assistant to go ahead. The tool
executes calls in the world (toolmock/offline.py); the task's planned fault is played by the ToolRole
(roles/tool.py), whatever the tool's client.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from autogen_core.models import AssistantMessage, LLMMessage, UserMessage
from autogen_core.tools import Tool, ToolSchema

from datamodel.tasks import CompositionalTask
from roles.scripted import ScriptedChatCompletionClient
from toolmock.offline import Executor, execute_request

__all__ = ["CLARIFICATION_REPLY", "OfflineToolClient", "OfflineUserClient"]

CLARIFICATION_REPLY = "Please go ahead with what you have."
_ANSWERS = ("{value}.", "I mean {value}.", "It's {value}.", "{value}, please.", "Sorry, I meant {value}.")


class OfflineUserClient(ScriptedChatCompletionClient):
    """Opens with the instruction; gives a left-out value when asked, then each follow-up request after an
    answer, and otherwise a fixed go-ahead. A reply that ends with a question mark is a question."""

    def __init__(self, task: CompositionalTask) -> None:
        super().__init__()
        self._task = task
        self._rng = random.Random(f"user:{task.seed}:{task.fingerprint()}")

    def decide(self, messages: Sequence[LLMMessage], tools: Sequence[Tool | ToolSchema]) -> str:
        spoken = [
            m.content for m in messages if isinstance(m, AssistantMessage) and isinstance(m.content, str)
        ]
        heard = [m.content for m in messages if isinstance(m, UserMessage) and isinstance(m.content, str)]
        if not spoken:
            return self._task.instruction
        last = heard[-1].rstrip() if heard else ""
        withheld = self._task.withheld
        if last.endswith("?"):
            if withheld is not None and not any(withheld.text in s for s in spoken):
                return self._rng.choice(_ANSWERS).format(value=withheld.text)
            return CLARIFICATION_REPLY
        asked = [f.instruction for f in self._task.follow_ups if f.instruction in spoken]
        remaining = [f.instruction for f in self._task.follow_ups if f.instruction not in asked]
        return remaining[0] if remaining else CLARIFICATION_REPLY


class OfflineToolClient(ScriptedChatCompletionClient):
    """Executes the requested call with `executor` (toolmock/offline.py); failures become
    `{"error": <message>}` replies. `errors` are the exception types counted as a failed call; by
    default any exception. A task's planned failure is the ToolRole's to play, as for any tool client."""

    def __init__(self, executor: Executor, errors: tuple[type[Exception], ...] = (Exception,)) -> None:
        super().__init__()
        self._executor = executor
        self._errors = errors

    def decide(self, messages: Sequence[LLMMessage], tools: Sequence[Tool | ToolSchema]) -> str:
        request = next((m for m in reversed(messages) if isinstance(m, UserMessage)), None)
        text = request.content if request is not None and isinstance(request.content, str) else None
        return execute_request(self._executor, text, self._errors)
