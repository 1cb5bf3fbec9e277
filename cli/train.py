"""`button train` (fine-tune a base model on an export, recorded in the database) and `button chat`
(ask a saved model one question, with the tools of an exported conversation)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.app import app, cli_errors, console, err_console, fail, open_store
from datamodel.run_config import DEFAULT_DB_URL

__all__ = ["chat", "train"]


def _record_start(
    db: str, config: Any, data_sha256: str, manifest: dict[str, Any] | None
) -> tuple[Any, int | None]:
    """Record the run from the main process only: `accelerate launch` starts one process per device."""
    from db.store import create_training_run

    if int(os.environ.get("RANK", "0")) != 0:
        return None, None

    sessions = open_store(db)
    with sessions.begin() as session:
        run_id = create_training_run(
            session,
            base_model=str(config.base_model),
            data_file=str(config.data),
            data_sha256=data_sha256,
            data_manifest=manifest,
            config=config.stored(),
            output_dir=str(config.out),
        )
    return sessions, run_id


def _record_end(sessions: Any, run_id: int | None, status: str, result: Any = None, data: Any = None) -> None:
    from db.store import finish_training_run

    if run_id is None:
        return
    figures: dict[str, Any] = {}
    if data is not None:
        figures = {
            "n_examples": len(data.examples),
            "n_dropped": data.n_dropped,
            "n_truncated": data.n_truncated,
        }
    if result is not None:
        figures |= {"final_loss": result.final_loss, "loss_history": result.loss_history}
    with sessions.begin() as session:
        finish_training_run(session, run_id, status=status, **figures)


def _prepare(config: Any) -> Any:
    from training.data import DataError
    from training.masks import MaskError
    from training.models import ModelPathError
    from training.train import prepare

    try:
        return prepare(config)
    except (DataError, MaskError, ModelPathError) as exc:
        raise fail(str(exc)) from None


def _summary(result: Any, run_id: int | None) -> None:
    console.print(
        f"training run {run_id}: {result.n_examples} example(s), {result.steps} step(s), "
        f"final loss {result.final_loss if result.final_loss is None else round(result.final_loss, 4)}, "
        f"{result.tokens_per_second:.0f} tokens/s → model in {result.output_dir}, loss curve {result.plot}"
    )


@app.command()
@cli_errors
def train(
    data: Annotated[Path, typer.Option(help="Exported JSON Lines (button or trl format).")],
    out: Annotated[Path, typer.Option(help="Folder for the fine-tuned model and its loss curve.")],
    base_model: Annotated[Path, typer.Option(help="Checkpoint dir or .gguf (default: SmolLM2-135M).")] = Path(
        ".models/smollm2"
    ),
    eval_data: Annotated[Path | None, typer.Option(help="Validation file, same format.")] = None,
    epochs: Annotated[float, typer.Option(help="Passes over the data (paper: 5 for 7-8B models).")] = 1.0,
    lr: Annotated[float, typer.Option(help="Peak learning rate, cosine decay (paper: 2e-5).")] = 2e-5,
    batch_size: Annotated[int, typer.Option(help="Effective batch size (paper: 64).")] = 64,
    micro_batch: Annotated[int, typer.Option(help="Sequences per device per forward pass.")] = 1,
    max_length: Annotated[int, typer.Option(help="Longest sequence; longer ones are cut at a turn.")] = 2048,
    max_steps: Annotated[int, typer.Option(help="Stop after this many optimizer steps (-1: epochs).")] = -1,
    lora: Annotated[bool, typer.Option(help="Train LoRA adapters (merged into the saved model).")] = False,
    lora_r: Annotated[int, typer.Option(help="LoRA rank.")] = 8,
    lora_alpha: Annotated[int, typer.Option(help="LoRA alpha.")] = 16,
    seed: Annotated[int, typer.Option(help="Seed of initialisation and shuffling.")] = 42,
    db: Annotated[str, typer.Option(help="Database URL where the run is recorded.")] = DEFAULT_DB_URL,
) -> None:
    """Fine-tune with TRL's SFTTrainer, loss on assistant turns only; save the model and its loss curve."""
    settings = {k: v for k, v in locals().items() if k != "db"}  # first: before any local import
    from training.config import TrainConfig
    from training.data import file_sha256, read_manifest
    from training.train import train as run_training

    config = TrainConfig(**settings)
    prepared = _prepare(config)
    data_report = prepared[2]
    if data_report.n_truncated or data_report.n_dropped:
        err_console.print(
            f"[yellow]warning:[/yellow] {data_report.n_truncated} conversation(s) cut at the last whole "
            f"assistant turn within --max-length {max_length}; {data_report.n_dropped} dropped "
            "(no whole turn fits)"
        )
    sessions, run_id = _record_start(db, config, file_sha256(data), read_manifest(data))
    try:
        result = run_training(config, prepared)
    except BaseException:
        _record_end(sessions, run_id, "failed", data=data_report)
        raise
    _record_end(sessions, run_id, "finished", result, data_report)
    _summary(result, run_id)


@app.command()
@cli_errors
def chat(
    question: Annotated[str, typer.Argument(help="The user's message.")],
    model: Annotated[Path, typer.Option(help="A saved model folder (from `button train`).")],
    data: Annotated[
        Path | None, typer.Option(help="Export whose first record's system prompt (tools) to use.")
    ] = None,
    max_new_tokens: Annotated[int, typer.Option(help="Most tokens in the reply.")] = 200,
) -> None:
    """Ask a saved model one question (greedy), optionally with the tools of an exported conversation."""
    from training.data import DataError, read_records
    from training.models import ModelPathError, generate_reply

    messages: list[dict[str, Any]] = []
    try:
        if data is not None:
            first = next(read_records(data), None)
            if first is None:
                raise fail(f"{data} has no records to take a system prompt from")
            messages += [m for m in first[0][:1] if m.get("role") == "system"]
        messages.append({"role": "user", "content": question})
        console.print(generate_reply(model, messages, max_new_tokens), markup=False, highlight=False)
    except (DataError, ModelPathError) as exc:
        raise fail(str(exc)) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise fail(f"cannot load model {model}: {exc}") from None
