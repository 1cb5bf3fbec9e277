"""Configuration of a generation run: the CLI maps flags onto it and the run stores it.

What a run produces depends only on the content fields (seed, n, world, strategy knobs); the execution
fields (workers, concurrency) change how fast it goes, never what it makes, so a resume may change them.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from composition.pipeline import BottomUpConfig
from roles.model_config import LLM_ROLES, LLMExecution, RoleModel

__all__ = ["DEFAULT_DB_URL", "LLM_SOURCE_ROLES", "GenerateConfig", "default_workers"]

DEFAULT_DB_URL = "sqlite:///button.db"
# Roles an LLM must play when tasks come from the bottom-up stages: composer and judge make the tasks;
# the offline assistant needs a ground-truth reference and the offline tool runs only world functions.
LLM_SOURCE_ROLES = ("composer", "judge", "assistant", "tool")


def default_workers() -> int:
    """One worker process per core, at most 8; the parent stores results while they simulate."""
    return max(1, min(os.cpu_count() or 1, 8))


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
