"""Configuration of a generation run: the CLI maps flags onto it and the run stores it.

What a run produces depends only on the content fields (seed, n, world, strategy knobs); the execution
fields (workers, concurrency) change how fast it goes, never what it makes, so a resume may change them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from datamodel.models import LLM_ROLES, LLMExecution, RoleModel
from datamodel.tasks import Strategy

__all__ = [
    "DEFAULT_DB_URL",
    "DEFAULT_DEDUP_THRESHOLD",
    "EVAL_SEED",
    "LLM_SOURCE_ROLES",
    "PROMPT_NAMES",
    "BottomUpConfig",
    "EvalConfig",
    "GenerateConfig",
    "default_workers",
]

DEFAULT_DB_URL = "sqlite:///button.db"
# Roles an LLM must play when tasks come from the bottom-up stages: composer and judge make the tasks;
# the offline assistant needs a ground-truth reference and the offline tool runs only world functions.
LLM_SOURCE_ROLES = ("composer", "judge", "assistant", "tool")
EVAL_SEED = 424_242  # held-out offline-world tasks; `button generate` defaults to seed 0
DEFAULT_DEDUP_THRESHOLD = 0.85  # cosine similarity at which two scenarios are one
PROMPT_NAMES = (
    "scenario_extract",
    "scenario_expand",
    "atomic_task",
    "compose_sequential",
    "compose_parallel",
    "filter_judge",
    "function_synth",
    "retry_feedback",
)


def default_workers() -> int:
    """One worker process per core, at most 8; the parent stores results while they simulate."""
    return max(1, min(os.cpu_count() or 1, 8))


class BottomUpConfig(BaseModel):
    """Settings of the bottom-up phase; stored with the run, so a resume uses the same ones."""

    model_config = ConfigDict(extra="forbid")

    seeds: Path | None = Field(
        default=None, description="Seed file (.jsonl, or .json array); none: the shipped examples."
    )
    max_seeds: int | None = Field(default=None, ge=1, description="Read at most this many seeds.")
    n_expansions: int = Field(default=2, ge=0, le=20, description="New scenarios per kept seed scenario.")
    dedup_threshold: float = Field(
        default=DEFAULT_DEDUP_THRESHOLD,
        gt=0,
        le=1,
        description="Cosine similarity at which scenarios are duplicates.",
    )
    strategies: list[Strategy] = Field(
        default=[Strategy.SEQUENTIAL, Strategy.PARALLEL_THEN_SEQUENTIAL],
        description="Strategies assigned to atomic tasks in turn; repeat one to weight it.",
    )
    max_retries: int = Field(default=2, ge=0, le=10, description="Re-asks after an unusable reply.")
    concurrency: int = Field(default=8, ge=1, le=512, description="LLM requests in flight at once.")
    prompt_versions: dict[str, int] = Field(
        default_factory=dict, description="Prompt name → version; unnamed prompts use version 1."
    )

    @field_validator("strategies")
    @classmethod
    def _composable(cls, value: list[Strategy]) -> list[Strategy]:
        if not value or Strategy.ATOMIC in value:
            raise ValueError("strategies must list sequential and/or parallel_then_sequential")
        return value

    @field_validator("prompt_versions")
    @classmethod
    def _known_prompts(cls, value: dict[str, int]) -> dict[str, int]:
        for name, version in value.items():
            if name not in PROMPT_NAMES:
                raise ValueError(f"unknown prompt {name!r}; known: {', '.join(PROMPT_NAMES)}")
            if version < 1:
                raise ValueError(f"prompt {name!r}: versions start at 1, got {version}")
        return value


class GenerateConfig(BaseModel):
    """Everything `button generate` needs; stored in `runs.config` so a run can be reproduced."""

    n: int = Field(
        default=600, ge=1, le=1_000_000, description="Number of compositional tasks to simulate (at most)."
    )
    source: Literal["world", "llm"] = Field(
        default="world",
        description="Where tasks come from: the offline world, or the LLM-driven bottom-up stages.",
    )
    bottom_up: BottomUpConfig = Field(
        default_factory=BottomUpConfig, description="Settings of the bottom-up stages (source 'llm')."
    )
    seed: int = Field(default=0, ge=0, description="Seed of task generation; same seed, same dataset.")
    parallel: bool = Field(default=True, description="Whether the assistant may make parallel calls.")
    max_subtasks: int = Field(default=3, ge=1, le=8, description="Most sub-tasks a composed task may have.")
    max_turns: int = Field(default=24, ge=2, le=200, description="Messages after which an episode stops.")
    world_seed: int = Field(default=0, ge=0, description="Seed of the offline world's knowledge base.")
    policy: str = Field(default="plan", description="Offline assistant policy: 'plan' or 'sequential'.")
    workers: int = Field(
        default_factory=default_workers, ge=0, le=64, description="Worker processes; 0 runs in-process."
    )
    concurrency: int = Field(default=32, ge=1, le=1024, description="Episodes in flight per worker.")
    roles: dict[str, RoleModel] = Field(
        default_factory=dict,
        description="Model of each role (user, assistant, tool; composer, judge later); missing = offline.",
    )
    max_format_retries: int = Field(
        default=2, ge=0, le=10, description="Times a malformed LLM reply is sent back with the problem."
    )
    llm: LLMExecution = Field(default_factory=LLMExecution, description="How LLM requests are made.")

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: dict[str, RoleModel]) -> dict[str, RoleModel]:
        unknown = set(roles) - set(LLM_ROLES)
        if unknown:
            raise ValueError(f"unknown role(s) {sorted(unknown)}; allowed: {', '.join(LLM_ROLES)}")
        return roles

    def missing_llm_roles(self) -> list[str]:
        """The roles an LLM-source run needs played by an LLM but has offline (empty when fine)."""
        if self.source != "llm":
            return []
        return [role for role in LLM_SOURCE_ROLES if not self.role(role).spec.is_llm]

    def role(self, name: str) -> RoleModel:
        """The settings of a role (offline when not configured)."""
        return self.roles.get(name) or RoleModel()

    @property
    def uses_llm(self) -> bool:
        """Whether any simulation role is played by an LLM (then the run is in-process asyncio)."""
        return any(self.role(r).spec.is_llm for r in ("user", "assistant", "tool"))

    def content(self) -> dict[str, Any]:
        """The fields that decide what the run produces (execution fields left out)."""
        return self.model_dump(mode="json", exclude={"workers", "concurrency", "llm"})


class EvalConfig(BaseModel):
    """Everything `button eval` decides for one model; stored in `runs.config` to resume or reproduce."""

    model_config = ConfigDict(frozen=True)

    assistant: RoleModel = Field(description="The model under test, its endpoint and call format.")
    label: str = Field(description="Name of the model in tables and charts.")
    n: int = Field(default=100, ge=1, le=100_000, description="Held-out tasks to evaluate on.")
    seed: int = Field(default=EVAL_SEED, ge=0, description="Seed of the offline-world held-out tasks.")
    from_run: int | None = Field(default=None, description="Take the tasks of this stored generate run.")
    world_seed: int = Field(default=0, ge=0, description="Seed of the offline world's knowledge base.")
    max_subtasks: int = Field(default=3, ge=1, le=8, description="Most sub-tasks of a world task.")
    parallel: bool = Field(default=True, description="Whether the model may make parallel calls.")
    max_turns: int = Field(default=12, ge=2, le=200, description="Messages after which a conversation stops.")
    max_idle: int = Field(
        default=2,
        ge=1,
        le=100,
        description="Assistant turns in a row with neither calls nor answer that end it.",
    )
    format_retries: int = Field(
        default=0, ge=0, le=10, description="Times a malformed reply is sent back (0: a miss is a miss)."
    )
    train_data: list[Path] = Field(
        default_factory=list, description="Export files the model trained on: their tasks are refused."
    )
    training_run: int | None = Field(default=None, description="Training run the model came from.")
    concurrency: int = Field(default=4, ge=1, le=1024, description="Conversations in flight.")
    llm: LLMExecution = Field(default_factory=LLMExecution, description="How LLM requests are made.")

    def generation(self) -> GenerateConfig:
        """The generation settings the episodes run under (user and tools offline)."""
        return GenerateConfig(
            n=self.n,
            seed=self.seed,
            parallel=self.parallel,
            max_subtasks=self.max_subtasks,
            max_turns=self.max_turns,
            world_seed=self.world_seed,
            workers=0,
            concurrency=self.concurrency,
            roles={"assistant": self.assistant},
            max_format_retries=self.format_retries,
            llm=self.llm,
        )

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"concurrency", "llm"})
