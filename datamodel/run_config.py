"""The settings of every kind of run, each declared once: `button generate` (GenerateConfig), `button eval`
(EvalConfig) and forks made by `button replay --fork-at` (ForkConfig).

Each config is stored whole in `runs.config` and read back by the same class (`read_run_config`), so a
run can be resumed or reproduced from its row. The CLI and the `--config` YAML loader are derived from
these classes (cli/settings.py): a field's default and description are its flag's default and help.
Within a config, the fields that decide what a run produces are kept apart from those that only decide
how fast or how expensively it goes (`EXECUTION_FIELDS`), which a resume may change.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    field_serializer,
    field_validator,
    model_validator,
)

from datamodel.behaviours import BehaviourMix
from datamodel.models import CallFormat, Endpoint, LLMExecution, RoleModel, Roles
from datamodel.tasks import Strategy

__all__ = [
    "DEFAULT_DEDUP_THRESHOLD",
    "EVAL_SEED",
    "EXECUTION_FIELDS",
    "LLM_SOURCE_ROLES",
    "PROMPT_NAMES",
    "BottomUpConfig",
    "EvalConfig",
    "EvalSettings",
    "ForkChange",
    "ForkConfig",
    "GenerateConfig",
    "RunConfig",
    "default_workers",
    "read_run_config",
]

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


# Settings that change how fast or how expensively a run goes, never what it makes: a resume takes them
# from the resuming command instead of the stored run.
EXECUTION_FIELDS = frozenset({"workers", "concurrency", "llm"})
Policy = Literal["plan", "sequential"]


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
    """Everything `button generate` decides; stored in `runs.config` so a run can be resumed or reproduced."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["generate"] = Field(default="generate", description="The kind of run these settings make.")
    n: int = Field(
        default=600,
        ge=1,
        le=1_000_000,
        description="Number of compositional tasks to simulate (source llm: at most).",
    )
    source: Literal["world", "llm"] = Field(
        default="world", description="Tasks from the offline world, or from the LLM bottom-up stages."
    )
    seed: int = Field(default=0, ge=0, description="Seed of task generation: same seed, same dataset.")
    parallel: bool = Field(default=True, description="Let the assistant make independent calls in one turn.")
    max_subtasks: int = Field(
        default=3, ge=1, le=8, description="Most sub-tasks in a composed task (paper: 3)."
    )
    max_turns: int = Field(
        default=24, ge=2, le=200, description="Messages per request after which an episode is cut off."
    )
    world_seed: int = Field(default=0, ge=0, description="Seed of the offline world's knowledge base.")
    policy: Policy = Field(default="plan", description="Offline assistant policy: plan or sequential.")
    max_format_retries: int = Field(
        default=2, ge=0, le=10, description="Times a malformed LLM reply is sent back with the problem."
    )
    workers: int = Field(
        default_factory=default_workers,
        ge=0,
        le=64,
        description="Worker processes (0: in-process). Default: cores, at most 8.",
    )
    concurrency: int = Field(
        default=32,
        ge=1,
        le=1024,
        description="Episodes in flight per worker; LLM runs: requests in flight, the whole run.",
    )
    mix: BehaviourMix = Field(
        default_factory=BehaviourMix,
        description="Shares of the run's tasks that ask for more than one answerable request.",
    )
    endpoint: Endpoint = Field(
        default_factory=Endpoint,
        description="Endpoint and sampling defaults of every role played by an LLM; a role's own win.",
    )
    roles: Roles = Field(default_factory=Roles, description="The model of each role; offline when not set.")
    bottom_up: BottomUpConfig = Field(
        default_factory=BottomUpConfig, description="Settings of the bottom-up stages (source llm)."
    )
    llm: LLMExecution = Field(default_factory=LLMExecution, description="How LLM requests are made.")

    @model_validator(mode="after")
    def _roles_over_endpoint(self) -> GenerateConfig:
        """Resolve the endpoint defaults into each role once, so the stored roles are what ran."""
        self.roles = self.roles.over(self.endpoint)
        return self

    def missing_llm_roles(self) -> list[str]:
        """The roles an LLM-source run needs played by an LLM but has offline (empty when fine)."""
        if self.source != "llm":
            return []
        return [role for role in LLM_SOURCE_ROLES if not self.role(role).spec.is_llm]

    def role(self, name: str) -> RoleModel:
        """The settings of a role."""
        role: RoleModel = getattr(self.roles, name)
        return role

    @property
    def uses_llm(self) -> bool:
        """Whether any simulation role is played by an LLM (then episodes run on the asyncio LLM path)."""
        return any(self.role(r).spec.is_llm for r in ("user", "assistant", "tool"))

    def generation(self) -> GenerateConfig:
        """The settings episodes are simulated with (every kind of run answers this)."""
        return self


