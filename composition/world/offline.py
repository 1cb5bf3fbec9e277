"""``OfflineWorld``: the embedded default world — no LLM, no network, exactly one right result per call."""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from composition.compose import Composer
from composition.world.catalog import all_functions
from composition.world.generator import generate_task
from composition.world.kb import KnowledgeBase
from composition.world.phrasing import sample_literal
from composition.world.types import Param, ToolExecutionError, WorldFunction
from datamodel.behaviours import BehaviourMix
from datamodel.tasks import CompositionalTask, FunctionSpec, Strategy

__all__ = ["OfflineWorld"]


class OfflineWorld:
    """A seeded knowledge base, the typed functions over it, and a generator of compositional tasks."""

    def __init__(self, world_seed: int = 0) -> None:
        self.world_seed = world_seed
        self.kb = KnowledgeBase(world_seed)
        self.world_functions: dict[str, WorldFunction] = {f.name: f for f in all_functions()}
        self.functions: dict[str, FunctionSpec] = {n: f.spec for n, f in self.world_functions.items()}
        self.domains: list[str] = list(dict.fromkeys(f.domain for f in self.world_functions.values()))

    @cached_property
    def composer(self) -> Composer:
        """The composition strategies bound to this world's functions and knowledge base."""
        return Composer(list(self.world_functions.values()), self._run, self._sample)

    def _run(self, fn: WorldFunction, arguments: dict[str, Any]) -> dict[str, Any]:
        return fn.impl(self.kb, arguments)

    def _sample(self, param: Param, rng: random.Random) -> Any:
        return sample_literal(self.kb, param, rng)

    def execute(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Run a function; raises ToolExecutionError naming the problem when it cannot run."""
        fn = self.world_functions.get(name)
        if fn is None:
            raise ToolExecutionError(
                f"Unknown function {name!r}: the offline world has no function of that name."
            )
        if not isinstance(arguments, dict):
            raise ToolExecutionError(
                f"Arguments of {name} must be a JSON object, got {type(arguments).__name__}."
            )
        error = next(iter(fn.spec.argument_validator.iter_errors(arguments)), None)
        if error is not None:
            where = "/".join(map(str, error.absolute_path)) or "arguments"
            raise ToolExecutionError(f"Invalid arguments for {name} at {where}: {error.message}.")
        try:
            return fn.impl(self.kb, dict(arguments))
        except ToolExecutionError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise ToolExecutionError(f"{name} could not run with {arguments!r}: {exc}") from exc

    def generate_task(
        self,
        seed: int,
        index: int,
        max_subtasks: int = 3,
        strategies: Sequence[Strategy] | None = None,
        mix: BehaviourMix | None = None,
    ) -> CompositionalTask:
        """The ``index``-th task of ``seed`` (independent of how many others are generated); `mix` draws its
        behaviour (composition/world/behaviours.py), None keeps every task plain."""
        return generate_task(self, seed, index, max_subtasks, strategies, mix)

    def generate_tasks(
        self,
        n: int,
        seed: int,
        max_subtasks: int = 3,
        strategies: Sequence[Strategy] | None = None,
        mix: BehaviourMix | None = None,
    ) -> list[CompositionalTask]:
        """Tasks 0..n-1 of ``seed``; the first k are the same whatever n is."""
        return [self.generate_task(seed, i, max_subtasks, strategies, mix) for i in range(n)]
