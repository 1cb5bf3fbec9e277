"""Scores of one evaluated conversation, and their aggregates, after BUTTON's Tool-Query measures.

The model under test plays the Assistant on a held-out task. Its trajectory is scored against the task's
ground truth where there is one (success: the final answer states the reference answer; progress: the
reference function steps done right and in order) and on its own otherwise (grounding: calls that name an
offered function with schema-valid arguments; format errors; parallel calls). A task with a behaviour
(datamodel/behaviours.py) is also scored by that behaviour's check (asked instead of guessing, answered
every follow-up, refused when nothing fits, recovered from the error) and, with look-alikes offered, by
right_twin. Pure functions built on the verification layers of simulator.verify, so an evaluation and the
data filter judge a conversation alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from datamodel.behaviours import Behaviour
from datamodel.tasks import CompositionalTask
from datamodel.trajectory import AssistantTurn, ToolCall, Trajectory
from simulator.verify import (
    check_answer_correct,
    check_final_answer_present,
    steps_in_order,
    whole_reference,
)
from simulator.verify_behaviours import check_behaviour, check_right_twin
from toolmock.validate import validate_arguments

__all__ = [
    "LOOK_ALIKE_GROUP",
    "EpisodeMetrics",
    "MetricSummary",
    "Scored",
    "breakdowns",
    "behaviour_sort_key",
    "breakdowns_by",
    "episode_metrics",
    "summarize",
]


class EpisodeMetrics(BaseModel):
    """The counts behind every measure of one evaluated conversation; ratios are derived, never stored."""

    model_config = ConfigDict(frozen=True)

    success: bool | None = Field(
        description="Whether the final answer states the reference answer; None when the task has none."
    )
    required_steps: int = Field(
        ge=0,
        description="Reference steps that call a function; without a reference, the (sub-task, function) "
        "pairs the sub-tasks need.",
    )
    correct_steps: int = Field(
        ge=0,
        description="Reference function steps made with the right function and arguments (resolved from the "
        "actual earlier results) after their inputs were known; without a reference, the needed "
        "(sub-task, function) pairs whose function was called.",
    )
    n_calls: int = Field(ge=0, description="Calls made, hallucinated functions included.")
    valid_calls: int = Field(
        ge=0, description="Calls naming an offered function with arguments valid against its JSON Schema."
    )
    n_assistant_turns: int = Field(ge=0, description="Assistant turns, malformed ones included.")
    format_errors: int = Field(ge=0, description="Assistant turns whose raw output could not be parsed.")
    n_turns: int = Field(ge=0, description="Turns of every role.")
    call_turns: int = Field(ge=0, description="Assistant turns with at least one call.")
    parallel_turns: int = Field(ge=0, description="Assistant turns with two or more calls.")
    answered: bool = Field(description="Whether a non-empty final answer was given.")
    behaviour_passed: bool | None = Field(
        default=None,
        description="Whether the behaviour's own check passed; None for a plain task or where the check "
        "does not apply (a planned failure the conversation never reached).",
    )
    twin_passed: bool | None = Field(
        default=None, description="Whether no call went to a look-alike; None when none was offered."
    )

    @model_validator(mode="after")
    def _consistent(self) -> EpisodeMetrics:
        """A part never exceeds its whole: metrics loaded from a store are checked like fresh ones."""
        pairs = [
            ("correct_steps", "required_steps"),
            ("valid_calls", "n_calls"),
            ("format_errors", "n_assistant_turns"),
            ("parallel_turns", "call_turns"),
            ("call_turns", "n_assistant_turns"),
            ("n_assistant_turns", "n_turns"),
        ]
        for part, whole in pairs:
            if getattr(self, part) > getattr(self, whole):
                raise ValueError(f"{part}={getattr(self, part)} exceeds {whole}={getattr(self, whole)}")
        return self

    @property
    def progress(self) -> float:
        """Share of the required steps done right; 1.0 when nothing was required (nothing left undone)."""
        return self.correct_steps / self.required_steps if self.required_steps else 1.0

    @property
    def grounding(self) -> float | None:
        """Share of calls that were well-formed against the offered functions; None without calls."""
        return self.valid_calls / self.n_calls if self.n_calls else None


class MetricSummary(BaseModel):
    """Measures over many conversations. Rates of events (calls, turns) are pooled (micro); success and
    progress are per conversation (macro), so a long conversation does not outweigh a short one."""

    model_config = ConfigDict(frozen=True)

    n: int = Field(ge=0, description="Conversations summarized.")
    success_rate: float | None = Field(
        description="Mean success over conversations with a reference answer; None when none has one."
    )
    progress_rate: float | None = Field(description="Mean per-conversation progress; None without any.")
    grounding: float | None = Field(description="Valid calls over all calls; None without calls.")
    format_error_rate: float | None = Field(
        description="Malformed assistant turns over all assistant turns; None without assistant turns."
    )
    mean_turns: float | None = Field(description="Mean number of turns; None without conversations.")
    parallel_use: float | None = Field(
        description="Turns with two or more calls over turns with calls; None without calls."
    )
    answer_rate: float | None = Field(
        description="Share of conversations with a final answer; None without conversations."
    )
    behaviour_rate: float | None = Field(
        default=None,
        description="Share of conversations whose behaviour check passed, over those it applies to; None "
        "without any.",
    )
    twin_rate: float | None = Field(
        default=None,
        description="Share of conversations offering look-alikes that called none; None without any.",
    )


def _valid(task: CompositionalTask, call: ToolCall) -> bool:
    """Grounded: the function is offered and the arguments fit its schema (what the tool made of them,
    an error included, is the world's business, not the model's)."""
    spec = task.function(call.name)
    return spec is not None and validate_arguments(spec, call.arguments) is None


def _steps(task: CompositionalTask, trajectory: Trajectory) -> tuple[int, int]:
    """(required, correct) steps: against the reference (follow-ups' steps included) when there is one,
    else by the functions the sub-tasks need (pairs, so a function two sub-tasks need counts twice on both
    sides)."""
    reference = whole_reference(task)
    if reference is not None:
        required = sum(1 for step in reference.steps if step.function is not None)
        return required, len(steps_in_order(task, reference, trajectory))
    called = {call.name for call in trajectory.calls}
    needed = [name for sub in task.subtasks for name in sub.functions]
    return len(needed), sum(1 for name in needed if name in called)


def episode_metrics(task: CompositionalTask, trajectory: Trajectory) -> EpisodeMetrics:
    """Score one conversation the model under test had on a task."""
    assistant = [turn for turn in trajectory.turns if isinstance(turn, AssistantTurn)]
    answer = check_answer_correct(task, trajectory)
    required, correct = _steps(task, trajectory)
    calls = trajectory.calls
    behaviour = check_behaviour(task, trajectory)
    twin = check_right_twin(task, trajectory)
    return EpisodeMetrics(
        success=answer.passed if answer.applicable else None,
        required_steps=required,
        correct_steps=correct,
        n_calls=len(calls),
        valid_calls=sum(1 for call in calls if _valid(task, call)),
        n_assistant_turns=len(assistant),
        format_errors=sum(1 for turn in assistant if turn.format_error is not None),
        n_turns=len(trajectory.turns),
        call_turns=sum(1 for turn in assistant if turn.tool_calls),
        parallel_turns=sum(1 for turn in assistant if len(turn.tool_calls) >= 2),
        answered=check_final_answer_present(task, trajectory).passed,
        behaviour_passed=behaviour.passed if behaviour is not None and behaviour.applicable else None,
        twin_passed=twin.passed if twin.applicable else None,
    )


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(metrics: Iterable[EpisodeMetrics]) -> MetricSummary:
    """Aggregate conversations; a measure with nothing to measure is None, never a misleading 0 or 1."""
    items = list(metrics)
    return MetricSummary(
        n=len(items),
        success_rate=_mean([float(m.success) for m in items if m.success is not None]),
        progress_rate=_mean([m.progress for m in items]),
        grounding=_ratio(sum(m.valid_calls for m in items), sum(m.n_calls for m in items)),
        format_error_rate=_ratio(
            sum(m.format_errors for m in items), sum(m.n_assistant_turns for m in items)
        ),
        mean_turns=_mean([float(m.n_turns) for m in items]),
        parallel_use=_ratio(sum(m.parallel_turns for m in items), sum(m.call_turns for m in items)),
        answer_rate=_mean([float(m.answered) for m in items]),
        behaviour_rate=_mean([float(m.behaviour_passed) for m in items if m.behaviour_passed is not None]),
        twin_rate=_mean([float(m.twin_passed) for m in items if m.twin_passed is not None]),
    )


@dataclass(frozen=True)
class Scored:
    """One evaluated conversation as the breakdowns group it: its task's cuts and its metrics."""

    strategy: str
    n_subtasks: int
    behaviour: str
    look_alike: bool
    metrics: EpisodeMetrics


# The group of the behaviour cut that holds every conversation offering look-alikes, whatever its
# behaviour (a task has one behaviour and may offer look-alikes besides).
LOOK_ALIKE_GROUP = "look_alike"
BEHAVIOUR_GROUPS = (*(b.value for b in Behaviour), LOOK_ALIKE_GROUP)


def breakdowns(
    items: Sequence[tuple[CompositionalTask, EpisodeMetrics]],
) -> dict[str, dict[str, MetricSummary]]:
    """Summaries overall, by composition strategy, by number of sub-tasks (keys sorted, sub-task counts
    numerically) and by behaviour, to show where a model fails: longer or parallel compositions, one
    behaviour, or everywhere."""
    return breakdowns_by(
        [
            Scored(task.strategy.value, len(task.subtasks), task.behaviour.value, bool(task.look_alikes), m)
            for task, m in items
        ]
    )


def breakdowns_by(items: Sequence[Scored]) -> dict[str, dict[str, MetricSummary]]:
    """`breakdowns` from the cuts as the store keeps them. The behaviour cut has a group per behaviour and
    one more, `look_alike`, for the conversations that offered look-alikes."""
    by_strategy: dict[str, list[EpisodeMetrics]] = defaultdict(list)
    by_size: dict[int, list[EpisodeMetrics]] = defaultdict(list)
    by_behaviour: dict[str, list[EpisodeMetrics]] = defaultdict(list)
    for item in items:
        by_strategy[item.strategy].append(item.metrics)
        by_size[item.n_subtasks].append(item.metrics)
        by_behaviour[item.behaviour].append(item.metrics)
        if item.look_alike:
            by_behaviour[LOOK_ALIKE_GROUP].append(item.metrics)
    return {
        "overall": {"all": summarize(item.metrics for item in items)},
        "strategy": {key: summarize(by_strategy[key]) for key in sorted(by_strategy)},
        "n_subtasks": {str(key): summarize(by_size[key]) for key in sorted(by_size)},
        "behaviour": {
            key: summarize(by_behaviour[key]) for key in sorted(by_behaviour, key=behaviour_sort_key)
        },
    }


def behaviour_sort_key(group: str) -> tuple[int, str]:
    """Plain first, then the behaviours as declared, look-alikes last: the order tables and charts show."""
    return (BEHAVIOUR_GROUPS.index(group) if group in BEHAVIOUR_GROUPS else len(BEHAVIOUR_GROUPS), group)
