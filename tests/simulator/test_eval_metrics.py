"""Evaluation metrics on hand-written trajectories of the tiny book world, each with its exact numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from datamodel.tasks import CompositionalTask, Strategy, SubTask
from datamodel.trajectory import AssistantTurn, Trajectory, UserTurn
from evaluation.metrics import (
    EpisodeMetrics,
    MetricSummary,
    Scored,
    breakdowns,
    breakdowns_by,
    episode_metrics,
    summarize,
)
from evaluation.report import comparison_table, save_chart
from evaluation.runner import EvalReport
from simulator.verify import steps_in_order
from tests.conftest import load_test_module

tiny = load_test_module("button_tests_tiny_world", Path(__file__).with_name("tiny_world.py"))
GATSBY, FITZGERALD = tiny.GATSBY, tiny.FITZGERALD
_call, _results, _trajectory = tiny.call, tiny.tool_results, tiny.trajectory


def _sequential(title: str = GATSBY, author: str = FITZGERALD, **kwargs: Any) -> Trajectory:
    """Author, then birth year, each in its own turn; the tool answers as the tiny world would."""
    authors = {GATSBY: FITZGERALD, "Dune": "Frank Herbert"}
    born = {FITZGERALD: 1896, "Frank Herbert": 1920}
    first = _call("a", "get_book_author", title=title)
    second = _call("b", "get_author_birth_year", author=author)
    return _trajectory(
        AssistantTurn(content="Plan: author, then birth year.", tool_calls=[first]),
        _results((first, {"author": authors[title]})),
        AssistantTurn(tool_calls=[second]),
        _results((second, {"birth_year": born[author]})),
        **kwargs,
    )


def _metrics(**counts: Any) -> EpisodeMetrics:
    """A perfect two-step conversation in six turns, with some counts overridden."""
    base: dict[str, Any] = {
        "success": True,
        "required_steps": 2,
        "correct_steps": 2,
        "n_calls": 2,
        "valid_calls": 2,
        "n_assistant_turns": 3,
        "format_errors": 0,
        "n_turns": 6,
        "call_turns": 2,
        "parallel_turns": 0,
        "answered": True,
    }
    return EpisodeMetrics(**(base | counts))


def test_perfect_sequential(tiny_sequential_task) -> None:
    metrics = episode_metrics(tiny_sequential_task, _sequential())
    assert metrics == _metrics()
    assert metrics.progress == 1.0 and metrics.grounding == 1.0


def test_perfect_parallel_counts_function_steps_not_the_logic_step(tiny_parallel_task) -> None:
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
    metrics = episode_metrics(tiny_parallel_task, trajectory)
    assert metrics == _metrics(required_steps=3, correct_steps=3, n_calls=3, valid_calls=3, parallel_turns=1)
    assert steps_in_order(tiny_parallel_task, tiny_parallel_task.reference, trajectory) == {0, 1, 2}


def test_wrong_last_argument_loses_that_step_only(tiny_sequential_task) -> None:
    trajectory = _sequential(author="Frank Herbert", final="1920")
    metrics = episode_metrics(tiny_sequential_task, trajectory)
    assert metrics == _metrics(success=False, correct_steps=1)
    assert metrics.progress == 0.5 and metrics.grounding == 1.0


def test_wrong_first_argument_loses_the_steps_that_depend_on_it(tiny_sequential_task) -> None:
    # Dune's author is looked up, then that (actual) author's birth year: consistent, but the wrong book.
    trajectory = _sequential(title="Dune", author="Frank Herbert", final="1920")
    metrics = episode_metrics(tiny_sequential_task, trajectory)
    assert metrics == _metrics(success=False, correct_steps=0)
    assert metrics.progress == 0.0 and metrics.grounding == 1.0


def test_right_value_guessed_from_a_wrong_lookup_is_not_progress(tiny_sequential_task) -> None:
    # The second call's argument matches the ground truth, not what the conversation's own lookup returned.
    metrics = episode_metrics(tiny_sequential_task, _sequential(title="Dune", author=FITZGERALD))
    assert metrics == _metrics(correct_steps=0)


def test_dependent_call_in_the_same_turn_is_not_correct(tiny_sequential_task) -> None:
    first = _call("a", "get_book_author", title=GATSBY)
    guessed = _call("b", "get_author_birth_year", author=FITZGERALD)  # right value, guessed too early
    trajectory = _trajectory(
        AssistantTurn(tool_calls=[first, guessed]),
        _results((first, {"author": FITZGERALD}), (guessed, {"birth_year": 1896})),
    )
    metrics = episode_metrics(tiny_sequential_task, trajectory)
    assert metrics == _metrics(
        correct_steps=1, n_assistant_turns=2, n_turns=4, call_turns=1, parallel_turns=1
    )
    assert steps_in_order(tiny_sequential_task, tiny_sequential_task.reference, trajectory) == {0}


def test_dependent_call_before_its_input_is_not_correct(tiny_sequential_task) -> None:
    guessed = _call("b", "get_author_birth_year", author=FITZGERALD)
    first = _call("a", "get_book_author", title=GATSBY)
    trajectory = _trajectory(
        AssistantTurn(tool_calls=[guessed]),
        _results((guessed, {"birth_year": 1896})),
        AssistantTurn(tool_calls=[first]),
        _results((first, {"author": FITZGERALD})),
    )
    assert episode_metrics(tiny_sequential_task, trajectory) == _metrics(correct_steps=1)


def test_repeating_a_call_after_its_input_came_counts(tiny_sequential_task) -> None:
    early = _call("e", "get_author_birth_year", author=FITZGERALD)
    first = _call("a", "get_book_author", title=GATSBY)
    again = _call("b", "get_author_birth_year", author=FITZGERALD)
    trajectory = _trajectory(
        AssistantTurn(tool_calls=[first, early]),
        _results((first, {"author": FITZGERALD}), (early, {"birth_year": 1896})),
        AssistantTurn(tool_calls=[again]),
        _results((again, {"birth_year": 1896})),
    )
    metrics = episode_metrics(tiny_sequential_task, trajectory)
    assert metrics == _metrics(n_calls=3, valid_calls=3, parallel_turns=1)


@pytest.mark.parametrize("final", [None, "   "])
def test_missing_final_answer_keeps_the_progress(tiny_sequential_task, final) -> None:
    metrics = episode_metrics(tiny_sequential_task, _sequential(final=final))
    # Without a final turn: user, then two call turns and their results; a blank answer adds its turn.
    turns, assistant = (5, 2) if final is None else (6, 3)
    assert metrics == _metrics(success=False, answered=False, n_turns=turns, n_assistant_turns=assistant)
    assert metrics.progress == 1.0


def test_hallucinated_function_lowers_grounding(tiny_sequential_task) -> None:
    first = _call("a", "get_book_author", title=GATSBY)
    ghost = _call("g", "get_author_age", author=FITZGERALD)
    second = _call("b", "get_author_birth_year", author=FITZGERALD)
    trajectory = _trajectory(
        AssistantTurn(tool_calls=[first, ghost]),
        _results((first, {"author": FITZGERALD}), (ghost, "unknown function")),
        AssistantTurn(tool_calls=[second]),
        _results((second, {"birth_year": 1896})),
    )
    metrics = episode_metrics(tiny_sequential_task, trajectory)
    assert metrics == _metrics(n_calls=3, valid_calls=2, parallel_turns=1)
    assert metrics.grounding == pytest.approx(2 / 3)


def test_schema_invalid_arguments_are_ungrounded_but_tool_errors_are_not(tiny_sequential_task) -> None:
    bad = _call("x", "get_book_author", title=5)
    unknown_book = _call("y", "get_book_author", title="Nope")
    trajectory = _trajectory(
        AssistantTurn(tool_calls=[bad]),
        _results((bad, "arguments.title: 5 is not of type 'string'")),
        AssistantTurn(tool_calls=[unknown_book]),
        _results((unknown_book, "no book titled 'Nope'")),
        final="I could not find it.",
    )
    metrics = episode_metrics(tiny_sequential_task, trajectory)
    assert metrics == _metrics(success=False, correct_steps=0, valid_calls=1)
    assert metrics.grounding == 0.5


def test_malformed_turn_counts_as_a_format_error(tiny_sequential_task) -> None:
    base = _sequential()
    malformed = AssistantTurn(raw="<call>[oops</call>", format_error="<call> block is not JSON")
    turns = [base.turns[0], malformed, UserTurn(content="Please use the format."), *base.turns[1:]]
    trajectory = base.model_copy(update={"turns": turns})
    metrics = episode_metrics(tiny_sequential_task, trajectory)
    assert metrics == _metrics(format_errors=1, n_assistant_turns=4, n_turns=8)


def test_without_reference_counts_needed_functions(tiny_sequential_task) -> None:
    task = tiny_sequential_task.model_copy(update={"reference": None})
    assert episode_metrics(task, _sequential(author="Frank Herbert")) == _metrics(success=None)
    first = _call("a", "get_book_author", title=GATSBY)
    partial = _trajectory(AssistantTurn(tool_calls=[first]), _results((first, {"author": FITZGERALD})))
    metrics = episode_metrics(task, partial)
    assert metrics == _metrics(
        success=None, correct_steps=1, n_calls=1, valid_calls=1, n_turns=4, n_assistant_turns=2, call_turns=1
    )
    assert metrics.progress == 0.5


def test_no_calls_and_nothing_required() -> None:
    metrics = _metrics(
        success=None, required_steps=0, correct_steps=0, n_calls=0, valid_calls=0, call_turns=0
    )
    assert metrics.progress == 1.0 and metrics.grounding is None


def test_a_part_exceeding_its_whole_is_rejected() -> None:
    with pytest.raises(ValidationError, match="valid_calls=3 exceeds n_calls=2"):
        _metrics(valid_calls=3)


def test_summarize_micro_and_macro() -> None:
    perfect = _metrics()
    flawed = _metrics(
        success=False,
        correct_steps=1,
        n_calls=3,
        valid_calls=2,
        n_assistant_turns=4,
        format_errors=1,
        n_turns=8,
        parallel_turns=1,
    )
    silent = _metrics(
        success=None,
        required_steps=0,
        correct_steps=0,
        n_calls=0,
        valid_calls=0,
        n_assistant_turns=1,
        n_turns=2,
        call_turns=0,
        answered=False,
    )
    summary = summarize(iter([perfect, flawed, silent]))
    assert summary.n == 3
    assert summary.success_rate == 0.5  # the task without a reference is left out
    assert summary.progress_rate == pytest.approx((1.0 + 0.5 + 1.0) / 3)
    assert summary.grounding == pytest.approx(4 / 5)
    assert summary.format_error_rate == pytest.approx(1 / 8)
    assert summary.mean_turns == pytest.approx(16 / 3)
    assert summary.parallel_use == pytest.approx(1 / 4)
    assert summary.answer_rate == pytest.approx(2 / 3)
    alone = summarize([silent])
    assert (alone.success_rate, alone.grounding, alone.parallel_use) == (None, None, None)
    assert (alone.progress_rate, alone.format_error_rate, alone.mean_turns, alone.answer_rate) == (
        1.0,
        0.0,
        2.0,
        0.0,
    )


def test_summarize_nothing_is_all_none() -> None:
    empty = MetricSummary(
        n=0,
        success_rate=None,
        progress_rate=None,
        grounding=None,
        format_error_rate=None,
        mean_turns=None,
        parallel_use=None,
        answer_rate=None,
    )
    assert summarize([]) == empty


def _long_task(task: CompositionalTask) -> CompositionalTask:
    """Ten logic-only sub-tasks, to see sub-task counts sorted as numbers, not strings."""
    subtasks = [SubTask(index=i, instruction=f"Step {i}.") for i in range(10)]
    return task.model_copy(update={"strategy": Strategy.ATOMIC, "subtasks": subtasks, "reference": None})


def test_breakdowns_by_strategy_and_size(tiny_sequential_task, tiny_parallel_task) -> None:
    long_task = _long_task(tiny_sequential_task)
    items = [
        (tiny_sequential_task, _metrics()),
        (tiny_sequential_task, _metrics(success=False, correct_steps=0)),
        (tiny_parallel_task, _metrics(success=False, correct_steps=1, answered=False)),
        (long_task, _metrics(success=None, required_steps=0, correct_steps=0)),
    ]
    result = breakdowns(items)
    assert list(result) == ["overall", "strategy", "n_subtasks", "behaviour"]
    assert list(result["overall"]) == ["all"]
    assert result["behaviour"] == {"plain": result["overall"]["all"]}
    assert list(result["strategy"]) == ["atomic", "parallel_then_sequential", "sequential"]
    assert list(result["n_subtasks"]) == ["2", "4", "10"]
    overall = result["overall"]["all"]
    assert overall.n == 4 and overall.success_rate == pytest.approx(1 / 3)
    assert overall.progress_rate == pytest.approx((1.0 + 0.0 + 0.5 + 1.0) / 4)
    assert overall.answer_rate == 0.75
    sequential = result["strategy"]["sequential"]
    assert (sequential.n, sequential.success_rate, sequential.progress_rate) == (2, 0.5, 0.5)
    assert result["n_subtasks"]["2"] == sequential
    assert result["strategy"]["atomic"].success_rate is None
    assert result["n_subtasks"]["10"] == result["strategy"]["atomic"]
    assert result["n_subtasks"]["4"].answer_rate == 0.0


def test_breakdowns_of_nothing() -> None:
    assert breakdowns([]) == {
        "overall": {"all": summarize([])},
        "strategy": {},
        "n_subtasks": {},
        "behaviour": {},
    }


def _report(eval_run_id: int, items: list[Scored]) -> EvalReport:
    return EvalReport(
        eval_run_id=eval_run_id,
        run_id=eval_run_id,
        label="m",
        model="offline",
        call_format="button",
        training_run_id=None,
        task_source={},
        held_out={},
        breakdowns=breakdowns_by(items),
    )


def test_the_table_shows_behaviours_only_when_some_task_had_one(tmp_path: Path) -> None:
    plain = [Scored("sequential", 2, "plain", False, _metrics())]
    table = comparison_table([_report(1, plain)])
    assert "beh%" not in table.columns and {row[0] for row in table.rows} == {
        "all",
        "sequential",
        "2 sub-tasks",
    }

    mixed = [
        *plain,
        Scored("sequential", 2, "clarify", True, _metrics(behaviour_passed=False, twin_passed=True)),
        Scored("sequential", 2, "irrelevant", False, _metrics(success=None, behaviour_passed=True)),
    ]
    table = comparison_table([_report(1, plain), _report(2, mixed)])
    assert table.columns[-1] == "beh%"
    beh = {(row[0], row[1]): row[-1] for row in table.rows}
    assert beh[("all", "m #2")] == "50.0" and beh[("plain", "m #2")] == "–"
    assert beh[("clarify", "m #2")] == "0.0" and beh[("irrelevant", "m #2")] == "100.0"
    assert beh[("+look-alikes", "m #2")] == "100.0"  # the twin check, not the clarify one
    assert ("clarify", "m #1") not in beh
    chart = save_chart([_report(1, plain), _report(2, mixed)], tmp_path / "chart.png")
    assert chart.stat().st_size > 0