class EvalEndpoint(Endpoint):
    """The endpoint settings of models under test: replies are capped, as a small model can ramble."""

    max_tokens: int | None = Field(default=512, ge=1, description="Most tokens per reply.")


class EvalSettings(BaseModel):
    """What `button eval` decides for every model it evaluates in one go."""

    model_config = ConfigDict(extra="forbid")

    n: int = Field(default=100, ge=1, le=100_000, description="Held-out tasks to evaluate on.")
    seed: int = Field(default=EVAL_SEED, ge=0, description="Seed of the offline-world held-out tasks.")
    from_run: int | None = Field(default=None, description="Take the tasks of this stored generate run.")
    world_seed: int = Field(default=0, ge=0, description="Seed of the offline world's knowledge base.")
    max_subtasks: int = Field(default=3, ge=1, le=8, description="Most sub-tasks of a world task.")
    parallel: bool = Field(default=True, description="Let the model make parallel calls.")
    max_turns: int = Field(default=12, ge=2, le=200, description="Messages per request after which it stops.")
    max_idle: int = Field(
        default=2,
        ge=1,
        le=100,
        description="Assistant turns in a row with neither calls nor answer that end it.",
    )
    format_retries: int = Field(
        default=0, ge=0, le=10, description="Times a malformed reply is sent back (0: a miss is a miss)."
    )
    call_format: CallFormat = Field(default="button", description="BUTTON <call> text or native tool calls.")
    mix: BehaviourMix = Field(
        default_factory=BehaviourMix.none,
        description="Shares of held-out world tasks with each behaviour (default: all plain).",
    )
    train_data: list[Path] = Field(
        default_factory=list, description="Export files the model trained on: their tasks are refused."
    )
    training_run: int | None = Field(default=None, description="Training run the model came from.")
    concurrency: int = Field(default=4, ge=1, le=1024, description="Conversations in flight.")
    endpoint: EvalEndpoint = Field(
        default_factory=EvalEndpoint,
        description="Where openai: models are served and how every model under test is sampled.",
    )
    llm: LLMExecution = Field(default_factory=LLMExecution, description="How LLM requests are made.")

    @model_validator(mode="after")
    def _mix_draws_world_tasks(self) -> EvalSettings:
        if self.from_run is not None and self.mix != BehaviourMix.none():
            raise ValueError(
                "--mix draws offline-world tasks; the tasks of --from-run keep the behaviours they "
                "were made with"
            )
        return self


