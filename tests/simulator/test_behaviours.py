"""Behaviours beyond one answerable request, end to end without a database: the world gives them, the
offline roles play them, and each verification layer accepts the right move and rejects the wrong one."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from composition.logic import render_value
from composition.world.behaviours import look_alikes_of, vague_phrases
from composition.world.offline import OfflineWorld
from datamodel.behaviours import Behaviour, BehaviourMix
from datamodel.checks import CheckName, CheckResult
from datamodel.reference import ReferenceStep
from datamodel.tasks import CompositionalTask
from datamodel.trajectory import AssistantTurn, TerminationReason, ToolCall, Trajectory, UserTurn
from simulator.build import offline_clients
from simulator.episode import EpisodeConfig, run_episode
from simulator.verify import verify

MIX = BehaviourMix()
GAVE_UP = "Sorry, I couldn't get that: the service failed."


@pytest.fixture(scope="module")
def world() -> OfflineWorld:
    return OfflineWorld(world_seed=0)


@pytest.fixture(scope="module")
def tasks(world: OfflineWorld) -> list[CompositionalTask]:
    return world.generate_tasks(400, seed=5, mix=MIX)


def _run(world: OfflineWorld, task: CompositionalTask, parallel: bool = True) -> Trajectory:
    clients = offline_clients(task, world, parallel=parallel)
    return asyncio.run(run_episode(task, clients, EpisodeConfig(parallel=parallel)))


def _check(task: CompositionalTask, trajectory: Trajectory, name: CheckName) -> CheckResult:
    return next(c for c in verify(task, trajectory) if c.name == name)


def _first(tasks: list[CompositionalTask], behaviour: Behaviour, **where: str) -> CompositionalTask:
    for task in tasks:
        if task.behaviour is behaviour and all(getattr(task.fault, k) == v for k, v in where.items()):
            return task
    raise AssertionError(f"no {behaviour} task {where}")


def test_the_mix_is_drawn_per_task_and_none_keeps_every_task_plain(
    world: OfflineWorld, tasks: list[CompositionalTask]
) -> None:
    counts = Counter(t.behaviour for t in tasks)
    assert set(counts) == set(Behaviour)
    assert (
        0.5 < counts[Behaviour.PLAIN] / len(tasks) < 0.8
    )  # 60% asked; tasks that cannot take one stay plain
    assert any(t.look_alikes for t in tasks)
    assert world.generate_tasks(30, seed=5) == world.generate_tasks(
        30, seed=5, mix=BehaviourMix(clarify=0, follow_up=0, irrelevant=0, tool_error=0, look_alike=0)
    )
    assert world.generate_tasks(30, seed=5, mix=MIX) == tasks[:30]  # reproducible


@pytest.mark.parametrize("parallel", [True, False])
def test_the_offline_roles_pass_every_layer_of_every_behaviour(
    world: OfflineWorld, tasks: list[CompositionalTask], parallel: bool
) -> None:
    for task in tasks:
        trajectory = _run(world, task, parallel)
        failed = [c for c in verify(task, trajectory) if c.applicable and not c.passed]
        assert not failed, (task.behaviour, task.instruction, failed)


def test_clarify_asks_for_the_left_out_value_and_rejects_an_invented_one(
    world: OfflineWorld, tasks: list[CompositionalTask]
) -> None:
    task = _first(tasks, Behaviour.CLARIFY)
    assert task.withheld is not None and task.withheld.text not in task.instruction
    trajectory = _run(world, task)
    user = [t for t in trajectory.turns if isinstance(t, UserTurn)]
    assert len(user) == 2 and task.withheld.text in user[1].content
    question = trajectory.turns[1]
    assert isinstance(question, AssistantTurn) and not question.tool_calls and question.content.endswith("?")
    # one line: what the request gives up to the vague phrase, marked (and only it) as naming nothing
    # where it is copied, then at once the question about it
    noun = task.withheld.noun
    vague = next(v for v in vague_phrases(noun) if v in task.instruction)
    assert "\n" not in question.content and question.content.count(" (") == 1
    given, asked = question.content.split(")", 1)
    assert given.split(" (")[0].endswith(vague) and asked.startswith(". ") and noun in asked
    assert _check(task, trajectory, CheckName.ASKED_NOT_GUESSED).passed
    # the same calls without asking: the value is invented, and the layer says so
    calls = [t for t in trajectory.turns[3:]]
    guessed = Trajectory(
        turns=[trajectory.turns[0], *calls], termination=trajectory.termination, parallel=True
    )
    result = _check(task, guessed, CheckName.ASKED_NOT_GUESSED)
    assert not result.passed and task.withheld.text in result.reason


def test_follow_ups_are_answered_in_turn_reusing_earlier_results(
    world: OfflineWorld, tasks: list[CompositionalTask]
) -> None:
    task = next(t for t in tasks if len(t.follow_ups) == 2)
    trajectory = _run(world, task)
    asked = [t.content for t in trajectory.turns if isinstance(t, UserTurn)]
    assert asked == [task.instruction, *(f.instruction for f in task.follow_ups)]
    answers = [t.final_answer for t in trajectory.turns if isinstance(t, AssistantTurn) and t.final_answer]
    assert len(answers) == 3 and _check(task, trajectory, CheckName.FOLLOW_UPS_ANSWERED).passed
    # a repeated call, where an earlier result could be reused, is rejected
    first_call = next(t for t in trajectory.turns if isinstance(t, AssistantTurn) and t.tool_calls)
    again = first_call.model_copy(
        update={"tool_calls": [c.model_copy(update={"id": "again"}) for c in first_call.tool_calls]}
    )
    repeated = trajectory.model_copy(update={"turns": [*trajectory.turns[:-1], again, trajectory.turns[-1]]})
    assert not _check(task, repeated, CheckName.FOLLOW_UPS_ANSWERED).passed


def test_a_follow_up_on_a_comparison_names_the_winner_in_its_answer(
    world: OfflineWorld, tasks: list[CompositionalTask]
) -> None:
    """ "And how far is that city from X?" after "which is larger, A or B?": the answer names the city
    that came out on top, not "the population of A versus the population of B"."""
    found = 0
    for task in tasks:
        if not task.follow_ups or task.reference is None:
            continue
        last = task.reference.steps[-1]
        if last.operation is None or not last.labels:
            continue
        found += 1
        trajectory = _run(world, task)
        answers = [t.final_answer or "" for t in trajectory.turns if isinstance(t, AssistantTurn)]
        later = [a for a in answers if a][1:]
        assert later and not any(" versus " in a for a in later), later
        assert str(last.result) in later[0], (last.result, later[0])
    assert found > 0


def test_a_follow_up_answer_names_what_earlier_requests_found_by_value(
    world: OfflineWorld, tasks: list[CompositionalTask]
) -> None:
    """ "And which city does airport that code serve?": the answer says "the city served by airport BRB",
    not "the city served by airport the airport code of the city where ..."."""
    checked = 0
    for task in [t for t in tasks if t.follow_ups][:40]:
        assert task.reference is not None
        trajectory = _run(world, task)
        answers = [
            t.final_answer for t in trajectory.turns if isinstance(t, AssistantTurn) and t.final_answer
        ]
        steps = list(task.reference.steps)
        for follow_up, answer in zip(task.follow_ups, answers[1:], strict=False):
            last = follow_up.steps[-1]
            earlier = [k for k in range(len(steps)) if f"{{{k}}}" in (last.phrase or "")]
            for k in earlier:
                result = steps[k].result
                shown = [render_value(v) for v in (result.values() if isinstance(result, dict) else [result])]
                assert any(value in answer for value in shown), (answer, shown)
                checked += 1
            steps += follow_up.steps
    assert checked > 5


def test_an_irrelevant_request_is_refused_without_calls(
    world: OfflineWorld, tasks: list[CompositionalTask]
) -> None:
    task = _first(tasks, Behaviour.IRRELEVANT)
    trajectory = _run(world, task)
    assert not trajectory.calls and trajectory.final_answer is not None
    assert _check(task, trajectory, CheckName.REFUSED_IRRELEVANT).passed
    assert not _check(task, trajectory, CheckName.ANSWER_CORRECT).applicable
    offered = task.functions[0].name
    tried = trajectory.model_copy(
        update={
            "turns": [
                trajectory.turns[0],
                AssistantTurn(tool_calls=[ToolCall(id="x", name=offered, arguments={})]),
            ]
        }
    )
    assert not _check(task, tried, CheckName.REFUSED_IRRELEVANT).passed


@pytest.mark.parametrize(
    ("kind", "expected"), [("transient", "retry"), ("typo", "correct"), ("unavailable", "report")]
)
def test_each_kind_of_tool_error_gets_the_move_it_calls_for(
    world: OfflineWorld, tasks: list[CompositionalTask], kind: str, expected: str
) -> None:
    task = _first(tasks, Behaviour.TOOL_ERROR, kind=kind)
    trajectory = _run(world, task)
    errors = [r for t in trajectory.turns if t.role == "tool" for r in t.results if r.error]
    assert errors and task.fault is not None and errors[0].error == task.fault.message
    handled = _check(task, trajectory, CheckName.ERROR_HANDLED)
    assert handled.passed and f"expected: {expected}" in handled.reason
    if kind == "typo":
        assert task.fault.typo is not None and task.fault.typo in task.instruction
    if kind == "unavailable":
        assert not _check(task, trajectory, CheckName.ANSWER_CORRECT).applicable
        assert trajectory.final_answer is not None and task.fault.message in trajectory.final_answer
    # giving up right after the error is not what any kind calls for, except reporting a service down
    cut = next(
        i for i, t in enumerate(trajectory.turns) if t.role == "tool" and any(r.error for r in t.results)
    )
    stopped = trajectory.model_copy(
        update={"turns": [*trajectory.turns[: cut + 1], AssistantTurn(final_answer=GAVE_UP)]}
    )
    assert _check(task, stopped, CheckName.ERROR_HANDLED).passed is (expected == "report")


def test_a_call_to_a_look_alike_is_rejected(world: OfflineWorld, tasks: list[CompositionalTask]) -> None:
    task = next(t for t in tasks if t.look_alikes and t.behaviour is Behaviour.PLAIN)
    trajectory = _run(world, task)
    assert set(task.look_alikes) <= {f.name for f in task.functions}
    assert _check(task, trajectory, CheckName.RIGHT_TWIN).passed
    twin = AssistantTurn(tool_calls=[ToolCall(id="t", name=task.look_alikes[0], arguments={})])
    wrong = trajectory.model_copy(update={"turns": [trajectory.turns[0], twin, *trajectory.turns[1:]]})
    result = _check(task, wrong, CheckName.RIGHT_TWIN)
    assert not result.passed and task.look_alikes[0] in result.reason


def test_layers_of_other_behaviours_do_not_apply(world: OfflineWorld, tasks: list[CompositionalTask]) -> None:
    task = next(t for t in tasks if t.behaviour is Behaviour.PLAIN and not t.look_alikes)
    behaviours = {
        CheckName.ASKED_NOT_GUESSED,
        CheckName.FOLLOW_UPS_ANSWERED,
        CheckName.REFUSED_IRRELEVANT,
        CheckName.ERROR_HANDLED,
        CheckName.RIGHT_TWIN,
    }
    checks = verify(task, _run(world, task))
    assert all(not c.applicable for c in checks if c.name in behaviours)


def test_an_invented_answer_is_no_refusal_and_no_report(
    world: OfflineWorld, tasks: list[CompositionalTask]
) -> None:
    irrelevant = _first(tasks, Behaviour.IRRELEVANT)
    made_up = Trajectory(
        turns=[UserTurn(content=irrelevant.instruction), AssistantTurn(final_answer="It has 412 pages.")],
        termination=TerminationReason.FINAL_ANSWER,
        parallel=True,
    )
    assert not _check(irrelevant, made_up, CheckName.REFUSED_IRRELEVANT).passed
    down = _first(tasks, Behaviour.TOOL_ERROR, kind="unavailable")
    trajectory = _run(world, down)
    invented = trajectory.model_copy(
        update={"turns": [*trajectory.turns[:-1], AssistantTurn(final_answer="The answer is 42.")]}
    )
    assert not _check(down, invented, CheckName.ERROR_HANDLED).passed


def test_naming_the_left_out_value_before_the_user_gives_it_is_rejected(
    world: OfflineWorld, tasks: list[CompositionalTask]
) -> None:
    task = _first(tasks, Behaviour.CLARIFY)
    assert task.withheld is not None
    trajectory = _run(world, task)
    leak = AssistantTurn(
        content=f"I'll look up {task.withheld.text}. Which {task.withheld.noun} do you mean?"
    )
    leaked = trajectory.model_copy(update={"turns": [trajectory.turns[0], leak, *trajectory.turns[2:]]})
    result = _check(task, leaked, CheckName.ASKED_NOT_GUESSED)
    assert not result.passed and "names" in result.reason


def test_look_alikes_do_another_job(world: OfflineWorld, tasks: list[CompositionalTask]) -> None:
    """A twin takes what a needed function takes and shares a word of its name, but returns none of the
    same fields: calling it can never be a right way to the answer."""
    for task in tasks:
        needed = {s.function for s in task.reference.steps if s.function} if task.reference else set()
        needed |= {s.function for f in task.follow_ups for s in f.steps if s.function}
        for twin in task.look_alikes:
            of = [name for name in needed if twin in look_alikes_of(world, name)]
            assert of, (twin, needed)
            fields = {p.key for p in world.world_functions[twin].outputs}
            assert all(not fields & {p.key for p in world.world_functions[n].outputs} for n in of)


def test_eval_scores_each_behaviour_by_its_own_check(
    world: OfflineWorld, tasks: list[CompositionalTask]
) -> None:
    """`button eval`'s metrics: the behaviour's check and right_twin, None where they do not apply, and a
    breakdown with a group per behaviour plus the look-alike group."""
    from evaluation.metrics import breakdowns, episode_metrics

    scored = []
    for behaviour in Behaviour:
        task = _first(tasks, behaviour)
        metrics = episode_metrics(task, _run(world, task))
        assert metrics.behaviour_passed is (None if behaviour is Behaviour.PLAIN else True), behaviour
        assert metrics.twin_passed is (True if task.look_alikes else None)
        scored.append((task, metrics))
    irrelevant = _first(tasks, Behaviour.IRRELEVANT)
    refused = _run(world, irrelevant)
    call = AssistantTurn(tool_calls=[ToolCall(id="x", name=irrelevant.functions[0].name, arguments={})])
    called = refused.model_copy(update={"turns": [refused.turns[0], call]})
    assert episode_metrics(irrelevant, called).behaviour_passed is False
    twin_task = next(t for t in tasks if t.look_alikes and t.behaviour is Behaviour.PLAIN)
    trajectory = _run(world, twin_task)
    twin = AssistantTurn(tool_calls=[ToolCall(id="t", name=twin_task.look_alikes[0], arguments={})])
    wrong = trajectory.model_copy(update={"turns": [trajectory.turns[0], twin, *trajectory.turns[1:]]})
    wrong_metrics = episode_metrics(twin_task, wrong)
    assert (wrong_metrics.twin_passed, wrong_metrics.behaviour_passed) == (False, None)
    scored += [(irrelevant, episode_metrics(irrelevant, called)), (twin_task, wrong_metrics)]

    groups = breakdowns(scored)["behaviour"]
    assert list(groups) == [*(b.value for b in Behaviour), "look_alike"]
    assert groups["irrelevant"].n == 2 and groups["irrelevant"].behaviour_rate == 0.5
    assert groups["plain"].behaviour_rate is None
    looked = [m for t, m in scored if t.look_alikes]
    assert groups["look_alike"].n == len(looked)
    assert groups["look_alike"].twin_rate == sum(bool(m.twin_passed) for m in looked) / len(looked)


def test_follow_ups_get_message_room_of_their_own(
    world: OfflineWorld, tasks: list[CompositionalTask]
) -> None:
    """The message limit is per request: a conversation with follow-ups is not cut off before its last
    answer by a limit that fits one request."""
    task = max((t for t in tasks if t.follow_ups), key=lambda t: len(whole_steps(t)))
    clients = offline_clients(task, world, parallel=False)
    trajectory = asyncio.run(run_episode(task, clients, EpisodeConfig(parallel=False, max_turns=8)))
    assert trajectory.termination is TerminationReason.FINAL_ANSWER
    assert len(trajectory.turns) > 8 and _check(task, trajectory, CheckName.FOLLOW_UPS_ANSWERED).passed


def whole_steps(task: CompositionalTask) -> list[ReferenceStep]:
    assert task.reference is not None
    own = [s for s in task.reference.steps if s.function]
    return own + [s for f in task.follow_ups for s in f.steps if s.function]


def test_a_fork_after_a_transient_failure_does_not_fail_again(
    world: OfflineWorld, tasks: list[CompositionalTask]
) -> None:
    """The planned failure depends on the conversation, not on the tool's memory: re-simulated from the
    assistant's retry, the call that already failed once succeeds."""
    task = _first(tasks, Behaviour.TOOL_ERROR, kind="transient")
    trajectory = _run(world, task)
    failed = next(
        i for i, t in enumerate(trajectory.turns) if t.role == "tool" and any(r.error for r in t.results)
    )
    prefix = trajectory.turns[: failed + 2]  # the failure and the assistant's retry
    clients = offline_clients(task, world, parallel=True)
    forked = asyncio.run(run_episode(task, clients, EpisodeConfig(parallel=True), prefix=prefix))
    said = [t.model_dump(exclude={"usage"}) for t in trajectory.turns]
    assert [t.model_dump(exclude={"usage"}) for t in forked.turns] == said
    assert _check(task, forked, CheckName.ERROR_HANDLED).passed


def test_any_tool_client_plays_the_planned_failure(
    world: OfflineWorld, tasks: list[CompositionalTask]
) -> None:
    """The ToolRole fails the planned call without asking its client, so an LLM tool fails as the offline
    one does (here a client that would answer every call)."""
    from roles.offline import OfflineToolClient

    for kind in ("transient", "typo", "unavailable"):
        task = _first(tasks, Behaviour.TOOL_ERROR, kind=kind)
        clients = offline_clients(task, world, parallel=True)
        clients.tool = OfflineToolClient(world)  # knows nothing of the fault
        trajectory = asyncio.run(run_episode(task, clients, EpisodeConfig(parallel=True)))
        errors = [r.error for t in trajectory.turns if t.role == "tool" for r in t.results if r.error]
        assert task.fault is not None and errors[0] == task.fault.message, kind
        assert _check(task, trajectory, CheckName.ERROR_HANDLED).passed, kind
