"""The settings of the commands that run something: a config class (datamodel/run_config.py) plus where
to store, what to resume and which file to read. cli/settings.py derives their flags; the command
modules import this one when they run, so `button --help` starts without pydantic's models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import CliPositionalArg, CliSuppress

from cli.settings import load_config_file, parse_command
from datamodel.models import parse_model
from datamodel.run_config import EvalConfig, EvalSettings, ForkChange, GenerateConfig
from db import DEFAULT_DB_URL
from training.export_config import ExportConfig

__all__ = [
    "ExportCommand",
    "EVAL_SHORTCUTS",
    "SHORTCUTS",
    "EvalCommand",
    "GenerateCommand",
    "ReplayCommand",
    "read_generate",
]

MODEL_HELP = "Model under test: hf:PATH (e.g. a `button train` folder), smollm2, openai:MODEL, offline."

# Short flags for the settings people set most; the long nested ones (`--roles.assistant.model`) work too.
SHORTCUTS: dict[str, str | list[str]] = {
    **{f"roles.{role}.model": f"{role}-model" for role in ("user", "assistant", "tool", "composer", "judge")},
    "roles.assistant.format": "call-format",
    **{
        f"endpoint.{name}": name
        for name in ("base-url", "api-key-env", "temperature", "max-tokens", "timeout")
    },
    **{f"llm.{name}": name for name in ("max-retries", "cache", "cache-dir", "budget-tokens", "budget-usd")},
    **{f"llm.{name}": name for name in ("price-in", "price-out")},
    **{f"bottom-up.{name}": name for name in ("seeds", "n-expansions", "dedup-threshold")},
}


class GenerateCommand(GenerateConfig):
    """Generate compositional tasks, simulate a conversation for each, verify and store everything."""

    kind: CliSuppress[Literal["generate"]] = "generate"
    db: str = Field(default=DEFAULT_DB_URL, description="Database URL (SQLite or postgresql+psycopg).")
    resume: int | None = Field(
        default=None, description="Finish an interrupted run, with its stored settings."
    )
    config: Path | None = Field(
        default=None, description="YAML file with any of these settings (docs/cli.md)."
    )
    repeat: bool = Field(
        default=False,
        description="Store the tasks of a run with the same settings again (to sample LLM roles anew); "
        "without it such a run is refused.",
    )
    distributed: bool = Field(
        default=False,
        description="Spread the episodes over `button worker`s on any machine (PostgreSQL --db only).",
    )
    work: bool = Field(
        default=True, description="With --distributed: work on the run here too (--no-work: only watch)."
    )

    def run_config(self) -> GenerateConfig:
        return GenerateConfig.model_validate(
            self.model_dump(exclude={"db", "resume", "config", "repeat", "distributed", "work"})
        )


def read_generate(args: list[str]) -> GenerateCommand:
    """`button generate`'s settings: defaults, then the `--config` file, then the flags given."""
    command = parse_command(GenerateCommand, args, prog="button generate", shortcuts=SHORTCUTS)
    if command.config is None:
        return command
    from_file = load_config_file(command.config, GenerateConfig)
    return parse_command(
        GenerateCommand, args, prog="button generate", shortcuts=SHORTCUTS, file_settings=from_file
    )


EVAL_SHORTCUTS: dict[str, str | list[str]] = {
    **{
        f"endpoint.{name}": name
        for name in ("base-url", "api-key-env", "max-tokens", "temperature", "timeout")
    },
    **{f"llm.{name}": name for name in ("cache", "cache-dir", "max-retries")},
    "json-report": "json",
}


class EvalCommand(EvalSettings):
    """Evaluate models as the Assistant over held-out tasks (no sub-task hints); store and show metrics."""

    model: list[str] = Field(default_factory=list, description=MODEL_HELP + " Repeat to compare.")
    label: list[str] = Field(default_factory=list, description="Name per --model, in order.")
    compare: list[int] = Field(default_factory=list, description="Stored eval run to add to the table.")
    resume: int | None = Field(default=None, description="Finish an interrupted eval run.")
    distributed: bool = Field(
        default=False,
        description="Spread the episodes over `button worker`s on any machine (PostgreSQL --db only).",
    )
    work: bool = Field(
        default=True, description="With --distributed: work on the runs here too (--no-work: only watch)."
    )
    json_report: Path | None = Field(default=None, description="Write the JSON report here.")
    plot: Path | None = Field(default=None, description="Write the PNG bar chart here.")
    db: str = Field(default=DEFAULT_DB_URL, description="Database URL (SQLite or postgresql+psycopg).")

    @field_validator("label")
    @classmethod
    def _one_label_per_model(cls, labels: list[str], info: ValidationInfo) -> list[str]:
        models = info.data.get("model", [])
        if len(labels) > len(models):
            raise ValueError(
                f"{len(labels)} labels for {len(models)} models; give at most one label per --model"
            )
        return labels

    def configs(self) -> list[EvalConfig]:
        """One evaluation per --model, with its label (the model's name when not given)."""
        shared = self.model_dump(include=set(EvalSettings.model_fields))
        labels = self.label + [default_label(name) for name in self.model[len(self.label) :]]
        return [
            EvalConfig(**shared, model=name, label=label)
            for name, label in zip(self.model, labels, strict=True)
        ]


def default_label(model: str) -> str:
    """A model's name in tables: a local model's folder name, otherwise the model as given."""
    spec = parse_model(model)
    return Path(spec.name).name or spec.name if spec.kind == "hf" else model


class ReplayCommand(ForkChange):
    """Replay one conversation interactively (keys in the footer), print it, or fork it from turn K."""

    conversation_id: CliPositionalArg[int] = Field(description="Conversation id (see `button logs`).")
    db: str = Field(default=DEFAULT_DB_URL, description="Database URL.")
    plain: bool = Field(
        default=False, description="Print the whole conversation; no TUI (also when not in a terminal)."
    )
    fork_at: int | None = Field(default=None, description="Re-simulate from turn K.")

    def change(self) -> ForkChange:
        return ForkChange.model_validate(self.model_dump(include=set(ForkChange.model_fields)))


class ExportCommand(ExportConfig):
    """Export conversations (accepted only, by default) without the hidden sub-task hints."""

    db: str = Field(default=DEFAULT_DB_URL, description="Database URL.")

    def export_config(self) -> ExportConfig:
        return ExportConfig.model_validate(self.model_dump(exclude={"db"}))
