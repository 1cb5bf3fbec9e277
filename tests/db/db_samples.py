"""Small literal tasks and trajectories for the storage tests (the real offline world lives elsewhere)."""

from __future__ import annotations

from datamodel.checks import CheckName, CheckResult
from datamodel.reference import LiteralArg, LogicOp, RefArg, ReferenceStep, TaskReference
from datamodel.tasks import AtomicTask, CompositionalTask, FunctionSpec, Scenario, Strategy, SubTask
from datamodel.trajectory import (
    AssistantTurn,
    TerminationReason,
    ToolCall,
    ToolResult,
    ToolTurn,
    Trajectory,
    Usage,
    UserTurn,
)

__all__ = ["BOOKS", "all_passed", "checks_failing", "sample_task", "sample_trajectory", "spec"]

BOOKS = Scenario(text="looking up facts about books", domain="books")


def spec(name: str, output: str, *, description: str = "") -> FunctionSpec:
    """A one-argument function returning one string field."""
    return FunctionSpec(
        name=name,
        description=description or f"Look up {output} for a title.",
        parameters={"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]},
        responses={"type": "object", "properties": {output: {"type": "string"}}},
        domain="books",
    )


def sample_task(
    title: str = "The Great Gatsby", *, with_reference: bool = True, seed: int | None = 3
) -> CompositionalTask:
    """A parallel-then-sequential task: author's birth year and publication year, then a difference."""
    birth, published = spec("get_author_birth_year", "year"), spec("get_publication_year", "year")
    reference = TaskReference(
        steps=[
            ReferenceStep(
                subtask=0,
                function=birth.name,
                arguments={"title": LiteralArg(value=title)},
                result={"year": "1896"},
            ),
            ReferenceStep(
                subtask=1,
                function=published.name,
                arguments={"title": LiteralArg(value=title)},
                result={"year": "1925"},
            ),
            ReferenceStep(
                subtask=2,
                operation=LogicOp.DIFFERENCE,
                operands=[RefArg(step=1, field="year"), RefArg(step=0, field="year")],
                result=29,
            ),
        ],
        answer=29,
        answer_text="29 years old",
    )
    return CompositionalTask(
        instruction=f"How old was the author of {title} when it came out?",
        strategy=Strategy.PARALLEL_THEN_SEQUENTIAL,
        scenario=BOOKS,
        atomic=AtomicTask(
            instruction=f"When was the author of {title} born?",
            scenario=Scenario(text="reading author biographies", domain="books", source="seed"),
        ),
        subtasks=[
            SubTask(index=0, instruction="Find the author's birth year.", functions=[birth.name]),
            SubTask(index=1, instruction="Find the publication year.", functions=[published.name]),
            SubTask(index=2, instruction="Subtract.", depends_on=[0, 1]),
        ],
        functions=[published, birth],
        reference=reference if with_reference else None,
        seed=seed,
    )


def sample_trajectory(*, orphan_result: bool = False) -> Trajectory:
    """Plan, two parallel calls (one fails), a retry, and a final answer; optionally a stray result."""
    usage = Usage(prompt_tokens=120, completion_tokens=30, latency_ms=12.5, model="offline-assistant")
    stray = [ToolResult(call_id="c9", name="ghost", arguments={}, results={"x": 1})] if orphan_result else []
    return Trajectory(
        turns=[
            UserTurn(content="How old was Fitzgerald when Gatsby came out?"),
            AssistantTurn(
                content="Plan: look up both years, then subtract.",
                tool_calls=[
                    ToolCall(id="c1", name="get_author_birth_year", arguments={"title": "The Great Gatsby"}),
                    ToolCall(id="c2", name="get_publication_year", arguments={"title": "The Great Gatsby"}),
                ],
                raw='<call>[{"name": "get_author_birth_year"}]</call>',
                usage=usage,
            ),
            ToolTurn(
                results=[
                    ToolResult(
                        call_id="c2",
                        name="get_publication_year",
                        arguments={"title": "The Great Gatsby"},
                        error="timeout",
                    ),
                    ToolResult(
                        call_id="c1",
                        name="get_author_birth_year",
                        arguments={"title": "The Great Gatsby"},
                        results={"year": "1896", "nested": [1, 2.5, None, {"ok": True}]},
                    ),
                    *stray,
                ],
                usage=Usage(model="offline-tool"),
            ),
            AssistantTurn(
                content="Retry the failed call.",
                tool_calls=[
                    ToolCall(id="c3", name="get_publication_year", arguments={"title": "The Great Gatsby"})
                ],
            ),
            ToolTurn(
                results=[
                    ToolResult(
                        call_id="c3",
                        name="get_publication_year",
                        arguments={"title": "The Great Gatsby"},
                        results={"year": "1925"},
                    )
                ]
            ),
            AssistantTurn(content="", final_answer="He was 29 years old.", format_error=None),
        ],
        termination=TerminationReason.FINAL_ANSWER,
        parallel=True,
    )


def all_passed() -> list[CheckResult]:
    """Every layer passed."""
    return [CheckResult(name=name, passed=True, reason="ok") for name in CheckName]


def checks_failing(*names: CheckName, inapplicable: tuple[CheckName, ...] = ()) -> list[CheckResult]:
    """Every layer, with `names` failed and `inapplicable` failed-but-not-applicable."""
    return [
        CheckResult(
            name=name,
            passed=name not in names and name not in inapplicable,
            reason="bad" if name in names else "ok",
            applicable=name not in inapplicable,
        )
        for name in CheckName
    ]
