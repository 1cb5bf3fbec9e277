"""Which model plays each role, and how LLM requests are made: the typed settings behind `--config`.

A model is named by a URI-like string: `offline` (the scripted clients), `openai:MODEL` (any
OpenAI-compatible endpoint), `hf:PATH` (a local transformers model directory) or `smollm2` (the bundled
GGUF). Settings are split like the run config: `RoleModel` decides what a role produces and is stored
with the run (an API key is never a field: only the name of the environment variable that holds it);
`LLMExecution` only changes how fast and how expensively it goes (concurrency, retries, cache, budget).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "LLM_ROLES",
    "SMOLLM2_PATH",
    "CallFormat",
    "ClientSetupError",
    "Endpoint",
    "LLMExecution",
    "ModelSpec",
    "RoleModel",
    "Roles",
    "parse_model",
]

LLM_ROLES = ("user", "assistant", "tool", "composer", "judge")
# Where `make model` puts SmolLM2: the checkout's .models folder (the project is installed editable), so
# the default works from any working directory.
SMOLLM2_PATH = Path(__file__).resolve().parents[1] / ".models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
CallFormat = Literal["button", "native"]
_KINDS = ("offline", "openai", "hf")


class ClientSetupError(ValueError):
    """A role's model cannot be set up as configured; the message says what to change."""


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model name: its kind and the provider-side name (model id or path)."""

    kind: Literal["offline", "openai", "hf"]
    name: str

    @property
    def is_llm(self) -> bool:
        return self.kind != "offline"


def parse_model(uri: str) -> ModelSpec:
    """`offline`, `openai:MODEL`, `hf:PATH`, `smollm2` → ModelSpec; ValueError names what is allowed."""
    text = uri.strip()
    if text == "offline":
        return ModelSpec("offline", "offline")
    if text == "smollm2":
        return ModelSpec("hf", str(SMOLLM2_PATH))
    kind, sep, name = text.partition(":")
    if not sep or kind not in _KINDS[1:] or not name:
        raise ValueError(f"invalid model {uri!r}: use 'offline', 'openai:MODEL', 'hf:PATH' or 'smollm2'")
    return ModelSpec(kind, name)  # type: ignore[arg-type]


class Endpoint(BaseModel):
    """Where an LLM is served and how it is sampled. A run's `endpoint` section holds the defaults of every
    role played by an LLM; a role's own settings of the same names win (RoleModel extends this)."""

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1."
    )
    api_key_env: str = Field(
        default="OPENAI_API_KEY",
        description="Environment variable holding the API key (the key is never stored).",
    )
    temperature: float | None = Field(default=None, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int | None = Field(default=None, ge=1, description="Most tokens per reply.")
    seed: int | None = Field(default=None, description="Sampling seed sent with every request.")
    timeout: float = Field(
        default=300.0,
        gt=0,
        description="Seconds before one HTTP attempt times out (a slow local server needs minutes).",
    )


class RoleModel(Endpoint):
    """The model of one role, its endpoint and sampling settings; stored with the run (no secrets)."""

    model: str = Field(default="offline", description="offline, openai:MODEL, hf:PATH or smollm2.")
    format: CallFormat = Field(
        default="button", description="Assistant calls as BUTTON <call> text, or native tool calls."
    )

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        parse_model(value)
        return value

    @field_validator("format", mode="before")
    @classmethod
    def _format_alias(cls, value: Any) -> Any:
        return "button" if value == "button-tags" else value

    @property
    def spec(self) -> ModelSpec:
        return parse_model(self.model)

    def over(self, defaults: Endpoint) -> RoleModel:
        """These settings with every endpoint field this role did not set taken from `defaults`."""
        inherited = {
            name: getattr(defaults, name)
            for name in Endpoint.model_fields
            if name not in self.model_fields_set
        }
        return self.model_copy(update=inherited) if inherited else self


class Roles(BaseModel):
    """The model of each role; a role not configured is played offline by the scripted clients."""

    model_config = ConfigDict(extra="forbid")

    user: RoleModel = Field(default_factory=RoleModel, description="The simulated user.")
    assistant: RoleModel = Field(default_factory=RoleModel, description="The assistant under simulation.")
    tool: RoleModel = Field(default_factory=RoleModel, description="The tool simulator.")
    composer: RoleModel = Field(
        default_factory=RoleModel, description="Writes scenarios, tasks and functions (source llm)."
    )
    judge: RoleModel = Field(default_factory=RoleModel, description="Filters composed tasks (source llm).")

    def over(self, defaults: Endpoint) -> Roles:
        """Every role with the endpoint defaults it did not override."""
        return Roles(**{name: getattr(self, name).over(defaults) for name in LLM_ROLES})


class LLMExecution(BaseModel):
    """How LLM requests are made; none of it changes what a run produces, so a resume may change it."""

    model_config = ConfigDict(extra="forbid")

    max_retries: int = Field(default=4, ge=0, le=20, description="HTTP retries per request (SDK's own).")
    cache: bool = Field(default=True, description="Reuse stored replies to identical requests.")
    cache_dir: str = Field(default=".button-cache", description="Folder of the reply cache.")
    budget_tokens: int | None = Field(default=None, ge=1, description="Stop after this many tokens.")
    budget_usd: float | None = Field(default=None, gt=0, description="Stop after this many dollars.")
    price_in: float = Field(default=0.0, ge=0, description="USD per 1M prompt tokens.")
    price_out: float = Field(default=0.0, ge=0, description="USD per 1M completion tokens.")
