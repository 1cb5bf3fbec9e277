"""System prompts: tools listed as JSON lines, the parallel switch, hints kept out of the exported prompt."""

from __future__ import annotations

import json
from types import ModuleType

from roles.prompts import (
    PARALLEL_OFF,
    PARALLEL_ON,
    button_system_prompt,
    hint_block,
    tool_system_prompt,
    user_system_prompt,
)


def test_button_prompt_lists_tools_and_switches_parallel(tiny_parallel_task, tiny_world: ModuleType) -> None:
    prompt = button_system_prompt(tiny_parallel_task.functions, parallel=True)
    inside = prompt.split("<tool>\n", 1)[1].split("\n</tool>", 1)[0]
    assert [json.loads(line) for line in inside.splitlines()] == [
        f.assistant_listing() for f in tiny_parallel_task.functions
    ]
    assert PARALLEL_ON in prompt and PARALLEL_OFF not in prompt
    assert PARALLEL_OFF in button_system_prompt(tiny_parallel_task.functions, parallel=False)
    assert "<call>" in prompt and "<final>" in prompt


def test_hints_are_separate_from_the_button_prompt(tiny_parallel_task) -> None:
    prompt = button_system_prompt(tiny_parallel_task.functions, parallel=True)
    hints = hint_block(tiny_parallel_task.subtasks)
    for sub in tiny_parallel_task.subtasks:
        assert sub.instruction in hints and sub.instruction not in prompt
    assert "uses the output of step 2, 3" in hints  # sub-task 3 depends on 1 and 2 (1-based in the text)


def test_user_and_tool_prompts(tiny_parallel_task, tiny_world: ModuleType) -> None:
    user = user_system_prompt(tiny_parallel_task.instruction)
    assert tiny_parallel_task.instruction in user and "get_book_author" not in user
    tool = tool_system_prompt(tiny_world.GET_AUTHOR)
    assert json.dumps(tiny_world.GET_AUTHOR.listing()) in tool and '{"error"' in tool
