"""The two composition strategies of BUTTON over typed output→input links, and deeper chains.

* ``compose_sequential``: a chain A → B → ... where each step consumes the previous step's output
  ("the birth year of the author of X"). With ``steps`` > 2 the chain is a composition of compositions.
* ``compose_parallel_then_sequential``: two independent branches (each itself a chain) and a subsequent
  step consuming both: a two-input function (distance between two hometowns) or a logic step with no
  function (difference, sum, max, min, equal). Years may be subtracted across different questions
  ("how many years after the author's birth did the film come out"); other quantities are only
  combined like with like (the same question about two subjects), so a sum never adds a tuition to a
  kettle's price.

Links are found by semantic type (``composition.world.types.feeds``). A list output is reduced by a
logic step (max/min/count over the list) whose result may feed further steps. Builders raise ``Reject``
for degenerate candidates (ties, empty lists, identical subjects) and callers simply draw again.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from composition.world.expr import Call, Literal, Node, Reject
from composition.world.links import Producer, build_graph
from composition.world.questions import compare_logic, equal_logic, pick_logic, two_value_logic
from composition.world.reroot import reroot
from composition.world.types import Param, WorldFunction
from datamodel.reference import LogicOp

__all__ = ["Composer", "compose_parallel_then_sequential", "compose_sequential"]

Execute = Callable[[WorldFunction, dict[str, Any]], dict[str, Any]]
Sample = Callable[[Param, random.Random], Any]
_NO_ARITHMETIC = {"jersey_number", "calling_code", "latitude", "longitude", "utc_offset", "hour", "rank"}
_ADDITIVE = {
    "price_usd",
    "minutes",
    "count",
    "kilometers",
    "calories",
    "seconds",
    "page_count",
    "days",
    "money_million_usd",
    "money_billion_usd",
    "population",
    "seats",
    "millimeters",
    "milligrams",
}


@dataclass
class Composer:
    """Builds expression trees from the world's functions, executing each call as it is placed."""

    functions: Sequence[WorldFunction]
    execute: Execute
    sample: Sample

    def __post_init__(self) -> None:
        self.graph = build_graph(self.functions)

    def call(self, fn: WorldFunction, out_key: str, args: dict[str, Node], rng: random.Random) -> Call:
        """Place a call: pick a phrasing, execute it, and reject repeated same-type arguments."""
        seen: list[tuple[str, Any]] = []
        for key, node in args.items():
            marker = (fn.input(key).stype, node.value)
            if marker in seen:
                raise Reject(f"{fn.name} got the same {marker[0]} twice")
            seen.append(marker)
        node = Call(fn, out_key, args, rng.choice(fn.phrases[out_key]))
        node.result = self.execute(fn, {k: a.value for k, a in args.items()})
        return node

    def literal(self, param: Param, rng: random.Random) -> Literal:
        """A literal argument drawn from the knowledge base."""
        return Literal(self.sample(param, rng), param.stype)

    def produce(self, producer: Producer, steps: int, rng: random.Random) -> Node:
        """A tree of exactly ``steps`` steps ending with this producer."""
        remaining = steps - producer.cost
        if remaining < 0:
            raise Reject("producer costs more steps than allowed")
        deep = [p for p in producer.fn.inputs if remaining and self.graph.depth.get(p.stype, 0) >= remaining]
        if remaining and not deep:
            raise Reject(f"{producer.fn.name} cannot take a chain of {remaining}")
        chained = rng.choice(deep) if deep else None
        args: dict[str, Node] = {}
        for param in producer.fn.inputs:
            if param is chained:
                args[param.key] = self.chain(param.stype, remaining, rng)
                if getattr(args[param.key], "fn", None) is producer.fn:
                    raise Reject(f"{producer.fn.name} would feed itself")
            else:
                args[param.key] = self.literal(param, rng)
        return self.finish(producer, args, rng)

    def finish(self, producer: Producer, args: dict[str, Node], rng: random.Random) -> Node:
        """The producer's call (and its max/min/count step for a list output)."""
        node = self.call(producer.fn, producer.out_key, args, rng)
        if producer.op is None:
            return node
        return pick_logic(node, producer.op, producer.item_key)

    def chain(self, stype: str, steps: int, rng: random.Random) -> Node:
        """A sequential chain of exactly ``steps`` steps whose result feeds an input of ``stype``."""
        candidates = self.graph.feasible(stype, steps)
        if not candidates:
            raise Reject(f"no chain of {steps} steps yields {stype}")
        return self.produce(rng.choice(candidates), steps, rng)


