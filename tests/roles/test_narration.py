"""The offline assistant's words over 1,000 world tasks: varied, never copying JSON or the hidden hints,
every logic step worked before the answer, and an answer that is a sentence stating the result."""

from __future__ import annotations

import asyncio
import re
from collections import Counter

import pytest

from composition.world.offline import OfflineWorld
from datamodel.reference import LiteralArg, LogicOp
from datamodel.tasks import CompositionalTask
from datamodel.trajectory import AssistantTurn, Trajectory
from roles import narration
from roles.narration import parameter_noun
from simulator.build import offline_clients
from simulator.episode import EpisodeConfig, run_episode
from simulator.verify import verify

Episode = tuple[CompositionalTask, Trajectory]


@pytest.fixture(scope="module")
def episodes() -> list[Episode]:
    world = OfflineWorld(world_seed=0)
    tasks = world.generate_tasks(1000, seed=3, max_subtasks=3)

    async def run_all() -> list[Trajectory]:
        config = EpisodeConfig(parallel=True)
        runs = (run_episode(t, offline_clients(t, world, parallel=True), config) for t in tasks)
        return list(await asyncio.gather(*runs))

    return list(zip(tasks, asyncio.run(run_all()), strict=True))


def _assistant(trajectory: Trajectory) -> list[AssistantTurn]:
    return [t for t in trajectory.turns if isinstance(t, AssistantTurn)]


def test_every_kind_of_move_has_at_least_five_phrasings() -> None:
    moves = {
        "givens": narration._GIVENS,
        "asks": narration._ASKS,
        "unnamed marks": narration._UNNAMED,
        "plan openers": narration._PLAN_OPENERS,
        "steps done": narration._DONE,
        "several steps done": narration._DONE_MANY,
        "call steps": narration._CALL_STEPS,
        "function signatures": narration._SIGNATURES,
        "notes": narration._NOTES,
        "list notes": narration._LIST_NOTES,
        "next calls": narration._NEXT,
        "picks": narration._PICKS,
        "comparisons": narration._COMPARES,
        "relations": narration._RELATIONS,
        "answers": narration._ANSWERS,
        "single-step answers": narration._SINGLE_ANSWERS,
        "comparison answers": narration._COMPARE_ANSWERS,
        **{f"{op} working": texts for op, texts in narration._WORKINGS.items()},
        **{f"equal {same} working": texts for same, texts in narration._EQUALS.items()},
        **{f"equal {same} answers": texts for same, texts in narration._EQUAL_ANSWERS.items()},
    }
    assert {name: len(set(texts)) for name, texts in moves.items() if len(set(texts)) < 5} == {}


def test_the_first_turn_names_what_the_request_gives_in_order_before_the_plan(
    episodes: list[Episode],
) -> None:
    named = 0
    for task, trajectory in episodes:
        assert task.reference is not None
        first = _assistant(trajectory)[0].content
        kinds: dict[str, str] = {}  # value -> the kind of the first parameter it goes to
        for s in task.reference.steps:
            for parameter, a in s.arguments.items():
                if isinstance(a, LiteralArg) and isinstance(a.value, str):
                    kinds.setdefault(a.value, parameter_noun(parameter))
        given = sorted({v for v in kinds if v in task.instruction}, key=task.instruction.index)
        lines = first.split("\n")
        if not given:
            assert len(lines) == 1, first  # nothing to name: the plan alone
            continue
        named += 1
        assert len(lines) == 2 and all(v in lines[0] for v in given), (task.instruction, first)
        at = [lines[0].index(v) for v in given]
        assert at == sorted(at), (task.instruction, lines[0])
        # each with its kind, which is what picks the function, unless the name says it ("Hotel Rex")
        untyped = [v for v in given if f"the {kinds[v]} {v}" not in lines[0] and kinds[v] not in v.lower()]
        assert untyped == [], (task.instruction, lines[0])
    assert named > 0.9 * len(episodes)


def test_assistant_text_is_varied_and_no_phrasing_dominates(episodes: list[Episode]) -> None:
    texts = [t.content for _, tr in episodes for t in _assistant(tr) if t.content]
    texts += [tr.final_answer for _, tr in episodes if tr.final_answer]
    assert len(set(texts)) / len(texts) >= 0.8  # share of distinct turn texts
    openers = Counter(text.split(" ", 1)[0] for text in texts)
    assert openers.most_common(1)[0][1] / len(texts) < 0.25


def test_no_json_no_hints_and_nothing_said_twice(episodes: list[Episode]) -> None:
    for task, trajectory in episodes:
        said: list[str] = []
        hints = [s.instruction for s in task.subtasks]
        for turn in _assistant(trajectory):
            text = "\n".join([turn.content, turn.final_answer or ""])
            assert "{" not in text and '"results"' not in text, text  # results are never pasted back
            assert not any(hint in text for hint in hints), text
            lines = [line for line in turn.content.splitlines() if line]
            assert not set(lines) & set(said), (task.instruction, lines)
            said += lines


