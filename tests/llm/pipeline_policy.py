"""A scripted "LLM" for the test server that plays a whole `--source llm` run, in every role.

Bottom-up prompts (told apart by their heading) go to the bottom-up script of the composition tests, so
the stages answer here exactly as they do in-process. LLM-made tasks have no ground truth, so the
assistant and the tool follow the task's own contract instead: the assistant reads the functions and
the sub-task hints from its system prompt and calls each step's functions in order, with arguments made
from the JSON Schema (or taken from earlier results when a parameter's name matches an output key), then
answers in a <final> block; the tool replies with JSON made from the function's `responses` schema.
Every answer is derived from the request alone, so it does not depend on the order requests arrive in.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autogen_core import FunctionCall
from autogen_core.models import (
    AssistantMessage,
    FunctionExecutionResultMessage,
    LLMMessage,
    SystemMessage,
    UserMessage,
)
from openai_server import Reply
from world_policy import to_autogen

from tests.conftest import load_test_module

__all__ = ["PipelinePolicy", "bottom_up_script", "value_for"]

_script = load_test_module(
    "button_tests_llm_script", Path(__file__).parents[1] / "composition" / "llm_script.py"
)
bottom_up_script = _script
_TOOLS = re.compile(r"<tool>\n(.*?)\n</tool>", re.DOTALL)
_HINT = re.compile(r"^\d+\. .*\[(?:functions: ([^\]]*)|no function[^\]]*)\]", re.MULTILINE)
_WANT = re.compile(r"This is what you want:\n(.*?)\n\n", re.DOTALL)


def value_for(name: str, schema: dict[str, Any], salt: str = "") -> Any:
    """A JSON value valid for `schema` (the subset function specs use: types, enums, objects, arrays)."""
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    number = zlib.crc32(f"{name}:{salt}".encode()) % 97 + 1
    if kind == "object":
        properties = schema.get("properties", {})
        return {key: value_for(key, sub, salt) for key, sub in properties.items()}
    if kind == "array":
        return [value_for(name, schema.get("items", {}), salt)] * max(1, schema.get("minItems", 1))
    simple: dict[str, Any] = {
        "integer": number,
        "number": number + 0.5,
        "boolean": True,
        "null": None,
    }
    return simple.get(kind, f"{name}-{number}")


def _find(key: str, value: Any) -> Any:
    """The value of the first `key` anywhere inside a result (None when absent)."""
    if isinstance(value, dict):
        if key in value:
            return value[key]
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            found = _find(key, item)
            if found is not None:
                return found
    return None


def _schemas(request: dict[str, Any], system: str) -> dict[str, dict[str, Any]]:
    """Function name → parameters schema, from native tools or the prompt's <tool> listing."""
    if request.get("tools"):
        return {t["function"]["name"]: t["function"]["parameters"] for t in request["tools"]}
    match = _TOOLS.search(system)
    listings = [json.loads(line) for line in match.group(1).splitlines()] if match else []
    return {f["name"]: f["parameters"] for f in listings}


def _arguments(schema: dict[str, Any], results: list[Any], salt: str) -> dict[str, Any]:
    properties: dict[str, Any] = schema.get("properties", {})
    names = schema.get("required") or list(properties)
    arguments = {}
    for name in names:
        earlier = next((v for r in reversed(results) if (v := _find(name, r)) is not None), None)
        arguments[name] = earlier if earlier is not None else value_for(name, properties[name], salt)
    return arguments


class PipelinePolicy:
    """Answers bottom-up prompts, and plays user, assistant and tool for LLM-made tasks."""

    def __init__(self) -> None:
        self.script = _script.BottomUpScript(faults=True)

    def __call__(self, request: dict[str, Any]) -> Reply:
        messages = to_autogen(request["messages"])
        first = str(messages[0].content)
        if first.splitlines()[0].strip() in _script._HEADINGS:
            return Reply(content=self.script.decide(messages, []))
        system = first if isinstance(messages[0], SystemMessage) else ""
        if "simulate the execution" in system:
            return Reply(content=self._tool(system, messages))
        if "play a person" in system:
            return Reply(content=self._user(system, messages))
        return self._assistant(request, system, messages)

    def _tool(self, system: str, messages: Sequence[LLMMessage]) -> str:
        listing = json.loads(system.split("Its definition:\n", 1)[1].split("\n\n", 1)[0])
        call = next(str(m.content) for m in messages if isinstance(m, UserMessage))
        return json.dumps(value_for(listing["name"], listing["responses"], salt=call))

    def _user(self, system: str, messages: Sequence[LLMMessage]) -> str:
        if any(isinstance(m, AssistantMessage) for m in messages):
            return "Please go ahead with what you have."
        match = _WANT.search(system)
        return match.group(1) if match else "Please help me."

    def _assistant(self, request: dict[str, Any], system: str, messages: Sequence[LLMMessage]) -> Reply:
        schemas = _schemas(request, system)
        steps = [[n.strip() for n in names.split(",") if n.strip()] for names in _HINT.findall(system)]
        steps = [step for step in steps if step]
        made = sum(len(m.content) for m in messages if isinstance(m, AssistantMessage) and _calls(m))
        results = [
            json.loads(r.content)
            for m in messages
            if isinstance(m, FunctionExecutionResultMessage)
            for r in m.content
        ]
        batch = _next_batch(steps, made, parallel="several independent calls" in system)
        if not batch:
            summary = json.dumps(results[-1]) if results else "nothing to look up"
            return Reply(content=f"All steps are done.\n<final>Here is what I found: {summary}</final>")
        calls = [
            FunctionCall(id=f"call_{made + k}", name=name, arguments=json.dumps(
                _arguments(schemas[name], results, salt=f"{made + k}")
            ))
            for k, name in enumerate(batch)
        ]  # fmt: skip
        if request.get("tools"):
            return Reply(content="Next step.", tool_calls=[(c.id, c.name, c.arguments) for c in calls])
        items = [{"id": c.id, "name": c.name, "arguments": json.loads(c.arguments)} for c in calls]
        return Reply(content=f"Next step.\n<call>{json.dumps(items)}</call>")


def _calls(message: AssistantMessage) -> bool:
    return isinstance(message.content, list)


def _next_batch(steps: list[list[str]], made: int, *, parallel: bool) -> list[str]:
    """The calls of the next turn: the rest of the current step (or its next one, one at a time)."""
    for step in steps:
        if made >= len(step):
            made -= len(step)
            continue
        return step[made:] if parallel else [step[made]]
    return []
