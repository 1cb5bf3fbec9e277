"""Settings of `button train`: TRL's own `SFTConfig`, extended with what this project adds (the data,
the base model, the effective batch, LoRA), with the BUTTON paper's recipe as defaults (lr 2e-5, cosine
decay, batch 64). `button train` derives its flags and its `--config` YAML from it with TRL's
`TrlParser`, so every setting is declared once, here or in TRL.

The effective batch is per-device micro-batch × gradient accumulation × devices, so the same
`--batch-size 64` means the same optimisation on one CPU or eight GPUs under `accelerate launch`:
gradient accumulation is derived from it.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, NoReturn, cast

import yaml
from transformers.trainer_utils import SaveStrategy, SchedulerType
from trl import SFTConfig, TrlParser

from db import DEFAULT_DB_URL
from roles.local_models import DEFAULT_BASE_MODEL

__all__ = ["TrainConfig", "parse_train_args", "world_size"]


def world_size() -> int:
    """Processes training together (set by `accelerate launch` / torchrun; 1 otherwise)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


@dataclass
class TrainConfig(SFTConfig):
    """SFTConfig with this project's data handling and the BUTTON recipe as defaults.

    The dataset arrives tokenized with its own labels (assistant-only masks computed in training/masks.py),
    so TRL's preparation is skipped; sequences are already cut to max_length; nothing is reported to
    outside services. Precision and activation checkpointing follow the hardware unless set.
    """

    data: str | None = field(
        default=None, metadata={"help": "Exported JSON Lines file (button or trl format).", "required": True}
    )
    eval_data: str | None = field(default=None, metadata={"help": "Optional validation file, same format."})
    base_model: str = field(
        default=str(DEFAULT_BASE_MODEL), metadata={"help": "Checkpoint dir, .gguf file, or dir with one."}
    )
    batch_size: int = field(
        default=64,
        metadata={
            "help": "Effective batch (paper: 64) = micro-batch × accumulation × devices; sets accumulation."
        },
    )
    lora: bool = field(default=False, metadata={"help": "Train LoRA adapters (merged into the saved model)."})
    lora_r: int = field(default=8, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=16, metadata={"help": "LoRA scaling numerator."})
    # TRL's settings whose defaults the recipe changes, with the short flags `button train` always had.
    output_dir: str | None = field(
        default=None,
        metadata={
            "help": "Folder for the fine-tuned model, its tokenizer and the loss plot.",
            "aliases": ["--out"],
            "required": True,
        },
    )
    learning_rate: float = field(
        default=2e-5,
        metadata={"help": "Peak learning rate (paper: 2e-5), cosine decay.", "aliases": ["--lr"]},
    )
    num_train_epochs: float = field(
        default=1.0,
        metadata={"help": "Passes over the data (paper: 5 for 7-8B models).", "aliases": ["--epochs"]},
    )
    per_device_train_batch_size: int = field(
        default=1, metadata={"help": "Sequences per device per forward pass.", "aliases": ["--micro-batch"]}
    )
    max_length: int | None = field(
        default=2048, metadata={"help": "Longest sequence in tokens; longer conversations are cut at a turn."}
    )
    lr_scheduler_type: SchedulerType | str = "cosine"
    logging_steps: float = 1
    report_to: None | str | list[str] = "none"
    save_strategy: SaveStrategy | str = "no"
    gradient_checkpointing: bool = False  # deprecated alias of activation_checkpointing (transformers 5)
    activation_checkpointing: bool | None = None
    dataset_kwargs: dict[str, Any] | str | None = field(
        default_factory=lambda: {"skip_prepare_dataset": True}
    )

    def __post_init__(self) -> None:
        self._check_ranges()
        self.gradient_accumulation_steps = max(
            1, math.ceil(self.batch_size / (self.per_device_train_batch_size * world_size()))
        )
        self.per_device_eval_batch_size = self.per_device_train_batch_size
        self.include_num_input_tokens_seen = "non_padding"  # tokens/s in the summary
        if self.data_seed is None:
            self.data_seed = self.seed
        if self.eval_data and self.eval_strategy == "no":
            self.eval_strategy = "epoch"
        self._follow_hardware()
        super().__post_init__()

    def _check_ranges(self) -> None:
        """The bounds TRL leaves unchecked, as one line naming the flag (ValueError)."""
        bounds = {
            "num_train_epochs": ("--epochs", 0.0, False),
            "learning_rate": ("--lr", 0.0, False),
            "batch_size": ("--batch-size", 1, True),
            "per_device_train_batch_size": ("--micro-batch", 1, True),
            "max_length": ("--max-length", 16, True),
            "lora_r": ("--lora-r", 1, True),
            "lora_alpha": ("--lora-alpha", 1, True),
        }
        for name, (flag, low, inclusive) in bounds.items():
            value = getattr(self, name)
            if value is not None and (value < low if inclusive else value <= low):
                relation = "at least" if inclusive else "above"
                raise ValueError(f"invalid {flag}: must be {relation} {low} (got {value})")

    def _follow_hardware(self) -> None:
        """bf16 on GPUs that have it, fp16 on older ones, fp32 on CPU (faster there than emulated bf16);
        activation checkpointing on GPUs only."""
        import torch

        gpu = torch.cuda.is_available()
        if self.bf16 is None and not self.fp16:
            self.bf16 = gpu and torch.cuda.is_bf16_supported()
            self.fp16 = gpu and not self.bf16
        if self.activation_checkpointing is None:
            self.activation_checkpointing = gpu
        self.gradient_checkpointing = bool(self.activation_checkpointing)

    def stored(self) -> dict[str, Any]:
        """What this run used that differs from TrainConfig's declared defaults, as JSON values (secrets
        such as `hub_token` left out): `TrainConfig(**stored)` rebuilds it."""
        stored = {}
        for f in dataclasses.fields(TrainConfig):
            if not f.init or f.name.endswith("_token"):
                continue
            value = _json_value(getattr(self, f.name))
            if value != _json_value(_default(f)):
                stored[f.name] = value
        return stored


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _json_value(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _json_value(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return value


class _Parser(TrlParser):  # type: ignore[misc]
    """TrlParser that raises its errors (the CLI prints them as one line) instead of printing the whole
    usage, which for SFTConfig is some 200 lines, and exiting."""

    def error(self, message: str) -> NoReturn:
        raise ValueError(message)


def parse_train_args(args: list[str]) -> tuple[TrainConfig, str]:
    """`button train`'s flags and `--config` YAML over TrainConfig's defaults, and the `--db` URL.

    Unknown flags and unknown keys of the YAML file are errors that name them (ValueError or argparse's
    ArgumentError); `--help` prints every setting and exits."""
    parser = _Parser([cast(Any, TrainConfig)], prog="button train", exit_on_error=False)  # a dataclass type
    parser.add_argument("--db", default=DEFAULT_DB_URL, help="Database URL where the run is recorded.")
    _check_config_keys(args)
    try:
        config, invocation = parser.parse_args_and_config(args)
    except ValueError as exc:  # reworded: TRL's own line speaks of its dataclasses
        if str(exc).startswith("Some specified arguments are not used"):
            unused = str(exc).split(": ", 1)[1]
            raise ValueError(f"unknown option(s) {unused} (`button train --help` lists them)") from None
        raise
    return config, str(invocation.db)


def _check_config_keys(args: list[str]) -> None:
    """A `--config` YAML key that is no setting is an error naming it (TrlParser's own message names the
    flags it would have made of it)."""
    if "--config" not in args or args.index("--config") + 1 >= len(args):
        return
    path = Path(args[args.index("--config") + 1])
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read --config {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"--config {path} must be a mapping of settings")
    known = {f.name for f in dataclasses.fields(TrainConfig)} | {"db", "env"}  # env: TRL sets those variables
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(
            f"--config {path}: unknown key(s) {', '.join(unknown)} (`button train --help` lists them)"
        )
