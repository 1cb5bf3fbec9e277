"""The filter judge: do the sub-tasks really complete the composed task? Analysis first, then yes/no."""

from __future__ import annotations

from composition.prompts import PromptTemplate
from composition.stages.replies import parse_verdict
from composition.stages.types import DraftTask, Verdict
from datamodel.tasks import SubTask

__all__ = ["describe_steps", "parse_judgement", "render_judgement"]


def describe_steps(subtasks: list[SubTask]) -> str:
    """Numbered steps, 1-based as people count, each with the earlier steps whose results it uses."""
    lines = []
    for sub in subtasks:
        uses = ", ".join(f"step {d + 1}" for d in sub.depends_on)
        lines.append(f"{sub.index + 1}. {sub.instruction}" + (f" (uses: {uses})" if uses else ""))
    return "\n".join(lines)


def render_judgement(template: PromptTemplate, draft: DraftTask) -> str:
    return template.render(composed_task=draft.instruction, subtasks=describe_steps(draft.subtasks))


def parse_judgement(text: str, draft: DraftTask) -> Verdict:
    accepted, analysis = parse_verdict(text)
    return Verdict(accepted=accepted, analysis=analysis)
