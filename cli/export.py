"""`button export`: stored conversations to training files, with a manifest beside each."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from cli.app import app, cli_errors, console, fail, open_store
from datamodel.run_config import DEFAULT_DB_URL
from datamodel.tasks import Strategy
from training.export import ExportError, ExportResult, export_dataset
from training.export_config import ExportConfig
from training.formats import FORMATS

__all__ = ["export"]

_FORMATS_HELP = "; ".join(f"{f.name}: {f.summary}" for f in FORMATS.values())
_STRATEGIES = ", ".join(s.value for s in Strategy)


def _report(result: ExportResult, fmt: str) -> None:
    for split, path in result.files.items():
        count = result.stats.split_count(split) if split else result.count
        console.print(
            f"wrote {count} conversation(s) in {fmt} format to {path} (+ .manifest.json)", soft_wrap=True
        )
    if result.hub_dir is not None:
        console.print(f"saved the Hugging Face dataset (with README.md) to {result.hub_dir}", soft_wrap=True)


@app.command()
@cli_errors
def export(
    out: Annotated[Path, typer.Option(help="Output file (JSON Lines); a manifest is written beside it.")],
    fmt: Annotated[str, typer.Option("--format", help=f"Export format. {_FORMATS_HELP}.")] = "button",
    db: Annotated[str, typer.Option(help="Database URL.")] = DEFAULT_DB_URL,
    run: Annotated[int | None, typer.Option(help="Only this run (default: every run).")] = None,
    include_rejected: Annotated[
        bool, typer.Option("--all", help="Export rejected conversations too.")
    ] = False,
    strategy: Annotated[
        str | None, typer.Option(help=f"Only tasks composed this way: {_STRATEGIES}.")
    ] = None,
    n_subtasks: Annotated[int | None, typer.Option(help="Only tasks with this many sub-tasks.")] = None,
    depth: Annotated[
        int | None,
        typer.Option(help="Only tasks whose longest chain of dependent sub-tasks has this many steps."),
    ] = None,
    model: Annotated[str | None, typer.Option(help="Only conversations with this assistant model.")] = None,
    val_fraction: Annotated[
        float,
        typer.Option(
            help="Share of tasks held out for validation (0: one file). Writes <stem>.train.jsonl and "
            "<stem>.validation.jsonl; a task's split follows a hash of its instruction."
        ),
    ] = 0.0,
    split_seed: Annotated[int, typer.Option(help="Seed of the train/validation assignment.")] = 0,
    to_hub_dir: Annotated[
        Path | None,
        typer.Option(help="Also save a Hugging Face DatasetDict (save_to_disk) with a dataset card here."),
    ] = None,
) -> None:
    """Export conversations (accepted only, by default) without the hidden sub-task hints."""
    config = ExportConfig.model_validate(
        {
            "format": fmt,
            "out": out,
            "run": run,
            "include_rejected": include_rejected,
            "strategy": strategy,
            "n_subtasks": n_subtasks,
            "depth": depth,
            "model": model,
            "val_fraction": val_fraction,
            "split_seed": split_seed,
            "to_hub_dir": to_hub_dir,
        }
    )
    sessions = open_store(db)
    progress = Progress(
        SpinnerColumn(), TextColumn("exporting"), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )
    with progress:
        handle = progress.add_task("export", total=None)
        try:
            result = export_dataset(
                sessions, config, on_record=lambda n: progress.update(handle, completed=n)
            )
        except ExportError as exc:
            raise fail(str(exc)) from None
    _report(result, config.format)
