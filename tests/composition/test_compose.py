"""The composition strategies on their own: exact step counts, typed links and degenerate rejection."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from composition.compose import compose_parallel_then_sequential, compose_sequential
from composition.world.expr import Call, Logic, Node, Reject, linearize
from composition.world.offline import OfflineWorld
from composition.world.types import feeds
from datamodel.reference import RefArg


def _build(world: OfflineWorld, make: object, steps: int, seed: int) -> Node | None:
    rng = random.Random(seed)
    for _ in range(60):
        try:
            return make(world.composer, steps, rng)  # type: ignore[operator, no-any-return]
        except Reject:
            continue
    return None


@pytest.mark.parametrize("steps", [1, 2, 3, 4, 6])
def test_sequential_chains_have_exact_length_and_typed_links(world: OfflineWorld, steps: int) -> None:
    for seed in range(15):
        root = _build(world, compose_sequential, steps, seed)
        assert root is not None
        linear = linearize(root)
        assert len(linear.nodes) == steps
        for sub in linear.subtasks[1:]:
            assert sub.depends_on == [sub.index - 1]
        for node in linear.nodes:
            if isinstance(node, Call):
                for key, arg in node.args.items():
                    if isinstance(arg, Call | Logic):
                        assert feeds(arg.stype, node.fn.input(key).stype), (node.fn.name, key, arg.stype)


@pytest.mark.parametrize("steps", [3, 4, 5, 6])
def test_parallel_then_sequential_joins_two_branches(world: OfflineWorld, steps: int) -> None:
    built = 0
    for seed in range(15):
        root = _build(world, compose_parallel_then_sequential, steps, seed)
        if root is None:
            continue
        built += 1
        linear = linearize(root)
        assert len(linear.nodes) == steps
        join = next(s for s in linear.subtasks if len(s.depends_on) == 2)
        first, second = join.depends_on
        assert first < second
    assert built >= 12


def test_parallel_then_sequential_needs_three_steps(world: OfflineWorld) -> None:
    with pytest.raises(ValueError, match="at least 3"):
        compose_parallel_then_sequential(world.composer, 2, random.Random(0))


def test_list_reductions_refer_to_the_list_field(world: OfflineWorld) -> None:
    seen = 0
    for task in world.generate_tasks(300, seed=21):
        assert task.reference is not None
        for step in task.reference.steps:
            if step.operation is not None and step.key is not None:
                (operand,) = step.operands
                assert isinstance(operand, RefArg) and operand.field is not None
                listed = task.reference.steps[operand.step].result[operand.field]
                assert isinstance(listed, list) and step.label_key in listed[0]
                seen += 1
    assert seen > 20


def test_generation_ignores_hash_randomization(tmp_path: Path) -> None:
    script = (
        "from composition.world.offline import OfflineWorld\n"
        "import hashlib\n"
        "tasks = OfflineWorld(0).generate_tasks(60, seed=8, max_subtasks=4)\n"
        "print(hashlib.sha256(''.join(t.model_dump_json() for t in tasks).encode()).hexdigest())\n"
    )
    root = Path(__file__).resolve().parents[2]
    digests = set()
    for hash_seed in ("1", "987"):
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=root,
            env={"PYTHONHASHSEED": hash_seed, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
        )  # fmt: skip
        digests.add(out.stdout.strip())
    assert len(digests) == 1
