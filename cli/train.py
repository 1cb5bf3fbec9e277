"""`button train` (fine-tune a base model on an export, recorded in the database) and `button chat`
(ask a saved model one question, with the tools of an exported conversation)."""

from __future__ import annotations

import json
import os
from argparse import ArgumentError
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.app import PASS_THROUGH, app, cli_errors, console, err_console, fail, open_store

__all__ = ["chat", "train"]


def _summary(result: Any, run_id: int | None) -> None:
    loss = result.final_loss if result.final_loss is None else round(result.final_loss, 4)
    console.print(
        f"training run {run_id}: {result.n_examples} example(s), {result.steps} step(s), final loss {loss}, "
        f"{result.tokens_per_second:.0f} tokens/s → model in {result.output_dir}, "
        + (f"loss curve {result.plot}" if result.plot else "no loss curve (matplotlib is not installed)")
    )


@app.command(context_settings=PASS_THROUGH, add_help_option=False)
@cli_errors
def train(ctx: typer.Context) -> None:
    """Fine-tune with TRL's SFTTrainer, loss on assistant turns only; save the model and its loss curve.
    Every TRL SFTConfig setting is a flag (`button train --help`); `--config FILE` reads them from YAML."""
    from training.config import parse_train_args
    from training.service import prepare_training, train_recorded

    try:
        config, db = parse_train_args(ctx.args)
        prepared = prepare_training(config)
    except (ValueError, ArgumentError) as exc:  # bad data or model (TrainingError), flag or YAML key
        raise fail(str(exc)) from None
    data = prepared.train_data
    if data.n_truncated or data.n_dropped:
        err_console.print(
            f"[yellow]warning:[/yellow] {data.n_truncated} conversation(s) cut at the last whole "
            f"assistant turn within --max-length {config.max_length}; {data.n_dropped} dropped "
            "(no whole turn fits)"
        )
    main_process = int(os.environ.get("RANK", "0")) == 0  # `accelerate launch` starts one per device
    run_id, result = train_recorded(open_store(db) if main_process else None, config, prepared)
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
    from roles.local_models import ModelPathError, generate_reply
    from training.data import DataError, read_records

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
