"""Hand-built conversations that teach more than one answerable request, stored as the exporter reads them.

`realistic()` is one conversation with every behaviour: a clarifying question and the user's answer, a
parallel turn with one failed call and its retry, a final answer, a request no function can serve and the
assistant's refusal, a follow-up, and a second final answer. The edge cases are small conversations the
simulator writes when an episode stops early (on a question, a refusal, a tool turn or a user turn), a
malformed assistant reply, a parallel turn whose calls all fail, and two user turns in a row (which the
simulator's turn order never writes, but a trajectory can hold). Loaded by path (tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from datamodel.trajectory import (
    AssistantTurn,
    TerminationReason,
    ToolCall,
    ToolResult,
    ToolTurn,
    Trajectory,
    Turn,
    UserTurn,
)
from db import store
from db.engine import ensure_schema, make_engine, session_factory
from db.store import StoredConversation
from tests.conftest import load_test_module

__all__ = ["DIALOGUES", "QUESTION", "REFUSAL", "build_dialogue_db", "realistic"]

samples = load_test_module("button_tests_db_samples", Path(__file__).parents[1] / "db" / "db_samples.py")

BIRTH, PUBLISHED = "get_author_birth_year", "get_publication_year"
GATSBY = {"title": "The Great Gatsby"}
QUESTION = "Which novel do you mean?"
REFUSAL = "None of the functions can place an order, so I cannot buy it for you."


def user(text: str) -> UserTurn:
    return UserTurn(content=text)


def say(text: str, answer: str | None = None) -> AssistantTurn:
    """An assistant turn without calls: a question, a refusal, or (with `answer`) a final answer."""
    return AssistantTurn(content=text, final_answer=answer)


def call(text: str, *calls: tuple[str, str, dict[str, Any]]) -> AssistantTurn:
    """An assistant turn making (id, name, arguments) calls."""
    made = [ToolCall(id=i, name=name, arguments=arguments) for i, name, arguments in calls]
    return AssistantTurn(content=text, tool_calls=made)


def ok(call_id: str, name: str, arguments: dict[str, Any], results: Any) -> ToolResult:
    return ToolResult(call_id=call_id, name=name, arguments=arguments, results=results)


def failed(call_id: str, name: str, arguments: dict[str, Any], error: str) -> ToolResult:
    return ToolResult(call_id=call_id, name=name, arguments=arguments, error=error)


def tool(*results: ToolResult) -> ToolTurn:
    return ToolTurn(results=list(results))


def _trajectory(turns: list[Turn], termination: TerminationReason, **extra: Any) -> Trajectory:
    return Trajectory(turns=turns, termination=termination, parallel=True, **extra)


def realistic() -> Trajectory:
    """question → answer → calls → one error → retry → final → refused request → follow-up → final."""
    night = {"title": "Tender Is the Night"}
    return _trajectory(
        [
            user("How old was the author of that novel when it came out?"),
            say(QUESTION),
            user("The Great Gatsby."),
            call(
                "Plan: look up both years, then subtract.", ("c1", BIRTH, GATSBY), ("c2", PUBLISHED, GATSBY)
            ),
            tool(ok("c1", BIRTH, GATSBY, {"year": "1896"}), failed("c2", PUBLISHED, GATSBY, "timeout")),
            call("The publication year did not come back; asking again.", ("c3", PUBLISHED, GATSBY)),
            tool(ok("c3", PUBLISHED, GATSBY, {"year": "1925"})),
            say("1925 - 1896 = 29.", "Fitzgerald was 29 when The Great Gatsby came out."),
            user("Great, can you order me a copy?"),
            say(REFUSAL),
            user("Fine. When did his «Tender Is the Night» come out, then?"),
            call("", ("c4", PUBLISHED, night)),
            tool(ok("c4", PUBLISHED, night, {"year": "1934"})),
            say("", "  Tender Is the Night came out in 1934 — nine years later.  "),
        ],
        TerminationReason.FINAL_ANSWER,
    )


def ends_on_question() -> Trajectory:
    return _trajectory([user("How old was he?"), say(QUESTION)], TerminationReason.STALLED)


def refusal_only() -> Trajectory:
    return _trajectory(
        [user("Order me a copy of The Great Gatsby."), say(REFUSAL)], TerminationReason.STALLED
    )


def ends_on_tool_error() -> Trajectory:
    return _trajectory(
        [
            user("When did The Great Gatsby come out?"),
            call("Looking it up.", ("c1", PUBLISHED, GATSBY)),
            tool(failed("c1", PUBLISHED, GATSBY, "service unavailable")),
        ],
        TerminationReason.MAX_TURNS,
    )


def ends_on_user() -> Trajectory:
    return _trajectory(
        [user("How old was he?"), say(QUESTION), user("The Great Gatsby.")],
        TerminationReason.ERROR,
        error="the assistant's model did not answer",
    )


def every_call_fails() -> Trajectory:
    return _trajectory(
        [
            user("How old was Fitzgerald when The Great Gatsby came out?"),
            call("Both years at once.", ("c1", BIRTH, GATSBY), ("c2", PUBLISHED, GATSBY)),
            tool(failed("c1", BIRTH, GATSBY, "timeout"), failed("c2", PUBLISHED, GATSBY, "timeout")),
            call("Both failed; retrying both.", ("c3", BIRTH, GATSBY), ("c4", PUBLISHED, GATSBY)),
            tool(ok("c3", BIRTH, GATSBY, [1896]), ok("c4", PUBLISHED, GATSBY, [1925])),
            say("", "He was 29."),
        ],
        TerminationReason.FINAL_ANSWER,
    )


def malformed_reply() -> Trajectory:
    """A reply that did not parse is stored with no text; the user is asked next, as for a question."""
    broken = AssistantTurn(raw="<call>[oops</call>", format_error="<call> block is not JSON")
    return _trajectory(
        [
            user("When did The Great Gatsby come out?"),
            broken,
            user("Please try again."),
            call("", ("c1", PUBLISHED, GATSBY)),
            tool(ok("c1", PUBLISHED, GATSBY, [1925])),
            say("", "In 1925."),
        ],
        TerminationReason.FINAL_ANSWER,
    )


def two_user_turns() -> Trajectory:
    return _trajectory(
        [user("When did The Great Gatsby come out?"), user("Just the year, please."), say("", "1925.")],
        TerminationReason.FINAL_ANSWER,
    )


DIALOGUES: dict[str, Callable[[], Trajectory]] = {
    f.__name__: f
    for f in (
        realistic,
        ends_on_question,
        refusal_only,
        ends_on_tool_error,
        ends_on_user,
        every_call_fails,
        malformed_reply,
        two_user_turns,
    )
}


def build_dialogue_db(directory: Path) -> dict[str, StoredConversation]:
    """Every dialogue stored in a fresh SQLite file in `directory`, read back by name."""
    engine = make_engine(f"sqlite:///{directory / 'dialogues.db'}")
    ensure_schema(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        run_id = store.create_run(session, kind="generate", seed=1, n_requested=1, config={}, versions={})
        tasks = [samples.sample_task(name) for name in DIALOGUES]  # a run holds one conversation per task
        task_ids = store.add_tasks(session, run_id, tasks)
        ids = {
            name: store.add_conversation(
                session,
                run_id=run_id,
                task_id=task_id,
                trajectory=build(),
                checks=samples.all_passed(),
                models={"user": "hand", "assistant": "hand", "tool": "hand"},
            )
            for (name, build), task_id in zip(DIALOGUES.items(), task_ids, strict=True)
        }
    with sessions() as session:
        stored = {c.id: c for c in store.iter_conversations(session, status=None)}
    engine.dispose()
    return {name: stored[i] for name, i in ids.items()}
