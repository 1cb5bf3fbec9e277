"""Settings of `button train`: what the user chose (TrainConfig, stored with the run) and the TRL config
built from it (ButtonSFTConfig, whose defaults are the BUTTON paper's: lr 2e-5, cosine, batch 64).

The effective batch is per-device micro-batch × gradient accumulation × devices, so the same
`--batch-size 64` means the same optimisation on one CPU or eight GPUs under `accelerate launch`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from trl import SFTConfig

from training.models import DEFAULT_BASE_MODEL

__all__ = ["ButtonSFTConfig", "TrainConfig", "sft_config", "world_size"]


class TrainConfig(BaseModel):
    """Everything that decides a fine-tuning run; stored as JSON in `training_runs.config`."""

    model_config = ConfigDict(frozen=True)

    data: Path = Field(description="Exported JSON Lines file (button or trl format).")
    eval_data: Path | None = Field(default=None, description="Optional validation file, same format.")
    base_model: Path = Field(
        default=DEFAULT_BASE_MODEL, description="Checkpoint dir, .gguf file, or dir with one."
    )
    out: Path = Field(description="Folder for the fine-tuned model, its tokenizer and the loss plot.")
    epochs: float = Field(default=1.0, gt=0, description="Passes over the data (the paper used 5 for 7-8B).")
    lr: float = Field(default=2e-5, gt=0, description="Peak learning rate (paper: 2e-5), cosine decay.")
    batch_size: int = Field(
        default=64, ge=1, description="Effective batch: micro-batch × accumulation × devices."
    )
    micro_batch: int = Field(default=1, ge=1, description="Sequences per device per forward pass.")
    max_length: int = Field(
        default=2048, ge=16, description="Longest sequence in tokens; longer ones are cut."
    )
    max_steps: int = Field(
        default=-1, description="Stop after this many optimizer steps (-1: run the epochs)."
    )
    lora: bool = Field(default=False, description="Train LoRA adapters (merged into the saved model).")
    lora_r: int = Field(default=8, ge=1, description="LoRA rank.")
    lora_alpha: int = Field(default=16, ge=1, description="LoRA scaling numerator.")
    seed: int = Field(default=42, description="Seed for initialisation, shuffling and dropout.")
    logging_steps: int = Field(default=1, ge=1, description="Record the loss every this many steps.")

    def stored(self) -> dict[str, Any]:
        """The config as plain JSON values, for the database."""
        return self.model_dump(mode="json")


@dataclass
class ButtonSFTConfig(SFTConfig):
    """SFTConfig with the BUTTON paper's recipe and this project's data handling as defaults.

    The dataset arrives tokenized with its own labels (assistant-only masks computed in training/masks.py),
    so TRL's preparation is skipped; sequences are already cut to max_length; nothing is reported to
    outside services.
    """

    learning_rate: float = 2e-5
    lr_scheduler_type: Any = "cosine"
    per_device_train_batch_size: int = 1
    gradient_accumulation_steps: int = 64
    num_train_epochs: float = 1.0
    warmup_steps: float = 0
    logging_steps: float = 1
    report_to: Any = "none"
    save_strategy: Any = "no"
    gradient_checkpointing: bool = False  # deprecated alias of the next one in transformers 5; TRL: True
    activation_checkpointing: bool | None = False
    packing: bool = False
    include_num_input_tokens_seen: Any = "non_padding"  # for tokens/s
    dataset_kwargs: dict[str, Any] | str | None = field(
        default_factory=lambda: {"skip_prepare_dataset": True}
    )


def world_size() -> int:
    """Processes training together (set by `accelerate launch` / torchrun; 1 otherwise)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def _precision() -> dict[str, Any]:
    """bf16 on GPUs that have it, fp16 on older ones, fp32 on CPU (faster than emulated bf16 there)."""
    import torch

    if torch.cuda.is_available():
        bf16 = torch.cuda.is_bf16_supported()
        return {"use_cpu": False, "bf16": bf16, "fp16": not bf16, "activation_checkpointing": True}
    return {"use_cpu": True, "bf16": False, "fp16": False, "activation_checkpointing": False}


def sft_config(config: TrainConfig, has_eval: bool) -> ButtonSFTConfig:
    """The TRL config for a run: accumulation chosen so micro × accumulation × devices ≥ batch size."""
    accumulation = max(1, math.ceil(config.batch_size / (config.micro_batch * world_size())))
    return ButtonSFTConfig(
        output_dir=str(config.out),
        learning_rate=config.lr,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.micro_batch,
        per_device_eval_batch_size=config.micro_batch,
        gradient_accumulation_steps=accumulation,
        max_length=config.max_length,
        seed=config.seed,
        data_seed=config.seed,
        logging_steps=config.logging_steps,
        eval_strategy="epoch" if has_eval else "no",
        **_precision(),
    )