def compose_sequential(composer: Composer, steps: int, rng: random.Random) -> Node:
    """Sequential strategy: one chain of ``steps`` sub-tasks, each consuming the previous output."""
    candidates = composer.graph.feasible_any(steps)
    if not candidates:
        raise Reject(f"no chain of {steps} steps")
    return composer.produce(rng.choice(candidates), steps, rng)


def compose_parallel_then_sequential(composer: Composer, steps: int, rng: random.Random) -> Node:
    """Parallel-then-Sequential: two independent branches, then a step that consumes both outputs."""
    if steps < 3:
        raise ValueError("parallel-then-sequential needs at least 3 sub-tasks")
    kinds: list[Callable[[Composer, int, random.Random], Node]] = [_two_input, _arithmetic, _arithmetic]
    if (steps - 1) % 2 == 0:
        kinds += [_compare, _compare, _equal]
    return rng.choice(kinds)(composer, steps, rng)


def _split(steps: int, rng: random.Random) -> tuple[int, int]:
    first = rng.randint(1, steps - 2)
    return first, steps - 1 - first


def _two_input(composer: Composer, steps: int, rng: random.Random) -> Node:
    producer = rng.choice(composer.graph.two_input)
    body = steps - (producer.cost - 1)
    if body < 3:
        raise Reject("not enough steps for two branches")
    left, right = _split(body, rng)
    linked = [p for p in producer.fn.inputs if composer.graph.depth.get(p.stype, 0) >= 1]
    first, second = rng.sample(linked, 2)
    args: dict[str, Node] = {}
    for param in producer.fn.inputs:
        if param is first:
            args[param.key] = composer.chain(param.stype, left, rng)
        elif param is second:
            args[param.key] = composer.chain(param.stype, right, rng)
        else:
            args[param.key] = composer.literal(param, rng)
    return composer.finish(producer, args, rng)


def _arithmetic(composer: Composer, steps: int, rng: random.Random) -> Node:
    stype = rng.choice(composer.graph.numeric_stypes)
    if stype in _NO_ARITHMETIC:
        raise Reject(f"no arithmetic on {stype}")
    op = LogicOp.SUM if stype in _ADDITIVE and rng.random() < 0.35 else LogicOp.DIFFERENCE
    if stype == "year":
        left, right = _split(steps, rng)
        a, b = composer.chain(stype, left, rng), composer.chain(stype, right, rng)
    elif (steps - 1) % 2 == 0:
        a, b, _, _ = _same_shape(composer, stype, (steps - 1) // 2, rng)
    else:
        raise Reject(f"{stype} is only combined like with like, which needs an odd number of steps")
    if op is LogicOp.DIFFERENCE and a.value < b.value:
        a, b = b, a
    return two_value_logic(op, a, b, stype, rng)


def _same_shape(
    composer: Composer, stype: str, steps: int, rng: random.Random, want_equal: bool = False
) -> tuple[Node, Node, Literal, Literal]:
    """A branch and its twin over a different subject, with both subjects (the comparison's labels)."""

    branch = composer.chain(stype, steps, rng)
    twin, old, new = reroot(composer, branch, rng, want_equal)
    return branch, twin, old, new


def _compare(composer: Composer, steps: int, rng: random.Random) -> Node:
    stype = rng.choice(composer.graph.numeric_stypes)
    if stype in _NO_ARITHMETIC:
        raise Reject(f"no comparison of {stype}")
    a, b, la, lb = _same_shape(composer, stype, (steps - 1) // 2, rng)
    if a.value == b.value:
        raise Reject("compared values tie")
    op = LogicOp.MAX if rng.random() < 0.5 else LogicOp.MIN
    return compare_logic(op, a, b, la, lb, rng)


def _equal(composer: Composer, steps: int, rng: random.Random) -> Node:
    stype = rng.choice(composer.graph.categorical_stypes)
    a, b, _, _ = _same_shape(composer, stype, (steps - 1) // 2, rng, want_equal=rng.random() < 0.4)
    return equal_logic(a, b, rng)
