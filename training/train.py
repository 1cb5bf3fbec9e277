"""One fine-tuning run: base model + exported conversations → a saved model, its loss curve and figures.

TRL's SFTTrainer does the optimisation; this module only assembles its inputs (a plain float model, the
tokenizer, a pre-tokenized dataset carrying assistant-only labels) and saves what comes out. It does not
touch the database: the CLI records the run around it, so a library caller can train without one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from roles.local_models import ModelPathError, load_model, load_tokenizer, resolve_base_model
from training.config import TrainConfig
from training.data import PreparedData, check_records, prepare_examples, to_dataset
from training.loss_plot import save_loss_plot

__all__ = ["LOSS_PLOT", "LossHistory", "TrainResult", "prepare", "train"]

LOSS_PLOT = "loss.png"


@dataclass
class TrainResult:
    """What a run produced: where the model is, what data it kept, its loss curve and its speed."""

    output_dir: Path
    checkpoint: Path
    n_examples: int
    n_dropped: int
    n_truncated: int
    n_tokens: int
    n_trained_tokens: int
    loss_history: list[dict[str, Any]] = field(default_factory=list)
    final_loss: float | None = None
    steps: int = 0
    train_seconds: float = 0.0
    tokens_seen: int = 0
    plot: Path | None = None

    @property
    def tokens_per_second(self) -> float:
        """Input tokens (padding excluded) processed per second of training."""
        return self.tokens_seen / self.train_seconds if self.train_seconds else 0.0


class LossHistory(TrainerCallback):  # type: ignore[misc]
    """Keeps every logged loss (train and eval) with its step, for the database and the plot."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **_: Any
    ) -> None:
        """Record the losses of one logging event."""
        kept = {k: float(v) for k, v in (logs or {}).items() if k in ("loss", "eval_loss", "learning_rate")}
        if "loss" in kept or "eval_loss" in kept:
            self.rows.append({"step": int(state.global_step), "epoch": float(state.epoch or 0), **kept})


def prepare(config: TrainConfig) -> tuple[Path, Any, PreparedData, PreparedData | None]:
    """Check the data files, resolve the base model and tokenize the data, before any training: every
    input error shows here, and a bad data file before the base model is converted or loaded."""
    if config.data is None:
        raise ModelPathError("no training data: give --data FILE")
    for data in (config.data, config.eval_data):
        if data is not None:
            check_records(Path(data))
    checkpoint = resolve_base_model(Path(config.base_model))
    tokenizer = load_tokenizer(checkpoint)
    if not tokenizer.chat_template:
        raise ModelPathError(f"base model {config.base_model} has no chat template to render conversations")
    max_length = config.max_length or 2048
    train_data = prepare_examples(Path(config.data), tokenizer, max_length)
    eval_data = prepare_examples(Path(config.eval_data), tokenizer, max_length) if config.eval_data else None
    return checkpoint, tokenizer, train_data, eval_data


def _peft_config(config: TrainConfig) -> Any:
    if not config.lora:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=0.05,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )


def _save(trainer: Any, tokenizer: Any, out: Path, lora: bool) -> None:
    """Save a model that loads on its own: LoRA adapters are merged into the base weights first."""
    if not trainer.is_world_process_zero():
        return
    if lora:
        trainer.model.merge_and_unload().save_pretrained(out)
    else:
        trainer.save_model(str(out))
    tokenizer.save_pretrained(out)


def train(
    config: TrainConfig,
    prepared: tuple[Path, Any, PreparedData, PreparedData | None] | None = None,
    callbacks: list[Any] | None = None,
) -> TrainResult:
    """Fine-tune and save; `prepared` (from `prepare`) avoids tokenizing twice when the caller already did."""
    from trl import SFTTrainer

    checkpoint, tokenizer, train_data, eval_data = prepared or prepare(config)
    history = LossHistory()
    trainer = SFTTrainer(
        model=load_model(checkpoint),
        args=config,
        train_dataset=to_dataset(train_data),
        eval_dataset=to_dataset(eval_data) if eval_data else None,
        processing_class=tokenizer,
        peft_config=_peft_config(config),
        callbacks=[history, *(callbacks or [])],
    )
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    out = Path(config.output_dir or ".")
    _save(trainer, tokenizer, out, config.lora)
    losses = [row["loss"] for row in history.rows if "loss" in row]
    return TrainResult(
        output_dir=out,
        checkpoint=checkpoint,
        n_examples=len(train_data.examples),
        n_dropped=train_data.n_dropped,
        n_truncated=train_data.n_truncated,
        n_tokens=train_data.n_tokens,
        n_trained_tokens=train_data.n_trained_tokens,
        loss_history=history.rows,
        final_loss=losses[-1] if losses else None,
        steps=int(trainer.state.global_step),
        train_seconds=seconds,
        tokens_seen=int(trainer.state.num_input_tokens_seen or 0),
        plot=save_loss_plot(history.rows, out / LOSS_PLOT) if trainer.is_world_process_zero() else None,
    )
