"""An assistant's context as the chat messages a local model's chat template renders, in the layout the
model was trained on.

Three layouts, one per family of export formats (training/formats/):

- `button`: calls and results as BUTTON text (the `button` and `sharegpt` exports; tools are listed in
  the BUTTON system prompt, so the template gets none).
- `template`: native calls as `tool_calls` with dict arguments, each result as a `tool` message with the
  function's name and the call id, the tools handed to the template: exactly the `trl` record, which
  training renders through `apply_chat_template(messages, tools=...)` (the `openai` export too).
- `hermes`: for templates that ignore tools and `tool_calls` (SmolLM2's ChatML among them), the layout of
  the `hermes` export: the functions listed in the system message, each call a `<tool_call>` block in the
  assistant's text, the results of one turn as `<tool_response>` blocks in one `tool` message.

A native assistant (call format native) gets `template` when the model's template renders tools and
calls, `hermes` otherwise; the text the model writes back is read by roles/native_text.py. The layouts
match the exports message for message (tests/roles/test_chat_layouts.py holds them to it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from autogen_core import FunctionCall
from autogen_core.models import (
    AssistantMessage,
    FunctionExecutionResult,
    FunctionExecutionResultMessage,
    LLMMessage,
    SystemMessage,
)

from datamodel.button_format import render_call_block

__all__ = [
    "CHAT_LAYOUT_VERSION",
    "ChatLayout",
    "hermes_tools_prompt",
    "native_layout",
    "renders_tools",
    "to_chat",
]

ChatLayout = Literal["button", "template", "hermes"]
# Part of a local model's reply-cache namespace for native calls: change it when a layout changes, so no
# reply to a prompt laid out the old way answers the new one.
CHAT_LAYOUT_VERSION = 2
_PROBE_TOOL = "probe_tool_listed"
_PROBE_CALL = "probe_tool_called"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)  # as the exports write JSON


def hermes_tools_prompt(tools: Sequence[dict[str, Any]]) -> str:
    """What the Hermes layout adds to the system prompt: the functions' signatures and the call tags."""
    listing = "\n".join(_dumps(tool) for tool in tools)
    return (
        f"\n\nThe functions' signatures, one JSON object per line:\n<tools>\n{listing}\n</tools>\n\n"
        "Write each call as a JSON object with the function's name and arguments inside tags:\n"
        '<tool_call>\n{"name": "<function name>", "arguments": {<arguments>}}\n</tool_call>\n'
        "Each result comes back inside <tool_response></tool_response> tags."
    )


def renders_tools(tokenizer: Any) -> bool:
    """Whether the tokenizer's chat template shows the tools it is given and an assistant's `tool_calls`
    (a template that drops either cannot be given native calls)."""
    tool = {"type": "function", "function": {"name": _PROBE_TOOL, "description": "", "parameters": {}}}
    call = {"id": "c0", "type": "function", "function": {"name": _PROBE_CALL, "arguments": {}}}
    messages = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "u"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
    ]
    try:
        text = tokenizer.apply_chat_template(messages, tools=[tool], tokenize=False)
    except Exception:  # a template that raises on tools or tool_calls: it cannot render them either
        return False
    return isinstance(text, str) and _PROBE_TOOL in text and _PROBE_CALL in text


def native_layout(tokenizer: Any) -> ChatLayout:
    """The layout native calls are given to this model in."""
    return "template" if renders_tools(tokenizer) else "hermes"


def _arguments(call: FunctionCall) -> Any:
    try:
        return json.loads(call.arguments) if call.arguments.strip() else {}
    except json.JSONDecodeError:
        return call.arguments  # kept as written; never happens for calls the assistant accepted


def _payload(result: FunctionExecutionResult) -> Any:
    """What a call returned as the exports write it: the results, or {"error": why}."""
    if result.is_error:
        return {"error": result.content}
    try:
        return json.loads(result.content)
    except json.JSONDecodeError:
        return result.content


def _assistant(message: AssistantMessage, layout: ChatLayout) -> dict[str, Any]:
    content = message.content
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    thought = (message.thought or "").strip()
    if layout == "template":
        calls = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": _arguments(c)}}
            for c in content
        ]
        return {"role": "assistant", "content": thought, "tool_calls": calls}
    if layout == "hermes":
        written = [_dumps({"name": c.name, "arguments": _arguments(c)}) for c in content]
        blocks = [f"<tool_call>\n{call}\n</tool_call>" for call in written]
        return {"role": "assistant", "content": "\n".join(([thought] if thought else []) + blocks)}
    button = render_call_block([(c.name, _arguments(c)) for c in content])
    return {"role": "assistant", "content": f"{message.thought or ''}\n{button}".strip()}


def _results(message: FunctionExecutionResultMessage, layout: ChatLayout) -> list[dict[str, Any]]:
    if layout == "hermes":
        blocks = [
            f"<tool_response>\n{_dumps({'name': r.name, 'content': _payload(r)})}\n</tool_response>"
            for r in message.content
        ]
        return [{"role": "tool", "content": "\n".join(blocks)}]
    if layout == "template":
        return [
            {"role": "tool", "name": r.name, "tool_call_id": r.call_id, "content": _dumps(_payload(r))}
            for r in message.content
        ]
    return [{"role": "tool", "name": r.name, "content": r.content} for r in message.content]


def to_chat(
    messages: Sequence[LLMMessage], layout: ChatLayout = "button", tools: Sequence[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    """autogen messages → chat-template messages in `layout`; `tools` (OpenAI tool dicts) are listed in
    the system message by the Hermes layout (the template layout hands them to the template instead)."""
    chat: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, SystemMessage):
            listing = hermes_tools_prompt(tools) if layout == "hermes" and tools else ""
            chat.append({"role": "system", "content": message.content + listing})
        elif isinstance(message, FunctionExecutionResultMessage):
            chat.extend(_results(message, layout))
        elif isinstance(message, AssistantMessage):
            chat.append(_assistant(message, layout))
        else:
            chat.append({"role": "user", "content": str(message.content)})
    return chat
