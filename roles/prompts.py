"""System prompts of the three roles, in our own words.

`button_system_prompt` is what the exported training data carries, so it never includes the sub-task
hints; the assistant role appends `hint_block` only while simulating. Prompts are plain string building
(no templates engine): they are built once per episode and must stay cheap.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from datamodel.button_format import JSON_SEPARATORS
from datamodel.tasks import FunctionSpec, SubTask

__all__ = [
    "PARALLEL_OFF",
    "PARALLEL_ON",
    "USER_OPENING_CUE",
    "assistant_feedback",
    "button_system_prompt",
    "hint_block",
    "native_system_prompt",
    "tool_feedback",
    "tool_history_block",
    "tool_system_prompt",
    "user_system_prompt",
]

PARALLEL_ON = "You may put several independent calls in one <call> list; all results come back together."
PARALLEL_OFF = "Put exactly one call in each <call> list and wait for its result before the next."

USER_OPENING_CUE = "The assistant is ready. Write your request."

# What a reply may do when the request is not a plain lookup: ask, refuse, recover. Shared wording.
_SITUATIONS = """\
- If a needed detail is missing, ask for it; never invent it. If no function fits, say so in
  <final> and call nothing. If a call fails, retry a temporary error, fix a value the error points
  out, or tell the user."""

_ASSISTANT_RULES = (
    """\
You are a capable assistant. Solve the user's request with these functions (one per line;
`responses` lists the fields a result has):
<tool>
{tools}
</tool>

Rules:
- Start each reply with a short note: first your plan; later what the new results say and what comes
  next. Work out any arithmetic, count or comparison there, step by step.
- To call functions, end with <call>[{{"name":"function_name","arguments":{{...}}}}]</call>, using only
  the functions above. Results come back as a JSON list of {{"name","arguments","results"}}.
- To answer, end with <final>a full sentence that answers the request</final>.
"""
    + _SITUATIONS
    + "\n{parallel}"
)


def button_system_prompt(functions: Sequence[FunctionSpec], parallel: bool) -> str:
    """The BUTTON-style assistant system prompt: tools inside <tool>, call/final format, parallel switch."""
    tools = "\n".join(
        json.dumps(f.assistant_listing(), ensure_ascii=False, separators=JSON_SEPARATORS) for f in functions
    )
    return _ASSISTANT_RULES.format(tools=tools, parallel=PARALLEL_ON if parallel else PARALLEL_OFF)


_NATIVE_RULES = (
    """\
You are a capable assistant. Solve the user's request with the functions you are given through the
function-calling interface.

Rules:
- Start each reply with a short note: first your plan; later what the new results say and what comes
  next. Work out any arithmetic, count or comparison there, step by step.
- Then call functions, using only the ones you are given.
- To answer, reply with <final>a full sentence that answers the request</final>.
"""
    + _SITUATIONS
    + "\n{parallel}"
)

_NATIVE_PARALLEL_ON = "You may make several independent calls at once; you get all results together."
_NATIVE_PARALLEL_OFF = "Make exactly one call at a time; wait for its result before making the next."


def native_system_prompt(parallel: bool) -> str:
    """The assistant prompt when functions travel as native tools (the API carries their schemas)."""
    return _NATIVE_RULES.format(parallel=_NATIVE_PARALLEL_ON if parallel else _NATIVE_PARALLEL_OFF)


def assistant_feedback(problem: str, native: bool) -> str:
    """What a malformed assistant reply is told before it is asked again."""
    how = (
        "call functions through the function-calling interface with a JSON object of arguments, "
        "or answer with <final>...</final>"
        if native
        else 'end with exactly one <call>[{"name": ..., "arguments": {...}}]</call> block of valid JSON, '
        "or with one <final>...</final> block"
    )
    return f"Your last reply could not be used: {problem}. Reply again: a short note, then {how}."


def tool_feedback(problem: str) -> str:
    """What a tool simulator whose reply did not fit the `responses` schema is told before a retry."""
    return (
        f"That reply cannot be used: {problem}. Reply again with only one JSON object that follows "
        "the function's `responses` schema."
    )


def tool_history_block(history: Sequence[str]) -> str:
    """Earlier calls of the same conversation and their results, so simulated values stay consistent."""
    if not history:
        return ""
    lines = "\n".join(history)
    return (
        "\n\nCalls already answered in this conversation (stay consistent with them; the same entity "
        f"keeps the same facts):\n{lines}"
    )


def hint_block(subtasks: Sequence[SubTask]) -> str:
    """The hidden top-down hint: the sub-task decomposition, appended to the prompt while simulating."""
    lines = ["", "Private guidance (do not mention it): the request breaks down into these steps."]
    for sub in subtasks:
        needs = f"functions: {', '.join(sub.functions)}" if sub.functions else "no function: do it yourself"
        uses = ", ".join(str(d + 1) for d in sub.depends_on)
        after = f" (uses the output of step {uses})" if uses else ""
        lines.append(f"{sub.index + 1}. {sub.instruction} [{needs}]{after}")
    return "\n".join(lines)


def user_system_prompt(instruction: str, detail: str | None = None, follow_ups: Sequence[str] = ()) -> str:
    """The simulated user's persona: ask for the task as a person would, then answer questions briefly;
    `detail` is a value left out of the request (given only when asked), `follow_ups` the requests to
    make after each answer, in order."""
    parts = [
        "You play a person asking an assistant for help. This is what you want:\n"
        f"{instruction}\n\n"
        "Ask for it in your own words, in one message. Do not describe steps or mention any function or "
        "tool. If the assistant asks you something, answer briefly from what you know here; if you do not "
        "know, tell it to go ahead with what it has. Never invent new requirements."
    ]
    if detail is not None:
        parts.append(
            f"Your request leaves one detail out on purpose: {detail}. Do not say it in your first message; "
            "give it, and only it, when the assistant asks."
        )
    if follow_ups:
        listed = "\n".join(f"{i}. {text}" for i, text in enumerate(follow_ups, start=1))
        parts.append(
            "After the assistant answers, ask these next, one per message, each after the answer to the "
            f"one before, in your own words:\n{listed}"
        )
    if detail is None:
        parts.append("Every detail the assistant needs is in the request.")
    parts.append("Write only your message, nothing else.")
    return "\n\n".join(parts)


def tool_system_prompt(spec: FunctionSpec) -> str:
    """The tool simulator's contract: act as this one function and reply with one JSON result object."""
    listing = json.dumps(spec.listing(), ensure_ascii=False)
    return (
        "You simulate the execution of one function. Its definition:\n"
        f"{listing}\n\n"
        'You receive a JSON object {"name": ..., "arguments": {...}}. Reply with only a JSON object that '
        "follows the function's `responses` schema, with realistic, internally consistent values. If the "
        'arguments cannot be served, reply with {"error": "<why>"} instead.'
    )