class EvalConfig(EvalSettings):
    """One evaluation: a model under test with the shared settings; stored in `runs.config`."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["eval"] = Field(default="eval", description="The kind of run these settings make.")
    model: str = Field(description="Model under test: hf:PATH, smollm2, openai:MODEL or offline.")
    label: str = Field(description="Name of the model in tables and charts.")

    @property
    def assistant(self) -> RoleModel:
        """The model under test as the Assistant role: its endpoint and call format."""
        return RoleModel(model=self.model, format=self.call_format).over(self.endpoint)

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
            roles=Roles(assistant=self.assistant),
            max_format_retries=self.format_retries,
            mix=self.mix,
            llm=self.llm,
        )


class ForkChange(BaseModel):
    """The one setting a fork changes; None keeps the parent run's."""

    model_config = ConfigDict(extra="forbid")

    assistant_model: str | None = Field(default=None, description="Fork: the assistant's model.")
    user_model: str | None = Field(default=None, description="Fork: the user's model.")
    tool_model: str | None = Field(default=None, description="Fork: the tool simulator's model.")
    policy: Policy | None = Field(
        default=None, description="Fork: offline assistant policy, plan or sequential."
    )
    parallel: bool | None = Field(default=None, description="Fork: allow parallel calls or not.")
    # Where the changed model is served: they qualify a model change, they are no setting of their own.
    base_url: str | None = Field(
        default=None, description="Fork: OpenAI-compatible endpoint of the changed model."
    )
    api_key_env: str | None = Field(
        default=None, description="Fork: environment variable with that endpoint's API key."
    )
    call_format: CallFormat | None = Field(
        default=None, description="Fork: the changed assistant's calls, button or native."
    )

    def given(self) -> dict[str, Any]:
        """The settings actually changed (endpoint options included)."""
        return self.model_dump(exclude_none=True)

    def settings(self) -> dict[str, Any]:
        """The changed settings proper: models, policy, parallel (a fork changes exactly one)."""
        return self.model_dump(exclude_none=True, exclude={"base_url", "api_key_env", "call_format"})

    def endpoint(self) -> dict[str, Any]:
        """Endpoint options of the changed model, as RoleModel fields."""
        fields = {"base_url": self.base_url, "api_key_env": self.api_key_env, "format": self.call_format}
        return {k: v for k, v in fields.items() if v is not None}

    def apply(self, config: GenerateConfig) -> GenerateConfig:
        """The parent's settings with this change; a changed model keeps the role's other settings
        unless endpoint options are given with it."""
        roles = dict(config.roles)
        for role in ("assistant", "user", "tool"):
            model = getattr(self, f"{role}_model")
            if model is not None:
                roles[role] = RoleModel.model_validate(
                    {**config.role(role).model_dump(), "model": model, **self.endpoint()}
                )
        update: dict[str, Any] = {"roles": roles}
        if self.policy is not None:
            update["policy"] = self.policy
        if self.parallel is not None:
            update["parallel"] = self.parallel
        return GenerateConfig.model_validate({**config.model_dump(), **update})


class ForkConfig(BaseModel):
    """A fork: the conversation it re-simulates, from which turn, the change, and the settings it ran with
    (so a fork of a fork starts from those)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["fork"] = Field(default="fork", description="The kind of run these settings make.")
    parent_conversation: int = Field(description="The conversation forked.")
    fork_turn: int = Field(ge=1, description="Turns before this index are the parent's.")
    change: ForkChange = Field(description="The one setting changed.")
    generate: GenerateConfig = Field(description="The full settings the fork was simulated with.")
    # An evaluation's episodes run without the sub-task hints and stop on idle turns; a fork of one (or
    # of a fork of one) runs the same way, so these travel down every fork of the chain.
    hints: bool = Field(default=True, description="The assistant saw the hidden sub-task hints.")
    max_idle: int | None = Field(
        default=None,
        ge=1,
        description="Idle assistant turns in a row that ended an episode (none: no limit).",
    )

    @field_serializer("change")
    def _only_what_changed(self, change: ForkChange) -> dict[str, Any]:
        return change.given()  # a reader of the row sees the one setting, not eight nulls

    def generation(self) -> GenerateConfig:
        return self.generate


RunConfig = Annotated[GenerateConfig | EvalConfig | ForkConfig, Field(discriminator="kind")]
_RUN_CONFIG: TypeAdapter[GenerateConfig | EvalConfig | ForkConfig] = TypeAdapter(RunConfig)


def read_run_config(stored: dict[str, Any]) -> GenerateConfig | EvalConfig | ForkConfig:
    """A stored `runs.config`, read back by the class that wrote it (its `kind` says which)."""
    return _RUN_CONFIG.validate_python(stored)
