"""A tiny hand-written world for simulator tests: three book functions, a dict-backed executor and two
tasks with hand-written references (sequential; parallel-then-sequential with a logic step).

Loaded by path from the conftest files of tests/roles, tests/toolmock and tests/simulator (pytest runs in
importlib mode, so test directories are not packages).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from autogen_core import FunctionCall
from autogen_core.models import LLMMessage
from autogen_core.tools import Tool, ToolSchema

from datamodel.reference import LiteralArg, LogicOp, RefArg, ReferenceStep, TaskReference
from datamodel.tasks import AtomicTask, CompositionalTask, FunctionSpec, Scenario, Strategy, SubTask
from datamodel.trajectory import (
    AssistantTurn,
    TerminationReason,
    ToolCall,
    ToolResult,
    ToolTurn,
    Trajectory,
    UserTurn,
)
from roles.scripted import Decision, ScriptedChatCompletionClient, ScriptedReply

BOOKS = {
    "The Great Gatsby": {"author": "F. Scott Fitzgerald", "year": 1925},
    "Dune": {"author": "Frank Herbert", "year": 1965},
}
BIRTH_YEARS = {"F. Scott Fitzgerald": 1896, "Frank Herbert": 1920}


class ToolExecutionError(Exception):
    """A call the tiny world cannot serve."""


def _spec(name: str, description: str, arg: str, out: str, out_type: str) -> FunctionSpec:
    return FunctionSpec(
        name=name,
        description=description,
        parameters={
            "type": "object",
            "properties": {arg: {"type": "string", "description": f"The {arg}."}},
            "required": [arg],
            "additionalProperties": False,
        },
        responses={
            "type": "object",
            "properties": {out: {"type": out_type}},
            "required": [out],
        },
        domain="books",
    )


GET_AUTHOR = _spec("get_book_author", "Find who wrote a book.", "title", "author", "string")
GET_BIRTH = _spec(
    "get_author_birth_year", "Find the year an author was born.", "author", "birth_year", "integer"
)
GET_YEAR = _spec("get_book_publication_year", "Find the year a book came out.", "title", "year", "integer")
FUNCTIONS = [GET_AUTHOR, GET_BIRTH, GET_YEAR]


class TinyExecutor:
    """Executes the three book functions over the dicts above; counts calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def execute(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((name, arguments))
        if name == "get_book_author":
            return {"author": self._book(arguments["title"])["author"]}
        if name == "get_book_publication_year":
            return {"year": self._book(arguments["title"])["year"]}
        if name == "get_author_birth_year":
            if arguments["author"] not in BIRTH_YEARS:
                raise ToolExecutionError(f"no author named {arguments['author']!r}")
            return {"birth_year": BIRTH_YEARS[arguments["author"]]}
        raise ToolExecutionError(f"no function {name!r}")

    @staticmethod
    def _book(title: str) -> dict[str, Any]:
        if title not in BOOKS:
            raise ToolExecutionError(f"no book titled {title!r}")
        return BOOKS[title]


_SCENARIO = Scenario(text="looking up facts about books", domain="books")


def sequential_task(title: str = "The Great Gatsby") -> CompositionalTask:
    """When was the author of <title> born? author → birth year."""
    author = BOOKS.get(title, {}).get("author", "?")
    born = BIRTH_YEARS.get(str(author), 0)
    return CompositionalTask(
        instruction=f"When was the author of {title} born?",
        strategy=Strategy.SEQUENTIAL,
        scenario=_SCENARIO,
        atomic=AtomicTask(instruction=f"Who wrote {title}?", scenario=_SCENARIO),
        subtasks=[
            SubTask(index=0, instruction=f"Find the author of {title}.", functions=["get_book_author"]),
            SubTask(
                index=1,
                instruction="Find the author's birth year.",
                depends_on=[0],
                functions=["get_author_birth_year"],
            ),
        ],
        functions=[GET_AUTHOR, GET_BIRTH],
        reference=TaskReference(
            steps=[
                ReferenceStep(
                    subtask=0,
                    function="get_book_author",
                    arguments={"title": LiteralArg(value=title)},
                    result={"author": author},
                    phrase=f'the author of "{title}"',
                    noun="author",
                ),
                ReferenceStep(
                    subtask=1,
                    function="get_author_birth_year",
                    arguments={"author": RefArg(step=0, field="author")},
                    result={"birth_year": born},
                    phrase="the birth year of {0}",
                    noun="year",
                ),
            ],
            answer=born,
            answer_text=str(born),
        ),
    )


def parallel_task() -> CompositionalTask:
    """How old was Dune's author when Dune came out? (author ∥ year) → birth year → difference = 45."""
    return CompositionalTask(
        instruction="How old was the author of Dune when Dune was published?",
        strategy=Strategy.PARALLEL_THEN_SEQUENTIAL,
        scenario=_SCENARIO,
        atomic=AtomicTask(instruction="Who wrote Dune?", scenario=_SCENARIO),
        subtasks=[
            SubTask(index=0, instruction="Find the author of Dune.", functions=["get_book_author"]),
            SubTask(
                index=1, instruction="Find when Dune was published.", functions=["get_book_publication_year"]
            ),
            SubTask(
                index=2,
                instruction="Find the author's birth year.",
                depends_on=[0],
                functions=["get_author_birth_year"],
            ),
            SubTask(
                index=3, instruction="Subtract the birth year from the publication year.", depends_on=[1, 2]
            ),
        ],
        functions=FUNCTIONS,
        reference=TaskReference(
            steps=[
                ReferenceStep(
                    subtask=0,
                    function="get_book_author",
                    arguments={"title": LiteralArg(value="Dune")},
                    result={"author": "Frank Herbert"},
                    phrase='the author of "Dune"',
                    noun="author",
                ),
                ReferenceStep(
                    subtask=1,
                    function="get_book_publication_year",
                    arguments={"title": LiteralArg(value="Dune")},
                    result={"year": 1965},
                    phrase='the publication year of "Dune"',
                    noun="year",
                ),
                ReferenceStep(
                    subtask=2,
                    function="get_author_birth_year",
                    arguments={"author": RefArg(step=0, field="author")},
                    result={"birth_year": 1920},
                    phrase="the birth year of {0}",
                    noun="year",
                ),
                ReferenceStep(
                    subtask=3,
                    operation=LogicOp.DIFFERENCE,
                    operands=[RefArg(step=1, field="year"), RefArg(step=2, field="birth_year")],
                    result=45,
                    phrase="the difference between {1} and {2}",
                    noun="years",
                    value_format="{} years",
                ),
            ],
            answer=45,
            answer_text="45",
        ),
    )


class ListClient(ScriptedChatCompletionClient):
    """Replies with the given decisions in order (the last one repeats); records what it was sent.

    A decision may be an exception instance, which is raised instead of replying.
    """

    def __init__(self, decisions: list[Any]) -> None:
        super().__init__()
        self._decisions = list(decisions)
        self.seen: list[list[LLMMessage]] = []

    def decide(self, messages: Sequence[LLMMessage], tools: Sequence[Tool | ToolSchema]) -> Decision:
        self.seen.append(list(messages))
        decision = self._decisions.pop(0) if len(self._decisions) > 1 else self._decisions[0]
        if isinstance(decision, Exception):
            raise decision
        return decision


def native_call(call_id: str, name: str, **arguments: Any) -> FunctionCall:
    """A native function call as a model client returns it."""
    return FunctionCall(id=call_id, name=name, arguments=json.dumps(arguments))


def scripted_reply(calls: list[FunctionCall], thought: str | None = None) -> ScriptedReply:
    return ScriptedReply(calls, thought=thought)


# Hand-written trajectories over the sequential task (verification and evaluation tests).
GATSBY = "The Great Gatsby"
FITZGERALD = "F. Scott Fitzgerald"


def call(call_id: str, name: str, **arguments: Any) -> ToolCall:
    """One assistant call."""
    return ToolCall(id=call_id, name=name, arguments=arguments)


def tool_results(*pairs: tuple[ToolCall, Any]) -> ToolTurn:
    """A tool turn; a str result stands for an error."""
    return ToolTurn(
        results=[
            ToolResult(call_id=c.id, name=c.name, arguments=c.arguments, error=r)
            if isinstance(r, str)
            else ToolResult(call_id=c.id, name=c.name, arguments=c.arguments, results=r)
            for c, r in pairs
        ]
    )


def trajectory(*turns: Any, final: str | None = "He was born in 1896.") -> Trajectory:
    """The user's Gatsby question, the given turns, then the final answer (none: cut off at max turns)."""
    body = [UserTurn(content="When was the author of The Great Gatsby born?"), *turns]
    if final is not None:
        body.append(AssistantTurn(content="Done.", final_answer=final))
    reason = TerminationReason.FINAL_ANSWER if final is not None else TerminationReason.MAX_TURNS
    return Trajectory(turns=body, termination=reason, parallel=True)
