"""Composition by the paper's two strategies, with the dependency structure fixed by the strategy.

The model writes only the new sub-tasks and the merged request; who depends on whom comes from the
strategy, not from the reply, so a draft's `depends_on` is always right:
Sequential [atomic, subsequent←0]; Parallel-then-Sequential [atomic, parallel, subsequent←0,1].
"""

from __future__ import annotations

from composition.prompts import PromptTemplate
from composition.stages.atomic import check_tool_agnostic
from composition.stages.replies import ReplyError, parse_json_object, require_text
from composition.stages.scenarios import normalized
from composition.stages.types import ComposeRequest, DraftTask
from datamodel.tasks import Strategy, SubTask

__all__ = ["COMPOSE_PROMPTS", "MAX_COMPOSED_WORDS", "parse_composition", "render_composition"]

COMPOSE_PROMPTS = {
    Strategy.SEQUENTIAL: "compose_sequential",
    Strategy.PARALLEL_THEN_SEQUENTIAL: "compose_parallel",
}
MAX_COMPOSED_WORDS = 60


def render_composition(template: PromptTemplate, request: ComposeRequest) -> str:
    return template.render(atomic_task=request.atomic.instruction)


def parse_composition(text: str, request: ComposeRequest) -> DraftTask:
    """The draft: the atomic task, the new sub-task(s) and the merged instruction."""
    data = parse_json_object(text)
    composed = require_text(data, "composed_task", MAX_COMPOSED_WORDS)
    atomic = request.atomic.instruction
    if normalized(composed) == normalized(atomic):
        raise ReplyError('"composed_task" only repeats step 1; it must ask for the combined result')
    check_tool_agnostic(composed, "composed_task")
    subtasks = [SubTask(index=0, instruction=atomic)]
    if request.strategy == Strategy.PARALLEL_THEN_SEQUENTIAL:
        parallel = require_text(data, "parallel_task", 30)
        subtasks.append(SubTask(index=1, instruction=parallel))
        depends_on = [0, 1]
    elif request.strategy == Strategy.SEQUENTIAL:
        depends_on = [0]
    else:
        raise ValueError(f"no composition prompt for strategy {request.strategy.value!r}")
    subsequent = require_text(data, "subsequent_task", 30)
    subtasks.append(SubTask(index=len(subtasks), instruction=subsequent, depends_on=depends_on))
    texts = [normalized(s.instruction) for s in subtasks]
    if len(set(texts)) != len(texts):
        raise ReplyError("two steps are the same task; each step must do something different")
    return DraftTask(
        instruction=composed, strategy=request.strategy, atomic=request.atomic, subtasks=subtasks
    )
