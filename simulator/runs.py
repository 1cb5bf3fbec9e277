"""What every way of running many episodes shares: the outcome an episode hands back, the errors a run
stops with, and the offline world each process builds once.

Offline batches (simulator/batch.py) and LLM runs (simulator/llm_batch.py, simulator/llm_shards.py) both
use these, in the parent and in worker processes, so they live below all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from composition.world.offline import OfflineWorld
from datamodel.checks import CheckResult, verdict
from datamodel.trajectory import Trajectory

__all__ = ["EpisodeOutcome", "RunError", "RunInterrupted", "WorkerError", "offline_world"]


class RunError(Exception):
    """A run cannot be started, resumed or continued as asked; the message says why."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) while a run's tasks were being stored: the run exists, marked interrupted."""

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id


class WorkerError(RunError):
    """A worker process failed or died; what the others finished is stored, the rest stays pending."""


@dataclass
class EpisodeOutcome:
    """One finished episode, as it is handed to whoever stores it (from a worker or in-process)."""

    task_id: int
    trajectory: Trajectory
    checks: list[CheckResult]
    models: dict[str, str]

    @property
    def accepted(self) -> bool:
        return verdict(self.checks).accepted


@lru_cache(maxsize=4)
def offline_world(world_seed: int) -> OfflineWorld:
    """The offline world of a seed, built once per process (its knowledge base takes a while)."""
    return OfflineWorld(world_seed=world_seed)
