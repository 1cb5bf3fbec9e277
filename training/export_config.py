"""The settings of one `button export`, validated: which conversations, which format, which files.

The CLI is a thin layer over this class; the manifest written beside every file records the same
filters, so anyone reading a training file can tell which conversations went into it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from datamodel.tasks import Strategy
from training.formats import FORMATS

__all__ = ["ExportConfig"]


class ExportConfig(BaseModel):
    """What to export and where. Field names are the CLI's option names, so errors name the right flag."""

    model_config = ConfigDict(frozen=True)

    format: str = Field(
        default="button",
        description="Export format: button (BUTTONInstruct tags), openai, trl, sharegpt or hermes.",
    )
    out: Path = Field(description="Output file (JSON Lines); split files are named after its stem.")
    run: int | None = Field(default=None, description="Only this run's conversations; None for every run.")
    include_rejected: bool = Field(default=False, description="Export rejected conversations too.")
    strategy: Strategy | None = Field(default=None, description="Only tasks composed with this strategy.")
    n_subtasks: int | None = Field(default=None, ge=1, description="Only tasks with this many sub-tasks.")
    depth: int | None = Field(
        default=None, ge=1, description="Only tasks whose longest chain of dependent sub-tasks is this long."
    )
    model: str | None = Field(default=None, description="Only conversations with this assistant model.")
    val_fraction: float = Field(
        default=0.0,
        ge=0.0,
        lt=1.0,
        description="Share of tasks held out for validation (0: one file); writes <stem>.train.jsonl and "
        "<stem>.validation.jsonl, a task's split following a hash of its instruction.",
    )
    split_seed: int = Field(default=0, description="Seed of the task-level train/validation assignment.")
    forks: bool = Field(
        default=True,
        description="Export forks (conversations re-simulated from another's turn K, `button replay "
        "--fork-at`); --no-forks leaves them out.",
    )
    duplicates: bool = Field(
        default=False,
        description="Keep a conversation whose exported record repeats an earlier one word for word "
        "(by default it is written once, and the count of skipped ones is printed).",
    )
    to_hub_dir: Path | None = Field(
        default=None, description="Also write a Hugging Face DatasetDict (save_to_disk) with a dataset card."
    )

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in FORMATS:
            raise ValueError(f"unknown export format; choose one of: {', '.join(FORMATS)}")
        return value

    @property
    def status(self) -> str | None:
        """The verdict to select: accepted only, unless rejected ones are asked for too."""
        return None if self.include_rejected else "accepted"

    def store_filters(self) -> dict[str, Any]:
        """Keyword filters of `store.iter_conversations`."""
        return {
            "run_id": self.run,
            "status": self.status,
            "strategy": self.strategy.value if self.strategy is not None else None,
            "n_subtasks": self.n_subtasks,
            "depth": self.depth,
            "assistant_model": self.model,
            "exclude_kinds": ("eval",) if self.forks else ("eval", "fork"),
        }

    def manifest_filters(self) -> dict[str, Any]:
        """The filters as the manifest records them (None: not filtered on)."""
        filters = self.store_filters()
        return {
            "run": filters["run_id"],
            "status": filters["status"],
            "strategy": filters["strategy"],
            "n_subtasks": filters["n_subtasks"],
            "depth": filters["depth"],
            "assistant_model": filters["assistant_model"],
            "forks": self.forks,
            "duplicates": self.duplicates,
        }
