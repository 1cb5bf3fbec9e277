"""Atomic task generation: one self-contained, tool-agnostic, one-step task per scenario."""

from __future__ import annotations

import re

from composition.prompts import PromptTemplate
from composition.stages.replies import ReplyError, parse_json_object, require_text
from datamodel.tasks import AtomicTask, Scenario

__all__ = ["TOOL_WORDS", "check_tool_agnostic", "parse_atomic", "render_atomic"]

# What gives the means away (function-agnostic): an API or endpoint, or a snake_case identifier such as
# a function name. Plain words like "tool" are left alone: "rent a garden tool" is a fine task.
TOOL_WORDS = re.compile(r"\b(api|apis|endpoint)\b|\b[a-z]+(?:_[a-z0-9]+)+\b", re.IGNORECASE)


def check_tool_agnostic(text: str, field: str) -> None:
    """ReplyError when a task names a tool, function or API."""
    match = TOOL_WORDS.search(text)
    if match:
        raise ReplyError(f'"{field}" mentions {match.group(0)!r}; say what is wanted, not which tool to use')


def render_atomic(template: PromptTemplate, scenario: Scenario) -> str:
    return template.render(scenario=scenario.text, domain=scenario.domain)


def parse_atomic(text: str, scenario: Scenario) -> AtomicTask:
    """The atomic task: at most 30 words and tool-agnostic."""
    task = require_text(parse_json_object(text), "task", 30)
    check_tool_agnostic(task, "task")
    return AtomicTask(instruction=task, scenario=scenario)
