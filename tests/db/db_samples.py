"""Small literal tasks and trajectories for the storage tests (the real offline world lives elsewhere)."""

from __future__ import annotations

from datamodel.behaviours import Behaviour, FollowUp, ToolFault, Withheld
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

__all__ = [
    "BOOKS",
    "CLARIFY_QUESTION",
    "all_passed",
    "behaviour_task",
    "checks_failing",
    "clarify_trajectory",
    "sample_task",
    "sample_trajectory",
    "spec",
]

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


CLARIFY_QUESTION = "Which book do you mean?"


def _behaviour_fields(behaviour: Behaviour, title: str) -> dict[str, object]:
    """What a task of this behaviour carries besides the plain sample task, written out by hand."""
    if behaviour is Behaviour.CLARIFY:
        return {
            "instruction": "How old was the author of the book when it came out?",
            "withheld": Withheld(step=0, argument="title", value=title, text=title, noun="book"),
        }
    if behaviour is Behaviour.FOLLOW_UP:
        step = ReferenceStep(
            subtask=3,
            function="get_publication_year",
            arguments={"title": LiteralArg(value="Emma")},
            result={"year": "1815"},
        )
        follow_up = FollowUp(
            instruction="And when did Emma come out?", steps=[step], answer="1815", answer_text="1815"
        )
        return {"follow_ups": [follow_up]}
    if behaviour is Behaviour.TOOL_ERROR:
        typo = title[:-2] + title[-1] + title[-2]
        fault = ToolFault(
            step=1,
            kind="typo",
            message=f"no book titled {typo!r}; did you mean {title!r}?",
            expected="correct",
            argument="title",
            typo=typo,
        )
        return {"fault": fault}
    return {}


def behaviour_task(
    behaviour: Behaviour, *, look_alikes: bool = False, title: str = "The Great Gatsby"
) -> CompositionalTask:
    """The sample task given a behaviour and, optionally, a look-alike of a needed function."""
    task = sample_task(title)
    fields: dict[str, object] = {"behaviour": behaviour, **_behaviour_fields(behaviour, title)}
    if look_alikes:
        twin = spec("get_publication_date", "date", description="Look up the day a title was first printed.")
        fields |= {"functions": [*task.functions, twin], "look_alikes": [twin.name]}
    return CompositionalTask.model_validate({**dict(task), **fields})


def clarify_trajectory() -> Trajectory:
    """The assistant asks for the missing title, the user gives it, then calls and an answer."""
    title = {"title": "The Great Gatsby"}
    return Trajectory(
        turns=[
            UserTurn(content="How old was the author of the book when it came out?"),
            AssistantTurn(content=CLARIFY_QUESTION),
            UserTurn(content="The Great Gatsby."),
            AssistantTurn(
                content="Looking up both years.",
                tool_calls=[
                    ToolCall(id="c1", name="get_author_birth_year", arguments=title),
                    ToolCall(id="c2", name="get_publication_year", arguments=title),
                ],
            ),
            ToolTurn(
                results=[
                    ToolResult(
                        call_id="c1", name="get_author_birth_year", arguments=title, results={"year": "1896"}
                    ),
                    ToolResult(
                        call_id="c2", name="get_publication_year", arguments=title, results={"year": "1925"}
                    ),
                ]
            ),
            AssistantTurn(content="", final_answer="He was 29 years old."),
        ],
        termination=TerminationReason.FINAL_ANSWER,
        parallel=True,
    )
