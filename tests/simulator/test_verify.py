"""Each verification layer on hand-written trajectories of the tiny book tiny_world."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from datamodel.checks import CheckName, CheckResult
from datamodel.trajectory import AssistantTurn, ToolCall, Trajectory
from simulator.verify import (
    check_answer_correct,
    check_arguments_valid,
    check_calls_parse,
    check_dependency_order,
    check_final_answer_present,
    check_function_exists,
    check_subtasks_covered,
    verify,
)
from tests.conftest import load_test_module

tiny = load_test_module("button_tests_tiny_world", Path(__file__).with_name("tiny_world.py"))
GATSBY, FITZGERALD = tiny.GATSBY, tiny.FITZGERALD
_call, _results, _trajectory = tiny.call, tiny.tool_results, tiny.trajectory


def _sequential(author_arg: str = FITZGERALD, born: int = 1896, **kwargs: Any) -> Trajectory:
    first = _call("a", "get_book_author", title=GATSBY)
    second = _call("b", "get_author_birth_year", author=author_arg)
    return _trajectory(
        AssistantTurn(content="Plan: author, then birth year.", tool_calls=[first]),
        _results((first, {"author": FITZGERALD})),
        AssistantTurn(tool_calls=[second]),
        _results((second, {"birth_year": born})),
        **kwargs,
    )


def _failed(results: list[CheckResult]) -> dict[CheckName, str]:
    return {r.name: r.reason for r in results if not r.passed}


def test_perfect_sequential_passes_every_layer_in_order(tiny_sequential_task) -> None:
    results = verify(tiny_sequential_task, _sequential())
    assert [r.name for r in results] == list(CheckName)
    assert _failed(results) == {}
    behaviours = list(CheckName)[list(CheckName).index(CheckName.ANSWER_CORRECT) + 1 :]
    assert all(r.applicable is (r.name not in behaviours) for r in results)  # a plain task: no behaviour


def test_perfect_parallel_with_logic_step_passes(tiny_parallel_task) -> None:
    author = _call("a", "get_book_author", title="Dune")
    year = _call("y", "get_book_publication_year", title="Dune")
    born = _call("b", "get_author_birth_year", author="Frank Herbert")
    trajectory = _trajectory(
        AssistantTurn(tool_calls=[author, year]),
        _results((author, {"author": "Frank Herbert"}), (year, {"year": 1965})),
        AssistantTurn(tool_calls=[born]),
        _results((born, {"birth_year": 1920})),
        final="He was 45.",
    )
    assert _failed(verify(tiny_parallel_task, trajectory)) == {}


def test_wrong_argument_is_not_coverage(tiny_sequential_task) -> None:
    failed = _failed(
        verify(tiny_sequential_task, _sequential(author_arg="Frank Herbert", born=1920, final="1920"))
    )
    assert set(failed) == {CheckName.SUBTASKS_COVERED, CheckName.ANSWER_CORRECT}
    reason = failed[CheckName.SUBTASKS_COVERED]
    assert reason.startswith("sub-task 1: turn 3 call b (get_author_birth_year)") and FITZGERALD in reason


def test_using_a_value_before_it_is_produced_breaks_dependency_order(tiny_sequential_task) -> None:
    first = _call("a", "get_book_author", title=GATSBY)
    guessed = _call("b", "get_author_birth_year", author=FITZGERALD)  # right value, guessed too early
    trajectory = _trajectory(
        AssistantTurn(tool_calls=[first, guessed]),
        _results((first, {"author": FITZGERALD}), (guessed, {"birth_year": 1896})),
    )
    result = check_dependency_order(tiny_sequential_task, trajectory)
    assert not result.passed and "turn 1 call b (get_author_birth_year)" in result.reason
    assert check_subtasks_covered(tiny_sequential_task, trajectory).passed


def test_dependency_order_without_reference(tiny_sequential_task) -> None:
    task = tiny_sequential_task.model_copy(update={"reference": None})
    first = _call("a", "get_book_author", title=GATSBY)
    second = _call("b", "get_author_birth_year", author=FITZGERALD)
    wrong = _trajectory(
        AssistantTurn(tool_calls=[second]),
        _results((second, {"birth_year": 1})),
        AssistantTurn(tool_calls=[first]),
        _results((first, {"author": "x"})),
    )
    assert not check_dependency_order(task, wrong).passed
    assert check_dependency_order(task, _sequential()).passed


def test_missing_final_answer(tiny_sequential_task) -> None:
    failed = _failed(verify(tiny_sequential_task, _sequential(final=None)))
    assert set(failed) == {CheckName.FINAL_ANSWER_PRESENT, CheckName.ANSWER_CORRECT}
    assert "max_turns" in failed[CheckName.FINAL_ANSWER_PRESENT]
    assert check_final_answer_present(tiny_sequential_task, _sequential()).reason == "final answer in turn 5"


def test_hallucinated_function(tiny_sequential_task) -> None:
    ghost = _call("g", "get_author_age", author=FITZGERALD)
    trajectory = _trajectory(AssistantTurn(tool_calls=[ghost]), _results((ghost, "unknown function")))
    failed = _failed(verify(tiny_sequential_task, trajectory))
    assert failed[CheckName.FUNCTION_EXISTS] == "turn 1 call g (get_author_age): not an offered function"
    assert CheckName.ARGUMENTS_VALID not in failed  # left to function_exists
    assert "get_book_author was never called" in failed[CheckName.SUBTASKS_COVERED]


def test_wrong_answer(tiny_sequential_task) -> None:
    failed = _failed(verify(tiny_sequential_task, _sequential(final="He was born in 1900.")))
    assert list(failed) == [CheckName.ANSWER_CORRECT]
    assert "'1896'" in failed[CheckName.ANSWER_CORRECT]


def test_format_error_fails_calls_parse(tiny_sequential_task) -> None:
    trajectory = _trajectory(AssistantTurn(raw="<call>[oops</call>", format_error="<call> block is not JSON"))
    result = check_calls_parse(tiny_sequential_task, trajectory)
    assert not result.passed and result.reason == "turn 1: <call> block is not JSON"


@pytest.mark.parametrize(
    ("arguments", "result", "needle"),
    [
        ({"title": 5}, "invalid", "arguments.title"),
        ({"title": "Nope"}, "no book titled 'Nope'", "tool error"),
    ],
)
def test_arguments_invalid_or_rejected_by_the_tool(tiny_sequential_task, arguments, result, needle) -> None:
    call = ToolCall(id="a", name="get_book_author", arguments=arguments)
    trajectory = _trajectory(AssistantTurn(tool_calls=[call]), _results((call, result)))
    check = check_arguments_valid(tiny_sequential_task, trajectory)
    assert (
        not check.passed
        and check.reason.startswith("turn 1 call a (get_book_author)")
        and needle in check.reason
    )


def test_without_reference_answer_is_not_applicable_and_coverage_uses_names(tiny_sequential_task) -> None:
    task = tiny_sequential_task.model_copy(update={"reference": None})
    answer = check_answer_correct(task, _sequential(final="anything"))
    assert answer.applicable is False and answer.passed
    assert check_subtasks_covered(task, _sequential(author_arg="Frank Herbert")).passed
    first = _call("a", "get_book_author", title=GATSBY)
    partial = _trajectory(AssistantTurn(tool_calls=[first]), _results((first, {"author": FITZGERALD})))
    covered = check_subtasks_covered(task, partial)
    assert not covered.passed and covered.reason == "sub-task 1: get_author_birth_year was never called"


def test_extra_optional_arguments_still_match(tiny_sequential_task) -> None:
    check = check_function_exists(tiny_sequential_task, _sequential())
    assert check.passed
    first = _call("a", "get_book_author", title=GATSBY, language="en")
    second = _call("b", "get_author_birth_year", author=FITZGERALD)
    trajectory = _trajectory(
        AssistantTurn(tool_calls=[first]),
        _results((first, {"author": FITZGERALD})),
        AssistantTurn(tool_calls=[second]),
        _results((second, {"birth_year": 1896})),
    )
    assert check_subtasks_covered(tiny_sequential_task, trajectory).passed