def test_logic_is_worked_before_the_answer_and_the_answer_is_a_sentence(episodes: list[Episode]) -> None:
    for task, trajectory in episodes:
        assert task.reference is not None
        assert all(c.passed for c in verify(task, trajectory) if c.applicable), task.instruction
        answer = trajectory.final_answer or ""
        assert answer.endswith(".") and len(answer.split()) >= 4, answer
        assert not re.fullmatch(r"The answer is [^,]*\.", answer), answer
        before = "\n".join(t.content for t in _assistant(trajectory))
        for step in task.reference.steps:
            if step.operation in (LogicOp.DIFFERENCE, LogicOp.SUM):
                shown = narration.render_value(step.result)
                assert shown in before, (task.instruction, shown, before)  # the operation's result, worked


def test_the_plan_counts_its_steps_and_only_the_turn_after_the_last_one_answers(
    episodes: list[Episode],
) -> None:
    """The plan says how many steps there are; each later turn opens with the steps its new results
    complete and labels each step it takes, counting as the plan did: every step is accounted for once,
    in order, and the step count reaches the last step only in the turn that answers."""
    for task, trajectory in episodes:
        assert task.reference is not None
        n = len(task.reference.steps)
        first, *later = _assistant(trajectory)
        assert re.search(rf"\b{n} steps?:", first.content), first.content
        done_seen: list[int] = []
        taken: set[int] = set()
        for turn in later:
            head = turn.content.splitlines()[0] if turn.content else ""
            assert head.endswith(".") and f" of {n}" in head, (task.instruction, turn.content)
            done = [int(k) for k in re.findall(r"\d+", head.rsplit(" of ", 1)[0])]
            labelled = [int(k) for k in re.findall(rf"^Step (\d+) of {n}: ", turn.content, re.M)]
            done_seen += done
            taken.update(labelled)
            finished = n in done or (n in labelled and not turn.tool_calls)
            assert finished == (turn.final_answer is not None), (task.instruction, turn.content)
        assert done_seen == sorted(set(done_seen)), (task.instruction, done_seen)
        assert set(done_seen) | taken == set(range(1, n + 1)), (task.instruction, done_seen, taken)


def test_the_plan_names_each_function_with_what_it_takes_and_what_the_task_reads(
    episodes: list[Episode],
) -> None:
    """The choice of function follows the spec: the kind of value each call takes (as the first line
    types it) and the response field the task reads, both written beside the function's name."""
    for task, trajectory in episodes:
        assert task.reference is not None
        plan = _assistant(trajectory)[0].content.split("\n")[-1]
        at = 0
        for step in task.reference.steps:
            if step.function is None:
                continue
            at = plan.index(step.function, at) + len(step.function)
            beside = plan[at : at + 120]
            kinds = [parameter_noun(p) for p in step.arguments]
            assert all(kind in beside for kind in kinds), (plan, kinds)
            assert isinstance(step.result, dict), step  # a call's result is an object
            assert any(field in beside for field in step.result), (plan, step.function)


def test_a_comparison_says_which_value_is_larger_before_the_answer_picks_a_side(
    episodes: list[Episode],
) -> None:
    compared = 0
    for task, trajectory in episodes:
        assert task.reference is not None
        for step in task.reference.steps:
            if step.operation not in (LogicOp.MAX, LogicOp.MIN) or not step.labels:
                continue
            compared += 1
            text = "\n".join(t.content for t in _assistant(trajectory))
            marks = ("more than", " > ", "less than", "number.", "are equal")
            line = next(
                line
                for line in text.splitlines()
                if all(label.lower() in line.lower() for label in step.labels)
                and any(m in line for m in marks)
            )
            shown = re.sub(r"^step \d+ of \d+: ", "", line.lower())  # the step's place in the plan
            for label in step.labels:
                shown = shown.replace(label.lower(), "")
            numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", shown)]
            big, small = max(numbers[:2]), min(numbers[:2])
            said = re.search(r"(\S+) (?:is more than|>) (\S+)\.|(\S+) is less than (\S+)\.", line)
            larger = re.search(r"(\S+) is the (larger|smaller) number\.", line)
            if big == small:
                assert "are equal" in line, line
            elif said and said.group(1):
                assert (float(said.group(1)), float(said.group(2))) == (big, small), line
            elif said:
                assert (float(said.group(3)), float(said.group(4))) == (small, big), line
            else:
                assert larger, line
                assert float(larger.group(1)) == (big if larger.group(2) == "larger" else small), line
    assert compared > 20
