"""Typed intermediate values of the bottom-up stages that composition/schema.py does not define.

They are what a stage item stores as its input or output JSON, so a resumed run reads them back exactly.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from datamodel.tasks import AtomicTask, Scenario, Strategy, SubTask

__all__ = ["ComposeRequest", "DraftTask", "ExpandRequest", "ScenarioList", "Verdict"]


class ExpandRequest(BaseModel):
    """Ask for `count` new scenarios substantially different from `scenario`."""

    scenario: Scenario = Field(description="The scenario to move away from.")
    count: int = Field(ge=1, description="How many new scenarios to ask for.")


class ScenarioList(BaseModel):
    """The new scenarios one expansion call produced."""

    scenarios: list[Scenario] = Field(min_length=1, description="New scenarios, in the model's order.")


class ComposeRequest(BaseModel):
    """Compose a task from an atomic task by one strategy."""

    atomic: AtomicTask = Field(description="The task the composition starts from (sub-task 0).")
    strategy: Strategy = Field(description="Sequential or parallel_then_sequential.")


class DraftTask(BaseModel):
    """A composed task before its functions exist: the instruction and its ordered sub-tasks."""

    instruction: str = Field(description="The composed task as the user will ask it.")
    strategy: Strategy = Field(description="How it was composed.")
    atomic: AtomicTask = Field(description="The atomic task it started from.")
    subtasks: list[SubTask] = Field(min_length=2, description="Ordered sub-tasks, no functions yet.")


class Verdict(BaseModel):
    """The filter judge's answer on one draft: yes/no and the analysis that led to it."""

    accepted: bool = Field(description="True when the sub-tasks really complete the composed task.")
    analysis: str = Field(description="The judge's reasoning, kept for people reviewing rejections.")
